package templates

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// diskFiles lists the template files on disk, skipping caches and Go files.
func diskFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, id := range []string{"python_cli", "python_fastapi", "python_lib"} {
		err := filepath.WalkDir(id, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "__pycache__" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			if !d.IsDir() {
				out = append(out, filepath.ToSlash(p))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(out)
	return out
}

func TestEmbeddedTemplatesMatchDisk(t *testing.T) {
	var embedded []string
	err := fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			embedded = append(embedded, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(embedded)
	if disk := diskFiles(t); !slices.Equal(disk, embedded) {
		t.Fatalf("embedded files differ from disk (a new _-prefixed file needs its own pattern)\ndisk:  %v\nembed: %v", disk, embedded)
	}
}

func TestTemplateManifests(t *testing.T) {
	questions := 0
	for _, id := range []string{"python_cli", "python_fastapi", "python_lib"} {
		raw, err := os.ReadFile(filepath.Join(id, "template.json"))
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Description string `json:"description"`
			Questions   []struct {
				ID        string   `json:"id"`
				Text      string   `json:"text"`
				Type      string   `json:"type"`
				Choices   []string `json:"choices"`
				Required  *bool    `json:"required"`
				Rationale string   `json:"rationale"`
			} `json:"clarification_questions"`
		}
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("%s/template.json: %v", id, err)
		}
		if m.Description == "" {
			t.Errorf("%s: empty description", id)
		}
		for _, q := range m.Questions {
			questions++
			if q.ID == "" || q.Text == "" || q.Rationale == "" || q.Required == nil {
				t.Errorf("%s: incomplete question %+v", id, q)
			}
			if q.Type == "choice" && len(q.Choices) < 2 {
				t.Errorf("%s: choice question %s needs choices", id, q.ID)
			}
		}
		for _, f := range []string{"requirements.txt", "README.md", "ruff.toml", "pytest.ini"} {
			if _, err := fs.Stat(FS, id+"/"+f); err != nil {
				t.Errorf("%s: missing %s", id, f)
			}
		}
	}
	if questions == 0 {
		t.Error("no template ships a clarification question")
	}
}
