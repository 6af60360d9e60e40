package activities

import (
	"strings"
	"testing"

	"go.temporal.io/sdk/testsuite"

	"ai-platform/internal/llm"
	"ai-platform/internal/task"
)

// TestGeneratedFileSizeAtTheCodexLimit: a generated file of exactly
// limitations.max_file_size bytes is accepted, one byte more is refused with
// both numbers, and a path escape is refused whatever its size.
func TestGeneratedFileSizeAtTheCodexLimit(t *testing.T) {
	f := newFixture(t, "A command line tool for notes", "python_cli", nil)
	f.a.Codex.MaxFileSize = 64
	cases := []struct {
		path    string
		size    int
		wantErr string
	}{
		{"app.py", 64, ""},
		{"app.py", 65, "65 bytes, over the codex limit of 64 bytes"},
		{"../app.py", 1, "parent"},
		{"/etc/app.py", 1, "absolute"},
	}
	for _, c := range cases {
		err := f.a.checkGenerated(llm.FileContent{Path: c.path, Content: strings.Repeat("x", c.size)})
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s (%d bytes): %v", c.path, c.size, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s (%d bytes): error %v, want %q", c.path, c.size, err, c.wantErr)
		}
	}
}

// TestDesignPlansAtMostMaxTotalFiles: the design keeps at most the codex's
// limitations.max_total_files planned files.
func TestDesignPlansAtMostMaxTotalFiles(t *testing.T) {
	for _, limit := range []int{1, 3, 1000} {
		f := newFixture(t, "A command line tool that counts words and lines in text files", "python_cli", nil)
		f.a.Codex.MaxTotalFiles = limit
		var suite testsuite.WorkflowTestSuite
		env := suite.NewTestActivityEnvironment()
		env.RegisterActivity(f.a.Research)
		env.RegisterActivity(f.a.Design)
		plan := task.Plan{MaxIterations: 3, Stages: []string{"research", "design", "implementation", "review"}}
		if _, err := f.a.Prepare(t.Context(), task.PrepareIn{Step: f.step("p"), TemplateID: "python_cli"}); err != nil {
			t.Fatal(err)
		}
		if _, err := env.ExecuteActivity(f.a.Research, task.StageIn{Step: f.step("r"), Plan: plan}); err != nil {
			t.Fatal(err)
		}
		v, err := env.ExecuteActivity(f.a.Design, task.StageIn{Step: f.step("d"), Plan: plan})
		if err != nil {
			t.Fatal(err)
		}
		var out task.DesignOut
		if err := v.Get(&out); err != nil {
			t.Fatal(err)
		}
		if len(out.Files) == 0 || len(out.Files) > limit || (limit == 1000 && len(out.Files) < 3) {
			t.Errorf("max_total_files %d: %d planned files", limit, len(out.Files))
		}
	}
}
