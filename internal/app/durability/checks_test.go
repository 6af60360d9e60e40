package durability_test

import (
	"encoding/json"
	"testing"

	"ai-platform/internal/store"
)

// outcome is everything a task left in the store.
type outcome struct {
	Task      store.Task
	Events    []store.Event
	Artifacts []store.Artifact
	Files     map[string]string // path -> sha256
	Usage     store.Usage
	// interrupted counts command runs started by an attempt of the review's
	// checks that a kill cut short: the retry runs its commands again under
	// new run ids (its report lists only its own runs), so those stay on
	// record beside the retry's, uncharged.
	interrupted int
}

func collect(t *testing.T, st store.Store, id string) outcome {
	t.Helper()
	ctx := ctxT(t)
	var o outcome
	var err error
	if o.Task, err = st.GetTask(ctx, id); err != nil {
		t.Fatal(err)
	}
	for after := ""; ; {
		page, err := st.ListEvents(ctx, id, store.ListOptions{Limit: 500, Order: "asc", After: after})
		if err != nil {
			t.Fatal(err)
		}
		o.Events = append(o.Events, page.Items...)
		if after = page.Next; after == "" {
			break
		}
	}
	for after := ""; ; {
		page, err := st.ListArtifacts(ctx, id, store.ListOptions{Limit: 500, Order: "asc", After: after})
		if err != nil {
			t.Fatal(err)
		}
		o.Artifacts = append(o.Artifacts, page.Items...)
		if after = page.Next; after == "" {
			break
		}
	}
	files, err := st.ListFiles(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	o.Files = map[string]string{}
	for _, f := range files {
		if _, dup := o.Files[f.Path]; dup {
			t.Errorf("file %s listed twice", f.Path)
		}
		o.Files[f.Path] = f.SHA256
	}
	day := o.Task.CreatedAt
	if o.Task.CompletedAt != nil {
		day = *o.Task.CompletedAt
	}
	if o.Usage, err = st.GetUsage(ctx, o.Task.OwnerKeyHash, day); err != nil {
		t.Fatal(err)
	}
	return o
}

func countTypes[T any](items []T, typ func(T) string) map[string]int {
	out := map[string]int{}
	for _, it := range items {
		out[typ(it)]++
	}
	return out
}

func (o outcome) eventTypes() map[string]int {
	return countTypes(o.Events, func(e store.Event) string { return e.Type })
}

func (o outcome) payloads(typ string) []map[string]any {
	var out []map[string]any
	for _, e := range o.Events {
		if e.Type == typ {
			var p map[string]any
			_ = json.Unmarshal(e.Payload, &p)
			out = append(out, p)
		}
	}
	return out
}

// checkExactlyOnce checks the invariants of a completed task that must hold
// however often its activities were retried: one creation, one codex load,
// one end; one command_started per run id and one quota charge per run; the
// owner's daily tokens, the llm_usage events and the task's totals agree.
// The owner must have no other task that day.
func checkExactlyOnce(t *testing.T, o outcome) {
	t.Helper()
	types := o.eventTypes()
	for _, typ := range []string{"TaskCreated", "codex_loaded", "TaskCompleted"} {
		if types[typ] != 1 {
			t.Errorf("%d %s events, want 1 (all: %v)", types[typ], typ, types)
		}
	}
	runs := map[string]bool{}
	for _, p := range o.payloads("command_started") {
		id, _ := p["run_id"].(string)
		if id == "" || runs[id] {
			t.Errorf("command_started without a fresh run_id: %v", p)
		}
		runs[id] = true
	}
	// Runs of an interrupted attempt may have finished before the kill; none
	// is charged: the retry's runs are, once.
	finished, kept := types["command_finished"], len(runs)-o.interrupted
	if finished < kept || finished > len(runs) || o.Usage.CommandRuns != int64(kept) {
		t.Errorf("%d command runs started (%d by an attempt a kill interrupted), %d finished, %d charged to the quota",
			len(runs), o.interrupted, finished, o.Usage.CommandRuns)
	}
	var in, out int64
	for _, p := range o.payloads("llm_usage") {
		a, _ := p["tokens_in"].(float64)
		b, _ := p["tokens_out"].(float64)
		in, out = in+int64(a), out+int64(b)
	}
	if in == 0 || in != o.Usage.TokensIn || out != o.Usage.TokensOut || in != o.Task.TokensIn || out != o.Task.TokensOut {
		t.Errorf("tokens: llm_usage events %d/%d, daily usage %d/%d, task %d/%d",
			in, out, o.Usage.TokensIn, o.Usage.TokensOut, o.Task.TokensIn, o.Task.TokensOut)
	}
	if o.Task.FilesCount != len(o.Files) || o.Task.ArtifactsCount != len(o.Artifacts) {
		t.Errorf("task counts %d files / %d artifacts, store has %d / %d",
			o.Task.FilesCount, o.Task.ArtifactsCount, len(o.Files), len(o.Artifacts))
	}
	ids := map[string]bool{}
	for _, e := range o.Events {
		if ids[e.ID] {
			t.Errorf("event id %s twice", e.ID)
		}
		ids[e.ID] = true
	}
}
