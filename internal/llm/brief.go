package llm

// Brief is the JSON document every stage sends as its last user message. The
// system message explains the role and the reply shape in prose; the brief
// carries the facts. The mock provider reads it to build its reply.
type Brief struct {
	Stage       string         `json:"stage"` // research | design | code | review
	Description string         `json:"description"`
	TemplateID  string         `json:"template_id,omitempty"`
	Template    *TemplateBrief `json:"template,omitempty"`
	// Answers are the user's clarification answers, id -> value.
	Answers map[string]any `json:"answers,omitempty"`
	// Requirements come from research (design, code, review stages).
	Requirements []Requirement `json:"requirements,omitempty"`
	// Architecture comes from design (code and review stages).
	Architecture *DesignReply `json:"architecture,omitempty"`
	// Code stage only.
	Iteration     int           `json:"iteration,omitempty"`
	TaskType      string        `json:"task_type,omitempty"`
	TargetFiles   []string      `json:"target_files,omitempty"`
	Findings      []string      `json:"findings,omitempty"`
	ExistingFiles []FileContent `json:"existing_files,omitempty"`
	MaxFiles      int           `json:"max_files,omitempty"`
	Constraints   []string      `json:"constraints,omitempty"`
	// Review stage only.
	Checklist []string `json:"checklist,omitempty"`
	// MaxQuestions bounds research open questions.
	MaxQuestions int `json:"max_questions,omitempty"`
}

// TemplateBrief describes the project template the workspace was seeded from.
type TemplateBrief struct {
	ID          string   `json:"id"`
	Description string   `json:"description"`
	Files       []string `json:"files"`
}

// FileContent is a file shown to or produced by the model.
type FileContent struct {
	Path    string `json:"path"`
	Content string `json:"content"`
}

// Requirement is one numbered requirement.
type Requirement struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// OpenQuestion is a question the researcher wants answered before coding.
type OpenQuestion struct {
	ID        string   `json:"id"`
	Text      string   `json:"text"`
	Type      string   `json:"type,omitempty"` // text | choice | multi
	Choices   []string `json:"choices,omitempty"`
	Rationale string   `json:"rationale,omitempty"`
}

// ResearchReply is the research stage's reply.
type ResearchReply struct {
	Summary              string         `json:"summary"`
	Requirements         []Requirement  `json:"requirements"`
	UserStories          []string       `json:"user_stories"`
	Assumptions          []string       `json:"assumptions"`
	OpenQuestions        []OpenQuestion `json:"open_questions"`
	TechnicalConstraints []string       `json:"technical_constraints"`
}

// Component is one part of the architecture.
type Component struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Files       []string `json:"files"`
}

// DesignFile is one planned file.
type DesignFile struct {
	Path      string `json:"path"`
	Component string `json:"component"`
	Kind      string `json:"kind"` // source | test | docs | config
	Purpose   string `json:"purpose"`
}

// DesignReply is the design stage's reply.
type DesignReply struct {
	Summary      string       `json:"summary"`
	Components   []Component  `json:"components"`
	Files        []DesignFile `json:"files"`
	Dependencies []string     `json:"dependencies"`
}

// CodeReply is the code stage's reply.
type CodeReply struct {
	Files   []FileContent `json:"files"`
	Summary string        `json:"summary"`
}

// ReviewReply is the model critique of the review stage.
type ReviewReply struct {
	Verdict  string   `json:"verdict"` // approve | request_changes
	Issues   []string `json:"issues"`
	Warnings []string `json:"warnings"`
	Summary  string   `json:"summary"`
}
