package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"ai-platform/internal/app/apptest"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

// leakScanner searches everything a test hands it for secrets: plain bytes,
// every Temporal payload's raw Data (which a JSON dump of a history event
// shows only base64-encoded), the whole store through its interface, and
// directories on disk.
type leakScanner struct {
	secrets  []string
	scanned  int
	redacted bool
	leaks    []string
}

func newLeakScanner(secrets ...string) *leakScanner { return &leakScanner{secrets: secrets} }

// scan looks for every secret in b, which came from where.
func (s *leakScanner) scan(where string, b []byte) {
	s.scanned += len(b)
	s.redacted = s.redacted || bytes.Contains(b, []byte("[redacted]"))
	for _, sec := range s.secrets {
		if i := bytes.Index(b, []byte(sec)); i >= 0 {
			around := b[max(0, i-100):min(len(b), i+len(sec)+40)]
			s.leaks = append(s.leaks, fmt.Sprintf("%s: secret %q... found in ...%s...", where, sec[:min(10, len(sec))],
				bytes.ReplaceAll(around, []byte(sec), []byte("<SECRET>"))))
		}
	}
}

// report fails t for every leak found.
func (s *leakScanner) report(t *testing.T) {
	t.Helper()
	for _, l := range s.leaks {
		t.Error(l)
	}
}

// scanHistory scans each event as JSON and the raw bytes of each of its
// payloads (data and metadata).
func (s *leakScanner) scanHistory(where string, events []*historypb.HistoryEvent) {
	for _, ev := range events {
		at := fmt.Sprintf("%s event %d (%s)", where, ev.GetEventId(), ev.GetEventType())
		raw, err := protojson.Marshal(ev)
		if err != nil {
			s.leaks = append(s.leaks, at+": cannot marshal: "+err.Error())
			continue
		}
		s.scan(at, raw)
		apptest.WalkPayloads(ev.ProtoReflect(), func(p *commonpb.Payload) {
			s.scan(at+" payload", p.GetData())
			for k, v := range p.GetMetadata() {
				s.scan(at+" payload metadata "+k, v)
			}
		})
	}
}

// history returns every event of the latest run of a workflow.
func history(t *testing.T, c client.Client, workflowID string) []*historypb.HistoryEvent {
	t.Helper()
	it := c.GetWorkflowHistory(t.Context(), workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var out []*historypb.HistoryEvent
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", workflowID, err)
		}
		out = append(out, ev)
	}
	return out
}

// scanStore reads every task through the Store interface: the row, events,
// artifacts, files with content, state and snapshot.
func (s *leakScanner) scanStore(t *testing.T, st store.Store) {
	t.Helper()
	ctx := t.Context()
	f := store.TaskFilter{Limit: 1000}
	tasks := 0
	for {
		page, err := st.ListTasks(ctx, f)
		if err != nil {
			t.Fatalf("listing tasks: %v", err)
		}
		for _, tk := range page.Items {
			tasks++
			s.scanTask(ctx, t, st, tk)
		}
		if page.Next == "" || len(page.Items) == 0 {
			break
		}
		f.Before = page.Next
	}
	if tasks == 0 {
		t.Fatal("the store scan found no task")
	}
}

func (s *leakScanner) scanTask(ctx context.Context, t *testing.T, st store.Store, tk store.Task) {
	t.Helper()
	where := "store task " + tk.ID
	row, _ := json.Marshal(tk)
	s.scan(where+" row", row)
	for _, typ := range []string{"events", "artifacts"} {
		o := store.ListOptions{Order: "asc", Limit: 1000}
		for {
			var items any
			var next string
			var n int
			var err error
			if typ == "events" {
				var p store.Page[store.Event]
				p, err = st.ListEvents(ctx, tk.ID, o)
				items, next, n = p.Items, p.Next, len(p.Items)
			} else {
				var p store.Page[store.Artifact]
				p, err = st.ListArtifacts(ctx, tk.ID, o)
				items, next, n = p.Items, p.Next, len(p.Items)
			}
			if err != nil {
				t.Fatalf("%s %s: %v", where, typ, err)
			}
			raw, _ := json.Marshal(items)
			s.scan(where+" "+typ, raw)
			if next == "" || n == 0 {
				break
			}
			o.After = next
		}
	}
	files, err := st.GetFiles(ctx, tk.ID)
	if err != nil {
		t.Fatalf("%s files: %v", where, err)
	}
	for _, f := range files {
		meta, _ := json.Marshal(f)
		s.scan(where+" file "+f.Path, append(meta, f.Content...))
	}
	if state, _, err := st.GetState(ctx, tk.ID); err == nil {
		s.scan(where+" state", state)
	} else if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("%s state: %v", where, err)
	}
	if snap, err := st.GetSnapshot(ctx, tk.ID); err == nil {
		s.scan(where+" snapshot", snap)
	} else if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("%s snapshot: %v", where, err)
	}
}

// scanDir scans every regular file under dir.
func (s *leakScanner) scanDir(dir string) {
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if b, err := os.ReadFile(path); err == nil {
				s.scan(path, b)
			}
		}
		return nil
	})
}

// TestLeakScannerFindsSecrets proves the scanner can fail: a secret inside a
// payload (where a JSON dump of the event shows only base64), deep in a
// failure's details or a memo map, in a stored file or an event is found,
// and a clean history and store are not flagged.
func TestLeakScannerFindsSecrets(t *testing.T) {
	const secret = "sk-test-SECRET-scanner-0123456789"
	jsonPayload := func(v any) *commonpb.Payload {
		data, _ := json.Marshal(v)
		return &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: data}
	}
	scheduled := func(v any) *historypb.HistoryEvent {
		return &historypb.HistoryEvent{EventId: 5, EventType: enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
			Attributes: &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{
				ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{
					ActivityId: "5", Input: &commonpb.Payloads{Payloads: []*commonpb.Payload{jsonPayload(v)}}}}}
	}
	leaky := scheduled(map[string]string{"description": "mentions " + secret})
	// The premise: the event as JSON shows the payload base64-encoded.
	if raw, _ := protojson.Marshal(leaky); bytes.Contains(raw, []byte(secret)) {
		t.Fatal("premise broken: the JSON dump shows the payload in plain text")
	}
	if raw, _ := json.Marshal(leaky); bytes.Contains(raw, []byte(secret)) {
		t.Fatal("premise broken: the JSON dump shows the payload in plain text")
	}
	failed := &historypb.HistoryEvent{EventId: 9, EventType: enums.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
		Attributes: &historypb.HistoryEvent_WorkflowExecutionFailedEventAttributes{
			WorkflowExecutionFailedEventAttributes: &historypb.WorkflowExecutionFailedEventAttributes{
				Failure: &failurepb.Failure{Message: "failed", FailureInfo: &failurepb.Failure_ApplicationFailureInfo{
					ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{Type: "x",
						Details: &commonpb.Payloads{Payloads: []*commonpb.Payload{jsonPayload([]string{"a", secret})}}}}}}}}
	started := &historypb.HistoryEvent{EventId: 1, EventType: enums.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{
			WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{
				Memo: &commonpb.Memo{Fields: map[string]*commonpb.Payload{"note": jsonPayload(secret)}}}}}
	for name, ev := range map[string]*historypb.HistoryEvent{"input": leaky, "failure details": failed, "memo": started} {
		s := newLeakScanner(secret)
		s.scanHistory("history", []*historypb.HistoryEvent{ev})
		if len(s.leaks) == 0 {
			t.Errorf("%s: the secret in a payload was not found", name)
		}
	}
	clean := newLeakScanner(secret)
	clean.scanHistory("history", []*historypb.HistoryEvent{scheduled(map[string]string{"description": "nothing here"})})
	if len(clean.leaks) != 0 || clean.scanned == 0 {
		t.Errorf("clean history: %d bytes scanned, leaks %v", clean.scanned, clean.leaks)
	}

	ctx := context.Background()
	st, err := store.NewMemory(nil)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := st.CreateTask(ctx, store.Task{ID: "00000000-0000-4000-8000-000000000001", Status: task.StatusQueued,
		Description: "clean", OwnerKeyHash: "owner", UserID: "u"})
	if err != nil {
		t.Fatal(err)
	}
	s := newLeakScanner(secret)
	s.scanStore(t, st)
	if len(s.leaks) != 0 {
		t.Fatalf("clean store flagged: %v", s.leaks)
	}
	if err := st.PutFiles(ctx, tk.ID, []store.File{{Path: "a.py", Content: []byte("KEY = '" + secret + "'\n")}}, nil,
		store.FileLimits{}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AppendEvent(ctx, store.Event{ID: "00000000-0000-4000-8000-0000000000e1", TaskID: tk.ID, Type: "note",
		Payload: json.RawMessage(`{"v":"` + secret + `"}`), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	s = newLeakScanner(secret)
	s.scanStore(t, st)
	if len(s.leaks) != 2 {
		t.Fatalf("want the secret found in the file and the event, got %v", s.leaks)
	}
}
