package llm

import (
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"ai-platform/internal/llm/mockproject"
)

// Limits of the cleaned text the mock pastes into generated files.
const (
	requestRunes     = 240
	requirementRunes = 200
	answerRunes      = 80
	scopeRunes       = 60
	maxClauses       = 8
	blobBytes        = 512 << 10
)

// mockCall is what one call derives from its brief.
type mockCall struct {
	brief   Brief
	marks   markers
	catalog *mockproject.Catalog
	project *mockproject.Project
	data    mockproject.Data
}

func newMockCall(catalog *mockproject.Catalog, b Brief, marks markers) *mockCall {
	request := mockproject.Clean(stripMarkers(b.Description), requestRunes)
	if request == "" {
		request = "a small Python project"
	}
	c := &mockCall{brief: b, marks: marks, catalog: catalog, project: catalog.Project(b.TemplateID)}
	c.data = mockproject.Data{
		Title:        mockproject.Title(request, "Python project"),
		Request:      request,
		Scope:        mockproject.Clean(answerText(b.Answers["scope"]), scopeRunes),
		Format:       "text",
		SleepSeconds: marks.sleepyTests,
	}
	if strings.EqualFold(strings.TrimSpace(answerText(b.Answers["output_format"])), "json") {
		c.data.Format = "json"
	}
	for _, k := range slices.Sorted(maps.Keys(b.Answers)) {
		line := mockproject.Clean(k+": "+answerText(b.Answers[k]), answerRunes)
		c.data.Answers = append(c.data.Answers, line)
	}
	for _, r := range b.Requirements {
		c.data.Requirements = append(c.data.Requirements, mockproject.Clean(r.ID+": "+r.Text, requirementRunes))
	}
	return c
}

// answerText renders a clarification answer (string, list, number...) as text.
func answerText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case []any:
		parts := make([]string, 0, len(v))
		for _, item := range v {
			parts = append(parts, answerText(item))
		}
		return strings.Join(parts, ", ")
	}
	raw, _ := json.Marshal(v)
	return string(raw)
}

// plan is the mock's design: the catalog project's components, the marker
// extras in the first component that has source code, and the data files
// of the big marker in components of at most defaultMaxFiles files.
func (c *mockCall) plan() []mockproject.Component {
	comps := make([]mockproject.Component, 0, len(c.project.Components)+1)
	extrasDone := false
	for _, comp := range c.project.Components {
		comp.Files = slices.Clone(comp.Files)
		if !extrasDone && slices.ContainsFunc(comp.Files, func(f mockproject.File) bool {
			return f.Kind == mockproject.KindSource
		}) {
			extrasDone = true
			if c.marks.sleepyTests > 0 {
				comp.Files = append(comp.Files, mockproject.File{Path: "tests/test_slow.py",
					Kind: mockproject.KindTest, Purpose: "a passing test that sleeps (sleepy-tests marker)"})
			}
			if c.marks.failAlways {
				comp.Files = append(comp.Files, mockproject.File{Path: "tests/test_acceptance.py",
					Kind: mockproject.KindTest, Purpose: "an acceptance test that always fails (fail-always marker)"})
			}
		}
		comps = append(comps, comp)
	}
	blobs := c.marks.bigMB * (1 << 20) / blobBytes
	for i := 0; i < blobs; i += defaultMaxFiles {
		comp := mockproject.Component{
			Name:        fmt.Sprintf("Sample data %d", i/defaultMaxFiles+1),
			Description: "Deterministic sample data files (big marker).",
		}
		for j := i; j < min(i+defaultMaxFiles, blobs); j++ {
			comp.Files = append(comp.Files, mockproject.File{Path: mockproject.BlobPath(j),
				Kind: mockproject.KindDocs, Purpose: "512 KiB of deterministic sample data"})
		}
		comps = append(comps, comp)
	}
	return comps
}

func (m *Mock) research(c *mockCall) ResearchReply {
	reply := ResearchReply{
		Summary:              c.data.Title + ": " + c.project.Summary,
		Requirements:         []Requirement{},
		UserStories:          []string{},
		Assumptions:          []string{},
		OpenQuestions:        []OpenQuestion{},
		TechnicalConstraints: slices.Clone(c.project.Constraints),
	}
	clauses := mockproject.Sentences(mockproject.Clean(stripMarkers(c.brief.Description), 4000))
	if len(clauses) > maxClauses {
		clauses = clauses[:maxClauses]
	}
	texts := make([]string, 0, len(clauses)+2)
	for _, clause := range clauses {
		texts = append(texts, mockproject.Clean(clause, requirementRunes))
	}
	if len(texts) == 0 {
		texts = append(texts, "Provide a small, working Python project.")
	}
	texts = append(texts,
		"Ship pytest tests that exercise the main behaviour.",
		"Keep the code clean under ruff (E, F, I) and pycodestyle at 100 columns.")
	for i, text := range texts {
		reply.Requirements = append(reply.Requirements, Requirement{ID: fmt.Sprintf("REQ-%03d", i+1), Text: text})
		if i < min(3, len(clauses)) {
			reply.UserStories = append(reply.UserStories,
				fmt.Sprintf("As a user of %s, I need: %s", c.data.Title, strings.TrimRight(text, ".!? ")))
		}
	}
	if len(reply.UserStories) == 0 {
		reply.UserStories = append(reply.UserStories, "As a user, I want a project that runs and is tested.")
	}
	if t := c.brief.Template; t != nil {
		reply.Assumptions = append(reply.Assumptions, fmt.Sprintf("The workspace starts from template %s (%s) with %d files.",
			mockproject.Clean(t.ID, 60), mockproject.Clean(t.Description, 160), len(t.Files)))
	}
	reply.Assumptions = append(reply.Assumptions,
		"Python 3.9 or newer; the tests run with pytest from the project root.",
		"No network access or external services are needed at run time.")
	for _, a := range c.data.Answers {
		reply.Assumptions = append(reply.Assumptions, "Clarified: "+a)
	}
	reply.TechnicalConstraints = append(reply.TechnicalConstraints,
		"Lint: ruff with rules E, F and I at a line length of 100.")
	if _, answered := c.brief.Answers["scope"]; c.marks.clarify && !answered && c.brief.MaxQuestions >= 0 {
		reply.OpenQuestions = append(reply.OpenQuestions, OpenQuestion{
			ID:        "scope",
			Type:      "choice",
			Choices:   []string{"minimal", "standard", "extended"},
			Text:      "How broad should the first version of " + c.data.Title + " be?",
			Rationale: "The request can be read narrowly or broadly; the answer sets how much the first version covers.",
		})
	}
	return reply
}

func (m *Mock) design(c *mockCall) DesignReply {
	reply := DesignReply{
		Summary:      c.project.Summary + " Requested: " + c.data.Request,
		Components:   []Component{},
		Files:        []DesignFile{},
		Dependencies: c.project.Dependencies(),
	}
	for _, comp := range c.plan() {
		var paths []string
		for _, f := range comp.Files {
			paths = append(paths, f.Path)
			reply.Files = append(reply.Files, DesignFile{Path: f.Path, Component: comp.Name, Kind: f.Kind, Purpose: f.Purpose})
		}
		reply.Components = append(reply.Components, Component{Name: comp.Name, Description: comp.Description, Files: paths})
	}
	return reply
}

func (m *Mock) review(c *mockCall) ReviewReply {
	reply := ReviewReply{Verdict: "approve", Issues: []string{}, Warnings: []string{}}
	files := slices.Clone(c.brief.ExistingFiles)
	slices.SortFunc(files, func(a, b FileContent) int { return strings.Compare(a.Path, b.Path) })
	for _, f := range files {
		if path.Ext(f.Path) != ".py" {
			continue
		}
		if !hasModuleDocstring(f.Content) {
			reply.Warnings = append(reply.Warnings, mockproject.Clean(f.Path, 120)+": no module docstring")
		}
		for i, line := range strings.Split(f.Content, "\n") {
			if len([]rune(line)) > 100 {
				reply.Warnings = append(reply.Warnings, fmt.Sprintf("%s:%d: line longer than 100 characters",
					mockproject.Clean(f.Path, 120), i+1))
				break
			}
		}
	}
	if c.marks.reviewReject {
		reply.Verdict = "request_changes"
		reply.Issues = append(reply.Issues, "The reviewer rejects this work on request (review-reject marker).")
	}
	reply.Summary = fmt.Sprintf("Reviewed %d files of %s against %d checklist items: %s.",
		len(files), c.data.Title, len(c.brief.Checklist), strings.ReplaceAll(reply.Verdict, "_", " "))
	return reply
}

// hasModuleDocstring reports whether the first statement of Python source is
// a string literal.
func hasModuleDocstring(src string) bool {
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimLeft(line, "rRuUbBfF")
		return strings.HasPrefix(line, `"""`) || strings.HasPrefix(line, "'''") ||
			strings.HasPrefix(line, `"`) || strings.HasPrefix(line, "'")
	}
	return false
}
