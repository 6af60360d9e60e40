package task

// Pipeline steps of TaskWorkflow, in order. A run's checkpoint names the next
// step to run, so a run continued-as-new or retried picks up exactly there;
// the ResumePoint activity answers in these names.
const (
	StepPrepare   = "prepare"
	StepResearch  = "research"
	StepGate      = "gate"
	StepDesign    = "design"
	StepImplement = "implementation"
	StepReview    = "review"
	StepFinish    = "finish"
	StepDone      = "done"
)

// ResumeIn asks where a retried run resumes.
type ResumeIn struct {
	Step Step `json:"step"`
}

// ResumePoint is where a retried run continues, worked out from what the
// failed runs stored: research is redone only when no research_summary was
// stored, design only when no architecture was, and the coder writes only the
// planned files no earlier run wrote.
type ResumePoint struct {
	// Step is the step the run continues at: StepResearch, StepGate or
	// StepImplement.
	Step string `json:"step"`
	// Researched is set once research is stored; the gate then asks only
	// what the stored research left open.
	Researched bool `json:"researched,omitempty"`
	// Answers are the clarification answers stored so far.
	Answers map[string]any `json:"answers,omitempty"`
	// Files is the stored design's plan and Done the planned paths already
	// written (set when Step is StepImplement).
	Files []PlannedFile `json:"files,omitempty"`
	Done  []string      `json:"done,omitempty"`
}
