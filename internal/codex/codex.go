// Package codex loads and validates the codex: the JSON rulebook that sets the
// pipeline's stages, iteration budget, review policy, per-role parameters and
// limits. An invalid codex is a start-up error, never a silent fallback.
package codex

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"ai-platform/internal/task"
)

//go:embed codex.json
var defaultCodex []byte

// DefaultPath names the embedded default in messages and docs.
const DefaultPath = "internal/codex/codex.json (embedded)"

// Codex is a validated codex with the values the pipeline uses.
type Codex struct {
	Source  string
	Version string
	Hash    string

	Stages         []string
	MaxIterations  int
	ReviewRequired bool
	// ApprovePlan is the default of a task's approve_plan: wait for the
	// owner's approval of the design before code is written.
	ApprovePlan          bool
	MaxQuestions         int
	MaxFilesPerIteration int
	CoderConstraints     []string
	ResearchConstraints  []string
	DesignConstraints    []string
	Checklist            []string
	Timeouts             map[string]time.Duration
	MaxFileSize          int64
	MaxTotalFiles        int
	// Prompts override role prompt texts, by role (agents.Roles); a role
	// not listed keeps the prompt embedded in internal/agents/prompts.
	Prompts map[string]string

	raw map[string]any
}

// Load reads the codex at path, or the embedded default when path is "".
func Load(path string) (*Codex, error) {
	data, source := defaultCodex, DefaultPath
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("codex: reading CODEX_PATH %q: %w", path, err)
		}
		data, source = b, path
	}
	dir := ""
	if path != "" {
		dir = filepath.Dir(path)
	}
	c, err := parse(data, dir)
	if err != nil {
		return nil, fmt.Errorf("codex %s: %w", source, err)
	}
	c.Source = source
	return c, nil
}

// Parse validates a codex document. A prompt override read from a file
// needs the codex's own location: use Load for such a codex.
func Parse(data []byte) (*Codex, error) { return parse(data, "") }

// parse validates a codex document; dir is the codex file's directory
// ("" for a document with no file), against which prompt files resolve.
func parse(data []byte, dir string) (*Codex, error) {
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	p := parser{raw: raw}
	c := &Codex{raw: raw}
	c.Version = p.str("version", true)
	rules := p.object(raw, "rules", true)
	wf := p.object(raw, "workflow", true)
	c.Stages = p.strings(wf, "workflow.stages", "stages", true)
	if p.err == nil && len(c.Stages) == 0 {
		p.fail("workflow.stages", "must be a non-empty list of stage names")
	}
	for _, s := range c.Stages {
		if !slices.Contains(task.PipelineStages, s) {
			p.fail("workflow.stages", fmt.Sprintf("unknown stage %q (known: %s)", s, strings.Join(task.PipelineStages, ", ")))
		}
	}
	// Research and review may be left out; implementation needs the plan
	// that design makes, so a codex without either could never finish a task.
	for _, required := range []string{task.StageDesign, task.StageImplement} {
		if p.err == nil && !slices.Contains(c.Stages, required) {
			p.fail("workflow.stages", fmt.Sprintf("must include %q (research and review are optional)", required))
		}
	}
	c.MaxIterations = p.positiveInt(wf, "workflow.max_iterations", "max_iterations", 12)
	c.ReviewRequired = p.boolean(wf, "workflow.review_required", "review_required", true)
	if _, ok := wf["review_required"]; !ok {
		c.ReviewRequired = p.boolean(wf, "workflow.require_review", "require_review", true)
	}
	if p.err == nil && !slices.Contains(c.Stages, task.StageReview) {
		c.ReviewRequired = false
	}
	c.ApprovePlan = p.boolean(wf, "workflow.approve_plan", "approve_plan", false)
	c.Timeouts = map[string]time.Duration{}
	if tm := p.object(wf, "timeouts", false); tm != nil {
		for _, st := range task.PipelineStages {
			if _, ok := tm[st]; ok {
				c.Timeouts[st] = time.Duration(p.positiveInt(tm, "workflow.timeouts."+st, st, 0)) * time.Second
			}
		}
	}
	researcher := p.object(rules, "researcher", false)
	c.MaxQuestions = p.positiveInt(p.object(researcher, "parameters", false), "rules.researcher.parameters.max_questions", "max_questions", 3)
	c.ResearchConstraints = p.strings(researcher, "rules.researcher.constraints", "constraints", false)
	designer := p.object(rules, "designer", false)
	c.DesignConstraints = p.strings(designer, "rules.designer.constraints", "constraints", false)
	coder := p.object(rules, "coder", false)
	c.MaxFilesPerIteration = p.positiveInt(p.object(coder, "parameters", false), "rules.coder.parameters.max_files_per_iteration", "max_files_per_iteration", 5)
	c.CoderConstraints = p.strings(coder, "rules.coder.constraints", "constraints", false)
	c.Checklist = p.strings(p.object(rules, "reviewer", false), "rules.reviewer.checklist", "checklist", false)
	lim := p.object(raw, "limitations", false)
	c.MaxFileSize = int64(p.positiveInt(lim, "limitations.max_file_size", "max_file_size", 1<<20))
	c.MaxTotalFiles = p.positiveInt(lim, "limitations.max_total_files", "max_total_files", 200)
	c.Prompts = p.prompts(p.object(raw, "prompts", false), dir)
	if p.err != nil {
		return nil, p.err
	}
	canon, err := json.Marshal(raw) // map keys are sorted: a canonical form
	if err != nil {
		return nil, fmt.Errorf("encoding canonical form: %w", err)
	}
	sum := sha256.Sum256(canon)
	c.Hash = hex.EncodeToString(sum[:])
	return c, nil
}

// Summary is the payload of the codex_loaded event.
func (c *Codex) Summary() map[string]any {
	return map[string]any{
		"version": c.Version,
		"hash":    c.Hash,
		"source":  c.Source,
		"rules_summary": map[string]any{
			"workflow_stages":         c.Stages,
			"max_iterations":          c.MaxIterations,
			"review_required":         c.ReviewRequired,
			"approve_plan":            c.ApprovePlan,
			"max_questions":           c.MaxQuestions,
			"max_files_per_iteration": c.MaxFilesPerIteration,
			"roles":                   []string{"researcher", "designer", "coder", "reviewer"},
		},
	}
}
