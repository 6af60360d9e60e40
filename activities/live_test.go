package activities

import (
	"context"
	"strings"
	"testing"
	"time"

	"ai-platform/internal/live"
	"ai-platform/internal/task"
)

// drain collects the live messages of one stream until its done message.
func drain(t *testing.T, ch <-chan live.Message) []live.Message {
	t.Helper()
	var out []live.Message
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-ch:
			out = append(out, m)
			if m.Event == live.EventDone {
				return out
			}
		case <-timeout:
			t.Fatalf("no done message; got %d messages", len(out))
		}
	}
}

// The stages publish what the (streaming) mock writes: research as
// readable text, the coder's files decoded from its JSON, with content
// equal to what the stage then stores.
func TestStagesPublishLiveOutput(t *testing.T) {
	hub := live.NewHub(nil, nil)
	defer hub.Close()
	f := newFixture(t, "Build a command-line tool that counts words in text files", "", func(d *Deps) { d.Live = hub })
	ctx := context.Background()
	ch, stop := hub.Subscribe(ctx, f.task.ID)
	defer stop()
	plan := task.Plan{MaxQuestions: 0, MaxFilesPerIteration: 3}

	if _, err := f.a.Research(ctx, task.StageIn{Step: f.step("g0/s1"), Plan: plan}); err != nil {
		t.Fatal(err)
	}
	research := drain(t, ch)
	var text strings.Builder
	for i, m := range research {
		if m.Seq != int64(i+1) || m.Stage != task.StageResearch || m.Role != task.RoleResearcher || m.Stream != "research/g0/s1/a1" {
			t.Fatalf("research message %d: %+v", i, m)
		}
		if m.Event == live.EventDelta {
			text.WriteString(m.Text)
		}
	}
	if research[0].Event != live.EventStart || !strings.Contains(text.String(), "requirements:\n- ") || strings.Contains(text.String(), `{"`) {
		t.Fatalf("research live text is not the readable reply: %q (first %+v)", text.String(), research[0])
	}

	design, err := f.a.Design(ctx, task.StageIn{Step: f.step("g0/s2"), Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, ch)
	out, err := f.a.Code(ctx, task.CodeIn{Step: f.step("g0/s3"), Plan: plan, Iteration: 1, Planned: design.Files,
		Task: task.CodeTask{Type: task.CodeImplement, Component: design.Files[0].Component, Description: "implement"}})
	if err != nil {
		t.Fatal(err)
	}
	code := drain(t, ch)
	content := map[string]string{}
	for _, m := range code {
		if m.Stage != task.StageImplement || m.Role != task.RoleCoder {
			t.Fatalf("code message %+v", m)
		}
		if m.Event == live.EventDelta && m.File != "" {
			content[m.File] += m.Text
		}
	}
	if len(out.FilesWritten) == 0 {
		t.Fatal("the coder wrote nothing")
	}
	for _, p := range out.FilesWritten {
		stored, err := f.store.GetFile(ctx, f.task.ID, p)
		if err != nil {
			t.Fatal(err)
		}
		if content[p] != string(stored.Content) {
			t.Fatalf("%s: live content (%d bytes) differs from the stored file (%d bytes)", p, len(content[p]), len(stored.Content))
		}
	}
}

// Without Deps.Live the stages run as before.
func TestNoLiveHub(t *testing.T) {
	f := newFixture(t, "Build a command-line tool that counts words in text files", "", nil)
	if _, err := f.a.Research(context.Background(), task.StageIn{Step: f.step("g0/s1")}); err != nil {
		t.Fatal(err)
	}
}
