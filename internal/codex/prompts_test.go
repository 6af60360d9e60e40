package codex

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const minimal = `{"version":"1","rules":{},"workflow":{"stages":["design","implementation"]}%s}`

// TestPromptOverrides: a codex replaces one role's prompt with text or a
// file beside it; anything else is a start-up error naming the field.
func TestPromptOverrides(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "prompts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "prompts", "review.md"), []byte("Review harshly. Shape: {{shape}}"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		prompts string
		want    map[string]string
		wantErr string
	}{
		{name: "none", prompts: ``, want: nil},
		{name: "text", prompts: `,"prompts":{"code":"Write tidy code. {{shape}}"}`, want: map[string]string{"code": "Write tidy code. {{shape}}"}},
		{name: "file beside the codex", prompts: `,"prompts":{"review":{"file":"prompts/review.md"}}`,
			want: map[string]string{"review": "Review harshly. Shape: {{shape}}"}},
		{name: "unknown role", prompts: `,"prompts":{"coder":"x"}`,
			wantErr: `field prompts.coder names an unknown role "coder" (known: research, design, code, review)`},
		{name: "empty", prompts: `,"prompts":{"design":"  "}`, wantErr: "field prompts.design must not be empty"},
		{name: "not text", prompts: `,"prompts":{"design":7}`, wantErr: "field prompts.design must be the prompt text"},
		{name: "missing file", prompts: `,"prompts":{"design":{"file":"nope.md"}}`, wantErr: "field prompts.design.file cannot be read"},
		{name: "too long", prompts: `,"prompts":{"design":"` + strings.Repeat("x", maxPromptChars+1) + `"}`,
			wantErr: "field prompts.design is 32769 characters; the limit is 32768"},
		{name: "not an object", prompts: `,"prompts":["code"]`, wantErr: "field prompts must be an object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "codex.json")
			if err := os.WriteFile(path, []byte(strings.Replace(minimal, "%s", tc.prompts, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := Load(path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Prompts) != len(tc.want) {
				t.Fatalf("prompts %v, want %v", c.Prompts, tc.want)
			}
			for role, text := range tc.want {
				if c.Prompts[role] != text {
					t.Errorf("prompt %s = %q, want %q", role, c.Prompts[role], text)
				}
			}
		})
	}
	// A file override needs a codex read from a file to resolve against.
	if _, err := Parse([]byte(strings.Replace(minimal, "%s", `,"prompts":{"code":{"file":"x.md"}}`, 1))); err == nil ||
		!strings.Contains(err.Error(), "needs a codex read from a file") {
		t.Fatalf("file override without a codex file: %v", err)
	}
}

// TestPromptFileChangesTheHash: the hash identifies the codex a task ran
// under, so editing an override's file changes it.
func TestPromptFileChangesTheHash(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "codex.json")
	if err := os.WriteFile(path, []byte(strings.Replace(minimal, "%s", `,"prompts":{"code":{"file":"code.md"}}`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	var hashes []string
	for _, text := range []string{"one", "two"} {
		if err := os.WriteFile(filepath.Join(dir, "code.md"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, c.Hash)
	}
	if hashes[0] == hashes[1] {
		t.Fatal("the hash did not change with the prompt file")
	}
}
