package workspace

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"

	"ai-platform/internal/task"
)

// manifestName is the optional per-template manifest at the template's top level.
const manifestName = "template.json"

// Defaults for the text and rationale a template's clarification question
// leaves empty, the earlier system's wording.
const (
	defaultQuestionText      = "Provide the missing input."
	defaultQuestionRationale = "Required to proceed."
)

// File is one file of a template or a workspace.
type File struct {
	Path    string // clean relative slash path, as CleanPath returns it
	Content []byte
}

// Template is a project template: the files that seed a new task workspace
// and the clarification questions it asks.
type Template struct {
	ID          string
	Description string
	Hash        string // hex SHA-256 over the sorted files, see LoadCatalog
	Questions   []task.Question
	Files       []File // sorted by Path
}

// Summary is the listing view of a template, shaped for GET /api/templates.
type Summary struct {
	ID          string `json:"template_id"`
	Description string `json:"description"`
	Hash        string `json:"hash"`
}

// Summary returns the listing view of t.
func (t Template) Summary() Summary {
	return Summary{ID: t.ID, Description: t.Description, Hash: t.Hash}
}

// Catalog is the read-only set of templates loaded once at start; it is safe
// for concurrent use because nothing in it changes after LoadCatalog.
type Catalog struct {
	byID map[string]Template
	ids  []string // sorted
}

// LoadCatalog reads every top-level directory of fsys as a template whose id is
// the directory name (hidden directories are skipped). A template's files are
// all regular files below it except its top-level template.json and ignored
// caches; Hash is the hex SHA-256 over the files sorted by path of
// (path, 0x00, content, 0x00). A malformed template.json, an invalid question
// or an unusable file name is an error naming the template.
func LoadCatalog(fsys fs.FS) (*Catalog, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read templates root: %w", err)
	}
	c := &Catalog{byID: make(map[string]Template)}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		id := e.Name()
		if !validTemplateID(id) {
			return nil, fmt.Errorf("template %q: directory name is not a usable template id", id)
		}
		t, err := loadTemplate(fsys, id)
		if err != nil {
			return nil, err
		}
		c.byID[id] = t
		c.ids = append(c.ids, id)
	}
	slices.Sort(c.ids)
	return c, nil
}

// List returns every template sorted by ID, without file contents (Files is
// nil); use Get for the files.
func (c *Catalog) List() []Template {
	out := make([]Template, 0, len(c.ids))
	for _, id := range c.ids {
		t := c.byID[id]
		t.Questions = cloneQuestions(t.Questions)
		t.Files = nil
		out = append(out, t)
	}
	return out
}

// Summaries returns the listing view of every template, sorted by ID.
func (c *Catalog) Summaries() []Summary {
	out := make([]Summary, 0, len(c.ids))
	for _, id := range c.ids {
		out = append(out, c.byID[id].Summary())
	}
	return out
}

// Get returns a deep copy of the template with the given id (surrounding
// spaces trimmed). Ids containing '/', '\\' or ".." never match.
func (c *Catalog) Get(id string) (Template, bool) {
	id = strings.TrimSpace(id)
	if !validTemplateID(id) {
		return Template{}, false
	}
	t, ok := c.byID[id]
	if !ok {
		return Template{}, false
	}
	t.Questions = cloneQuestions(t.Questions)
	files := make([]File, len(t.Files))
	for i, f := range t.Files {
		files[i] = File{Path: f.Path, Content: bytes.Clone(f.Content)}
	}
	t.Files = files
	return t, true
}

// validTemplateID reports whether id can only ever name a directory directly
// below the templates root.
func validTemplateID(id string) bool {
	return id != "" && id != "." && !strings.ContainsAny(id, `/\`) && !strings.Contains(id, "..")
}

func loadTemplate(fsys fs.FS, id string) (Template, error) {
	sub, err := fs.Sub(fsys, id)
	if err != nil {
		return Template{}, fmt.Errorf("template %q: %w", id, err)
	}
	t := Template{ID: id}
	raw, err := fs.ReadFile(sub, manifestName)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return Template{}, fmt.Errorf("template %q: read %s: %w", id, manifestName, err)
	default:
		if t.Description, t.Questions, err = parseManifest(raw); err != nil {
			return Template{}, fmt.Errorf("template %q: invalid %s: %w", id, manifestName, err)
		}
	}
	if t.Files, err = collectFS(sub); err != nil {
		return Template{}, fmt.Errorf("template %q: %w", id, err)
	}
	t.Hash = HashFiles(t.Files)
	return t, nil
}

// collectFS reads the template's regular files, sorted by path.
func collectFS(fsys fs.FS) ([]File, error) {
	var files []File
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && skipDir(d.Name()) {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || p == manifestName || skipFile(d.Name()) {
			return nil
		}
		clean, err := CleanPath(p)
		if err != nil {
			return err
		}
		content, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		files = append(files, File{Path: clean, Content: content})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sortFiles(files)
	return files, nil
}

// HashFiles returns the hex SHA-256 over files sorted by path of
// (path, 0x00, content, 0x00); the NUL separators keep ("ab","c") and ("a","bc") apart.
func HashFiles(files []File) string {
	sorted := slices.Clone(files)
	sortFiles(sorted)
	h := sha256.New()
	for _, f := range sorted {
		h.Write([]byte(f.Path))
		h.Write([]byte{0})
		h.Write(f.Content)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

func sortFiles(files []File) {
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
}

// manifestJSON is the shape of template.json; unknown fields are errors so a
// misspelt key cannot silently drop the questions.
type manifestJSON struct {
	ID          string         `json:"id"` // accepted for compatibility, ignored: the id is the directory name
	Description string         `json:"description"`
	Questions   []questionJSON `json:"clarification_questions"`
}

type questionJSON struct {
	ID        string   `json:"id"`
	Text      string   `json:"text"`
	Type      string   `json:"type"`
	Choices   []string `json:"choices"`
	Required  *bool    `json:"required"`
	Rationale string   `json:"rationale"`
}

func parseManifest(raw []byte) (string, []task.Question, error) {
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return "", nil, errors.New("must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var m manifestJSON
	if err := dec.Decode(&m); err != nil {
		return "", nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return "", nil, errors.New("unexpected data after the JSON object")
	}
	qs, err := normaliseQuestions(m.Questions)
	if err != nil {
		return "", nil, err
	}
	return strings.TrimSpace(m.Description), qs, nil
}

// normaliseQuestions applies the defaults above and rejects questions the
// UI could not render or the resume check could not match.
func normaliseQuestions(in []questionJSON) ([]task.Question, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]task.Question, 0, len(in))
	seen := make(map[string]bool, len(in))
	for i, q := range in {
		text := strings.TrimSpace(q.Text)
		id := strings.TrimSpace(q.ID)
		if id == "" {
			id = QuestionID(text)
		}
		if id == "" {
			return nil, fmt.Errorf("clarification_questions[%d]: needs an id or a text", i)
		}
		if seen[id] {
			return nil, fmt.Errorf("clarification_questions[%d]: duplicate id %q", i, id)
		}
		seen[id] = true
		nq := task.Question{ID: id, Text: text, Type: q.Type, Required: true, Rationale: strings.TrimSpace(q.Rationale)}
		if nq.Text == "" {
			nq.Text = defaultQuestionText
		}
		if nq.Rationale == "" {
			nq.Rationale = defaultQuestionRationale
		}
		if q.Required != nil {
			nq.Required = *q.Required
		}
		if nq.Type == "" {
			nq.Type = task.QuestionText
		}
		switch nq.Type {
		case task.QuestionText:
			if len(q.Choices) > 0 {
				return nil, fmt.Errorf("clarification_questions[%d] (%s): a text question takes no choices", i, id)
			}
		case task.QuestionChoice, task.QuestionMulti:
			if len(q.Choices) == 0 {
				return nil, fmt.Errorf("clarification_questions[%d] (%s): a %s question needs choices", i, id, nq.Type)
			}
			for _, ch := range q.Choices {
				if strings.TrimSpace(ch) == "" {
					return nil, fmt.Errorf("clarification_questions[%d] (%s): empty choice", i, id)
				}
			}
			nq.Choices = slices.Clone(q.Choices)
		default:
			return nil, fmt.Errorf("clarification_questions[%d] (%s): type %q is not one of text, choice, multi", i, id, nq.Type)
		}
		out = append(out, nq)
	}
	return out, nil
}

// QuestionID turns free text into a question id as the earlier system did:
// lower-cased, runs of characters outside [a-z0-9_] become '_', trimmed of '_'.
func QuestionID(s string) string {
	var b strings.Builder
	pendingSep := false
	for _, r := range strings.ToLower(s) {
		if r == '_' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if pendingSep && b.Len() > 0 {
				b.WriteByte('_')
			}
			pendingSep = false
			b.WriteRune(r)
			continue
		}
		pendingSep = true
	}
	return strings.Trim(b.String(), "_")
}

func cloneQuestions(qs []task.Question) []task.Question {
	if qs == nil {
		return nil
	}
	out := make([]task.Question, len(qs))
	for i, q := range qs {
		q.Choices = slices.Clone(q.Choices)
		out[i] = q
	}
	return out
}

// EmptyCatalog is a catalog with no templates (tasks without a template still run).
func EmptyCatalog() *Catalog { return &Catalog{byID: map[string]Template{}} }
