package activities

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

// TestResumePointFromTheStore: a retried run continues after the last stage
// whose output is stored, with the answers, the plan and the planned files
// the coder has written (not the template files the plan rewrites).
func TestResumePointFromTheStore(t *testing.T) {
	design := `{"files":[{"path":"app/core.py","component":"Core","kind":"source"},` +
		`{"path":"tests/test_core.py","component":"Core","kind":"test"},{"path":"README.md","component":"Docs","kind":"docs"}]}`
	cases := []struct {
		name      string
		artifacts map[string][]string // type -> payloads, in order
		want      task.ResumePoint
		wantErr   string
	}{
		{name: "nothing stored", want: task.ResumePoint{Step: task.StepResearch}},
		{
			name:      "research stored",
			artifacts: map[string][]string{task.ArtifactResearchSummary: {`{}`}},
			want:      task.ResumePoint{Step: task.StepGate, Researched: true},
		},
		{
			name: "design stored, some files written",
			artifacts: map[string][]string{
				task.ArtifactResearchSummary: {`{}`},
				task.ArtifactArchitecture:    {design},
				task.ArtifactCodeSummary:     {`{"files":[{"path":"app/core.py"}]}`, `{"files":[{"path":"setup.py"}]}`},
			},
			want: task.ResumePoint{Step: task.StepImplement, Researched: true, Files: []task.PlannedFile{
				{Path: "app/core.py", Component: "Core", Kind: "source"},
				{Path: "tests/test_core.py", Component: "Core", Kind: "test"},
				{Path: "README.md", Component: "Docs", Kind: "docs"},
			}, Done: []string{"app/core.py"}},
		},
		{
			// The plan matches what the Design activity gave the first run:
			// clean paths, a default component, a kind guessed from the path.
			name: "design stored as the model wrote it",
			artifacts: map[string][]string{
				task.ArtifactResearchSummary: {`{}`},
				task.ArtifactArchitecture:    {`{"files":[{"path":"./app/core.py"},{"path":"tests/test_core.py","component":"Core"}]}`},
				task.ArtifactCodeSummary:     {`{"files":[{"path":"app/core.py"}]}`},
			},
			want: task.ResumePoint{Step: task.StepImplement, Researched: true, Files: []task.PlannedFile{
				{Path: "app/core.py", Component: "Project", Kind: "source"},
				{Path: "tests/test_core.py", Component: "Core", Kind: "test"},
			}, Done: []string{"app/core.py"}},
		},
		{
			name:      "a stored design that does not decode",
			artifacts: map[string][]string{task.ArtifactResearchSummary: {`{}`}, task.ArtifactArchitecture: {`{"files":"not a list"}`}},
			wantErr:   task.ReasonInternalError,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "A command line tool for notes", "", nil)
			ctx := context.Background()
			answers := map[string]any{"scope": "small"}
			if _, err := f.store.UpdateTask(ctx, f.task.ID, func(row *store.Task) error {
				row.ProvidedAnswers = answers
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			for _, typ := range []string{task.ArtifactResearchSummary, task.ArtifactArchitecture, task.ArtifactCodeSummary} {
				for _, p := range tc.artifacts[typ] {
					if _, err := f.store.AppendArtifact(ctx, store.Artifact{ID: uuid.NewString(), TaskID: f.task.ID, Type: typ,
						Payload: json.RawMessage(p)}); err != nil {
						t.Fatal(err)
					}
				}
			}
			got, err := f.a.ResumePoint(ctx, task.ResumeIn{Step: f.step("g1/s2")})
			if tc.wantErr != "" {
				var appErr *temporal.ApplicationError
				if !errors.As(err, &appErr) || appErr.Type() != tc.wantErr || !appErr.NonRetryable() {
					t.Fatalf("error %v, want a non-retryable %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Step != tc.want.Step || got.Researched != tc.want.Researched || !slices.Equal(got.Files, tc.want.Files) ||
				!slices.Equal(got.Done, tc.want.Done) {
				t.Fatalf("resume point\n got %+v\nwant %+v", got, tc.want)
			}
			if got.Answers["scope"] != "small" {
				t.Fatalf("answers %v", got.Answers)
			}
		})
	}
}
