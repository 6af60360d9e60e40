package codex

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ai-platform/internal/task"
)

func TestDefaultCodexIsValid(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxIterations != 12 || !c.ReviewRequired || c.MaxQuestions != 3 || c.MaxFilesPerIteration != 5 {
		t.Fatalf("unexpected defaults: %+v", c)
	}
	if len(c.Hash) != 64 || c.Version == "" || len(c.Checklist) == 0 || len(c.CoderConstraints) == 0 {
		t.Fatalf("missing fields: %+v", c)
	}
	if got := c.Timeouts[task.StageReview]; got != 300*time.Second {
		t.Fatalf("review timeout = %v", got)
	}
	if got, ok := c.Timeouts["unknown"]; ok {
		t.Fatalf("a timeout for a stage the codex does not know: %v", got)
	}
}

func TestHashIsCanonical(t *testing.T) {
	a, err := Parse([]byte(`{"version":"1","rules":{},"workflow":{"stages":["design","implementation"],"max_iterations":2}}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse([]byte("{\n \"workflow\": {\"max_iterations\": 2, \"stages\": [\"design\", \"implementation\"]},\n \"rules\": {}, \"version\": \"1\"}"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Hash != b.Hash {
		t.Fatal("key order or whitespace changed the hash")
	}
	c, _ := Parse([]byte(`{"version":"1","rules":{},"workflow":{"stages":["design","implementation"],"max_iterations":3}}`))
	if c.Hash == a.Hash {
		t.Fatal("a different codex has the same hash")
	}
	if a.ReviewRequired {
		t.Fatal("review_required must be off when the review stage is absent")
	}
	if a.ApprovePlan {
		t.Fatal("approve_plan must be off unless the codex turns it on")
	}
	d, err := Parse([]byte(`{"version":"1","rules":{},"workflow":{"stages":["design","implementation"],"approve_plan":true}}`))
	if err != nil || !d.ApprovePlan || d.Summary()["rules_summary"].(map[string]any)["approve_plan"] != true {
		t.Fatalf("workflow.approve_plan true: %+v, %v", d, err)
	}
}

func TestInvalidCodexNamesTheField(t *testing.T) {
	cases := []struct {
		name, doc, field string
	}{
		{"not json", `{`, "JSON"},
		{"no version", `{"rules":{},"workflow":{"stages":["design","implementation"]}}`, "version"},
		{"version not string", `{"version":1,"rules":{},"workflow":{"stages":["design","implementation"]}}`, "version"},
		{"no rules", `{"version":"1","workflow":{"stages":["design","implementation"]}}`, "rules"},
		{"no workflow", `{"version":"1","rules":{}}`, "workflow"},
		{"empty stages", `{"version":"1","rules":{},"workflow":{"stages":[]}}`, "workflow.stages"},
		{"no design", `{"version":"1","rules":{},"workflow":{"stages":["research","implementation","review"]}}`, `must include "design"`},
		{"no implementation", `{"version":"1","rules":{},"workflow":{"stages":["research","design","review"]}}`, `must include "implementation"`},
		{"unknown stage", `{"version":"1","rules":{},"workflow":{"stages":["design","implementation","deploy"]}}`, "deploy"},
		{"zero iterations", `{"version":"1","rules":{},"workflow":{"stages":["design","implementation"],"max_iterations":0}}`, "workflow.max_iterations"},
		{"fractional iterations", `{"version":"1","rules":{},"workflow":{"stages":["design","implementation"],"max_iterations":1.5}}`, "workflow.max_iterations"},
		{"review flag not bool", `{"version":"1","rules":{},"workflow":{"stages":["design","implementation"],"review_required":"yes"}}`, "workflow.review_required"},
		{"approve_plan not bool", `{"version":"1","rules":{},"workflow":{"stages":["design","implementation"],"approve_plan":1}}`, "workflow.approve_plan"},
		{"bad max_questions", `{"version":"1","rules":{"researcher":{"parameters":{"max_questions":-1}}},"workflow":{"stages":["design","implementation"]}}`, "rules.researcher.parameters.max_questions"},
		{"bad timeout", `{"version":"1","rules":{},"workflow":{"stages":["design","implementation"],"timeouts":{"review":"x"}}}`, "workflow.timeouts.review"},
		{"checklist not strings", `{"version":"1","rules":{"reviewer":{"checklist":[1]}},"workflow":{"stages":["design","implementation"]}}`, "rules.reviewer.checklist"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("error %v does not name %q", err, tc.field)
			}
		})
	}
}

func TestLoadFileErrorNamesPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "codex.json")
	if err := os.WriteFile(path, []byte(`{"version":"1"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "rules") {
		t.Fatalf("error %v should name the file and the field", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "CODEX_PATH") {
		t.Fatalf("missing file error %v should name CODEX_PATH", err)
	}
}
