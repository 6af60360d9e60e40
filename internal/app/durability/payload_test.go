package durability_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"

	"ai-platform/internal/app/apptest"
	"ai-platform/internal/task"
)

// maxPayload is the largest payload a task's history may carry: ids, hashes
// and short summaries only (Temporal warns at 256 KB and fails at 2 MB).
const maxPayload = 8 << 10

// largestPayloads returns the largest payload per event type of a history.
func largestPayloads(events []*historypb.HistoryEvent) map[string]int {
	out := map[string]int{}
	for _, e := range events {
		typ := e.GetEventType().String()
		apptest.WalkPayloads(e.ProtoReflect(), func(p *commonpb.Payload) { out[typ] = max(out[typ], apptest.PayloadSize(p)) })
	}
	return out
}

// TestBigProjectKeepsPayloadsSmall generates a project of about 5 MB
// ([mock:big=5]): the task completes, and no workflow input, activity input
// or result, signal, marker or query payload of any of its runs carries file
// bodies.
func TestBigProjectKeepsPayloadsSmall(t *testing.T) {
	s := newStack(t, nil)
	id := s.create("A command line tool that counts words and lines in text files [mock:big=5]", "python_cli")
	done := s.api.WaitStatus(t, id, 4*time.Minute, "completed")
	o := collect(t, s.api.App.Store, id)
	var total int64
	files, err := s.api.App.Store.ListFiles(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		total += f.Size
	}
	if total < 5<<20 || done.FilesCount != len(files) {
		t.Fatalf("project of %d bytes in %d files (task says %d)", total, len(files), done.FilesCount)
	}
	checkExactlyOnce(t, o)

	wfID := task.WorkflowID(id)
	largest := map[string]int{}
	for _, run := range runs(t, s.api.Client, wfID) {
		for typ, n := range largestPayloads(history(t, s.api.Client, wfID, run)) {
			largest[typ] = max(largest[typ], n)
		}
	}
	v, err := s.api.Client.QueryWorkflow(ctxT(t), wfID, "", task.QueryState)
	if err != nil {
		t.Fatal(err)
	}
	var raw json.RawMessage
	if err := v.Get(&raw); err != nil {
		t.Fatal(err)
	}
	largest["query:state"] = len(raw)
	var report []string
	for typ, n := range largest {
		report = append(report, fmt.Sprintf("%s=%d", typ, n))
		if n > maxPayload {
			t.Errorf("%s carries a %d-byte payload (limit %d)", typ, n, maxPayload)
		}
	}
	sort.Strings(report)
	t.Logf("project %.1f MB in %d files; largest payload per event type (bytes): %v", float64(total)/(1<<20), len(files), report)
}
