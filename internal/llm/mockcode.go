package llm

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"ai-platform/internal/llm/mockproject"
)

// Code task types of the pipeline (Brief.TaskType).
const (
	// TaskImplementComponent writes the files of the next planned component.
	TaskImplementComponent = "implement_component"
	// TaskWriteTests writes tests for an existing source file.
	TaskWriteTests = "write_tests"
	// TaskFixReviewIssues rewrites files to fix review findings.
	TaskFixReviewIssues = "fix_review_issues"
)

// code answers a code brief with the full content of each target file, at
// most MaxFiles of them. Without usable targets it picks the planned files
// the findings mention, else (for a fix) the shown files that differ from
// what the mock writes now, else the first component with missing files.
func (m *Mock) code(c *mockCall) (CodeReply, error) {
	limit := c.brief.MaxFiles
	if limit <= 0 {
		limit = defaultMaxFiles
	}
	comps := c.components()
	d := c.data
	d.Existing = map[string]string{}
	for _, f := range c.brief.ExistingFiles {
		if p, ok := cleanPath(f.Path); ok {
			d.Existing[p] = f.Content
		}
	}
	for _, comp := range comps {
		d.Plan = append(d.Plan, comp.Files...)
	}
	d.Defect = c.marks.reviewFailOnce && c.brief.TaskType == TaskImplementComponent && c.brief.Iteration == 1

	var targets []string
	for _, t := range c.brief.TargetFiles {
		if p, ok := cleanPath(t); ok && !slices.Contains(targets, p) {
			targets = append(targets, p)
		}
	}
	if len(targets) == 0 {
		var stale []string
		if c.brief.TaskType == TaskFixReviewIssues {
			stale = c.staleFiles(d)
		}
		targets = fallbackTargets(comps, d.Existing, c.brief.Findings, stale)
	}
	d.Mentioned = slices.Clone(targets)
	if c.brief.TaskType == TaskWriteTests {
		targets = testTargets(targets, d.Plan)
	}
	if len(targets) > limit {
		targets = targets[:limit]
	}

	d.Mentioned = append(d.Mentioned, targets...)
	reply := CodeReply{Files: make([]FileContent, 0, len(targets))}
	for _, t := range targets {
		content, err := c.render(t, d)
		if err != nil {
			return CodeReply{}, &Error{Status: 500, Message: err.Error()}
		}
		reply.Files = append(reply.Files, FileContent{Path: t, Content: content})
	}
	verb := map[string]string{
		TaskImplementComponent: "Implemented",
		TaskWriteTests:         "Wrote tests in",
		TaskFixReviewIssues:    "Fixed the review findings in",
	}[c.brief.TaskType]
	if verb == "" {
		verb = "Wrote"
	}
	reply.Summary = fmt.Sprintf("%s %s for %s (iteration %d).",
		verb, strings.Join(targets, ", "), c.data.Title, c.brief.Iteration)
	return reply, nil
}

// components is the design the code stage works from: the brief's
// architecture when it has one, else the mock's own plan.
func (c *mockCall) components() []mockproject.Component {
	arch := c.brief.Architecture
	if arch == nil || len(arch.Components) == 0 {
		return c.plan()
	}
	info := map[string]DesignFile{}
	for _, f := range arch.Files {
		info[f.Path] = f
	}
	comps := make([]mockproject.Component, 0, len(arch.Components))
	for _, ac := range arch.Components {
		comp := mockproject.Component{Name: ac.Name, Description: ac.Description}
		for _, p := range ac.Files {
			if clean, ok := cleanPath(p); ok {
				f := info[p]
				comp.Files = append(comp.Files, mockproject.File{Path: clean, Kind: f.Kind, Purpose: f.Purpose})
			}
		}
		comps = append(comps, comp)
	}
	return comps
}

// staleFiles lists the planned catalog files shown in the brief whose content
// differs from their correct rendering (the review-fail-once defect).
func (c *mockCall) staleFiles(d mockproject.Data) []string {
	d.Defect = false
	var stale []string
	for _, f := range d.Plan {
		shown := d.Existing[f.Path]
		if shown == "" || !c.catalog.Has(c.project, f.Path) {
			continue
		}
		if want, err := c.catalog.Render(c.project, f.Path, d); err == nil && want != shown {
			stale = append(stale, f.Path)
		}
	}
	return stale
}

// render returns the content of one target file.
func (c *mockCall) render(target string, d mockproject.Data) (string, error) {
	blobs := c.marks.bigMB * (1 << 20) / blobBytes
	for i := range blobs {
		if target == mockproject.BlobPath(i) {
			return mockproject.Blob(i, blobBytes), nil
		}
	}
	return c.catalog.Render(c.project, target, d)
}

// fallbackTargets chooses files for a code brief without usable targets: the
// planned files the findings mention, else the stale ones, else the first
// component with missing files, else the first component.
func fallbackTargets(comps []mockproject.Component, existing map[string]string, findings, stale []string) []string {
	var mentioned []string
	for _, comp := range comps {
		for _, f := range comp.Files {
			for _, finding := range findings {
				if strings.Contains(finding, f.Path) && !slices.Contains(mentioned, f.Path) {
					mentioned = append(mentioned, f.Path)
				}
			}
		}
	}
	if len(mentioned) > 0 {
		return mentioned
	}
	if len(stale) > 0 {
		return stale
	}
	for _, comp := range comps {
		var missing []string
		for _, f := range comp.Files {
			if _, ok := existing[f.Path]; !ok {
				missing = append(missing, f.Path)
			}
		}
		if len(missing) > 0 {
			return missing
		}
	}
	if len(comps) > 0 {
		var paths []string
		for _, f := range comps[0].Files {
			paths = append(paths, f.Path)
		}
		return paths
	}
	return nil
}

// testTargets maps source modules named by a write_tests brief to their test
// files: the planned test_<name>.py, else tests/test_<name>.py.
func testTargets(targets []string, plan []mockproject.File) []string {
	var out []string
	for _, t := range targets {
		if path.Ext(t) == ".py" && !mockproject.IsTest(t) {
			name := strings.TrimSuffix(path.Base(t), ".py")
			if name == "__init__" {
				name = path.Base(path.Dir(t))
			}
			test := "tests/test_" + name + ".py"
			for _, f := range plan {
				if path.Base(f.Path) == "test_"+name+".py" {
					test = f.Path
					break
				}
			}
			t = test
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// cleanPath returns p as a clean relative slash path, or false when it is
// empty, absolute, escapes upwards or holds backslashes or NUL bytes.
func cleanPath(p string) (string, bool) {
	if p == "" || strings.ContainsAny(p, "\\\x00") || strings.HasPrefix(p, "/") ||
		strings.HasPrefix(p, "~") || len(p) >= 2 && p[1] == ':' {
		return "", false
	}
	p = path.Clean(p)
	if p == "." || p == ".." || strings.HasPrefix(p, "../") || strings.HasSuffix(p, "/") {
		return "", false
	}
	return p, true
}
