package mockproject

import (
	"slices"
	"strings"
)

// docWidth is the width of the request paragraph in docstrings and Markdown.
const docWidth = 72

// Data is what a file template sees. Text fields must already be clean (see
// Clean): they are pasted into Python docstrings and string literals.
type Data struct {
	// Title is a short project title.
	Title string
	// Request is the task description, one clean line.
	Request string
	// Scope is the answer to the mock's "scope" question, or "".
	Scope string
	// Format is the default output format of python_cli: text or json.
	Format string
	// Defect asks the first component's source for its review-fail-once bug.
	Defect bool
	// SleepSeconds is how long the sleepy extra test sleeps.
	SleepSeconds int
	// Requirements are the research requirements, one clean line each.
	Requirements []string
	// Answers are the clarification answers as clean "id: value" lines.
	Answers []string
	// Plan is the design's file list.
	Plan []File
	// Existing maps workspace paths to their content ("" when not shown).
	Existing map[string]string
	// Mentioned lists the paths the brief targets, including the source
	// files whose tests a write_tests brief asks for.
	Mentioned []string

	// Packages and Usage come from the project (set by Render).
	Packages []string
	Usage    []string
	// Module, Purpose and Depth describe a generic file (set by generic).
	Module  string
	Purpose string
	Depth   int
}

func (d Data) docLines() []string {
	lines := Wrap("Project request: "+d.Request, docWidth)
	if d.Scope != "" {
		lines = append(lines, "")
		lines = append(lines, Wrap("Chosen scope: "+d.Scope+".", docWidth)...)
	}
	return lines
}

// Doc is the request paragraph (and the chosen scope) wrapped for docstrings
// and Markdown.
func (d Data) Doc() string { return strings.Join(d.docLines(), "\n") }

// Comment is a generic file's description as comment lines.
func (d Data) Comment() []string {
	return append(Wrap(d.Module+": "+d.Purpose+".", docWidth), d.docLines()...)
}

// known lists the planned, present and mentioned paths, sorted and unique.
func (d Data) known() []string {
	var out []string
	for _, f := range d.Plan {
		out = append(out, f.Path)
	}
	for p := range d.Existing {
		out = append(out, p)
	}
	out = append(out, d.Mentioned...)
	slices.Sort(out)
	return slices.Compact(out)
}
