package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"

	"ai-platform/internal/agents"
	"ai-platform/internal/llm"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
	"ai-platform/internal/workspace"
)

// taskBrief loads the task and the brief its stage's model call starts from.
func (a *Activities) taskBrief(ctx context.Context, taskID, stage string) (store.Task, llm.Brief, error) {
	t, err := a.getTask(ctx, taskID)
	if err != nil {
		return store.Task{}, llm.Brief{}, err
	}
	b, err := a.brief(ctx, t, stage)
	return t, b, err
}

// settleCall ends every model call the same way: the tokens it used are
// charged even when it failed (the provider bills them), then its failure
// is classified for Temporal.
func (a *Activities) settleCall(ctx context.Context, step task.Step, stage string, call agents.Call, started string, err error) error {
	if cerr := a.chargeTokens(ctx, step, stage, call, started); cerr != nil {
		return cerr
	}
	if cerr := a.callEvents(ctx, step, stage, call); cerr != nil {
		return cerr
	}
	if err != nil {
		return a.llmFailure(ctx, step, stage, err)
	}
	return nil
}

// brief assembles the facts every stage shares.
func (a *Activities) brief(ctx context.Context, t store.Task, stage string) (llm.Brief, error) {
	b := llm.Brief{Stage: stage, Description: t.Description, TemplateID: t.TemplateID, Answers: t.ProvidedAnswers}
	if tmpl, ok := a.Catalog.Get(t.TemplateID); ok && t.TemplateID != "" {
		tb := &llm.TemplateBrief{ID: tmpl.ID, Description: tmpl.Description}
		for _, f := range tmpl.Files {
			tb.Files = append(tb.Files, f.Path)
		}
		b.Template = tb
	}
	if stage == task.StageResearch {
		return b, nil
	}
	var research llm.ResearchReply
	if err := a.latestPayload(ctx, t.ID, task.ArtifactResearchSummary, &research); err != nil {
		return b, err
	}
	b.Requirements = research.Requirements
	if stage == task.StageDesign {
		return b, nil
	}
	var design llm.DesignReply
	if err := a.latestPayload(ctx, t.ID, task.ArtifactArchitecture, &design); err != nil {
		return b, err
	}
	b.Architecture = &design
	return b, nil
}

// latestPayload decodes the newest artifact of a type; a missing one leaves
// out untouched (a codex may skip the stage that makes it).
func (a *Activities) latestPayload(ctx context.Context, taskID, typ string, out any) error {
	art, err := a.Store.LatestArtifact(ctx, taskID, typ)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return storeErr(err, "loading "+typ)
	}
	if err := json.Unmarshal(art.Payload, out); err != nil {
		return fmt.Errorf("decoding %s artifact: %w", typ, err)
	}
	return nil
}

// callEvents writes what happened inside a stage conversation besides its
// usage: one llm_fallback event per move to a fallback model and one
// llm_truncated event per reply cut off at the token limit. Their ids name
// the attempt, so a redelivered attempt writes the same rows and the next
// attempt its own.
func (a *Activities) callEvents(ctx context.Context, step task.Step, stage string, call agents.Call) error {
	n, _ := attempts(ctx)
	for i, f := range call.Fallbacks {
		a.log(ctx, step).Warn("llm call moved to a fallback model", "stage", stage, "from", f.From, "to", f.To)
		if err := a.event(ctx, step, fmt.Sprintf("llm_fallback/a%d/%d", n, i+1), task.EventLLMFallback, map[string]any{
			"stage": stage, "from": f.From, "to": f.To, "error": a.redact.String(f.Error), "attempt": n,
		}); err != nil {
			return err
		}
	}
	for i, t := range call.Truncations {
		if err := a.event(ctx, step, fmt.Sprintf("llm_truncated/a%d/%d", n, i+1), task.EventLLMTruncated, map[string]any{
			"stage": stage, "action": t.Action, "requests": t.Requests, "detail": t.Detail, "attempt": n,
		}); err != nil {
			return err
		}
	}
	return nil
}

// turn is what a stage conversation knows of this attempt: its number,
// whether it is the retry policy's last (only then may a call move to a
// fallback model) and the quota check before each request.
func (a *Activities) turn(ctx context.Context, step task.Step, stage string, budgeted bool) agents.Turn {
	n, limit := attempts(ctx)
	return agents.Turn{Attempt: n, Final: limit > 0 && n >= limit, Before: a.callGuard(step, stage, budgeted)}
}

// attemptsKey carries a (attempt, limit) pair for code running outside a
// Temporal activity (tests play a given attempt of a known retry policy
// with it; the SDK's test environment hands activities no retry policy).
type attemptsKey struct{}

type attemptInfo struct{ n, limit int }

// withAttempts returns ctx playing attempt n of limit outside an activity.
func withAttempts(ctx context.Context, n, limit int) context.Context {
	return context.WithValue(ctx, attemptsKey{}, attemptInfo{n: n, limit: limit})
}

// attempts returns the activity's attempt and its retry policy's limit (0
// when unknown or unlimited).
func attempts(ctx context.Context) (n, limit int) {
	if !activity.IsActivity(ctx) {
		if v, ok := ctx.Value(attemptsKey{}).(attemptInfo); ok {
			return v.n, v.limit
		}
	}
	return attempt(ctx), maxAttempts(ctx)
}

// callGuard runs before every LLM request of a stage: the owner's daily
// quota, then (budgeted: every pipeline stage; a rerun review, which its
// owner asked for after the task ended, is not) the task's budget against
// the request's worst case.
func (a *Activities) callGuard(step task.Step, stage string, budgeted bool) agents.BeforeCall {
	return func(ctx context.Context, pending llm.Usage, next llm.Request) error {
		if err := a.checkQuotaWith(ctx, step.OwnerKey, pending.InputTokens+pending.OutputTokens); err != nil {
			return err
		}
		if !budgeted {
			return nil
		}
		return a.budgetCheck(ctx, step.TaskID, stage, next.Model, pending, llm.EstimateInputTokens(next.Messages), int64(next.MaxTokens))
	}
}

// llmFailure records an LLM failure and classifies it for Temporal: provider
// errors that may pass on retry stay retryable (honouring Retry-After) until
// the last attempt of the retry policy, which ends the task with
// llm_provider_error; others end the task with a clear reason at once.
func (a *Activities) llmFailure(ctx context.Context, step task.Step, stage string, err error) error {
	var appErr interface{ Type() string }
	if errors.As(err, &appErr) {
		return err // already classified (quota)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	n, limit := attempts(ctx)
	a.log(ctx, step).Warn("llm call failed", "stage", stage, "error", err)
	// One event per attempt: a retry of the same attempt writes the same
	// row, the next attempt its own. The first keeps the historical id.
	sub := "llm_error"
	if n > 1 {
		sub = fmt.Sprintf("llm_error/a%d", n)
	}
	_ = a.event(ctx, step, sub, task.EventLLMError, map[string]any{"stage": stage, "error": err.Error(), "attempt": n,
		"max_attempts": limit})
	return a.classifyLLMError(stage, n, limit, err)
}

// classifyLLMError turns a failed stage conversation into the activity's
// error; limit is the retry policy's attempts (0 when unknown).
func (a *Activities) classifyLLMError(stage string, n, limit int, err error) error {
	if llm.IsRefusal(err) {
		// A content-policy refusal: another attempt or model would refuse
		// the same request, so neither is tried.
		return nonRetryable(task.ErrTypeLLMRefused, "%s", a.redact.String(fmt.Sprintf(
			"The model refused the request at the %s stage on content-policy grounds; it is not retried: %s", stage, err.Error())))
	}
	if errors.Is(err, agents.ErrInvalidReply) {
		return nonRetryable(task.ErrTypeLLMInvalid, "%s", a.redact.String(err.Error()))
	}
	var pe *llm.Error
	if errors.As(err, &pe) && !pe.Retryable {
		return nonRetryable(task.ErrTypeLLMProvider, "%s", a.redact.String(pe.Error()))
	}
	if !errors.As(err, &pe) {
		if !llm.IsRetryable(err) {
			return nonRetryable(task.ErrTypeLLMProvider, "%s", a.redact.String(err.Error()))
		}
		pe = &llm.Error{Retryable: true, Message: err.Error()}
	}
	if limit > 0 && n >= limit {
		return nonRetryable(task.ErrTypeLLMProvider, "%s", a.redact.String(fmt.Sprintf(
			"The LLM provider failed at the %s stage on all %d attempts; last error: %s", stage, n, pe.Error())))
	}
	return retryableLLM(a.redact.String(transientMessage(stage, n, limit, pe)), pe.RetryAfter)
}

// transientMessage says which stage failed on which attempt; it is the task's
// error if the retries run out without this attempt knowing it was the last.
func transientMessage(stage string, n, limit int, pe *llm.Error) string {
	of := ""
	if limit > 0 {
		of = fmt.Sprintf(" of %d", limit)
	}
	return fmt.Sprintf("The LLM provider failed at the %s stage on attempt %d%s: %s", stage, n, of, pe.Error())
}

// Research asks the researcher and writes requirements.md and user_stories.md.
func (a *Activities) Research(ctx context.Context, in task.StageIn) (task.ResearchOut, error) {
	defer a.keepAlive(ctx)()
	started := task.FormatTime(a.Now())
	t, b, err := a.taskBrief(ctx, in.Step.TaskID, task.StageResearch)
	if err != nil {
		return task.ResearchOut{}, err
	}
	b.MaxQuestions = in.Plan.MaxQuestions
	defer a.liveOutput(&ctx, in.Step, task.StageResearch)()
	reply, call, err := a.Agents.Research(ctx, b, a.turn(ctx, in.Step, task.StageResearch, true))
	if err := a.settleCall(ctx, in.Step, task.StageResearch, call, started, err); err != nil {
		return task.ResearchOut{}, err
	}
	files := []workspace.File{
		{Path: "requirements.md", Content: []byte(renderRequirements(t, reply, nil))},
		{Path: "user_stories.md", Content: []byte(renderStories(reply))},
	}
	if err := a.putFiles(ctx, t.ID, files, nil); err != nil {
		return task.ResearchOut{}, err
	}
	if _, err := a.artifact(ctx, in.Step, "research", task.ArtifactResearchSummary, task.RoleResearcher, reply); err != nil {
		return task.ResearchOut{}, err
	}
	if err := a.saveSnapshot(ctx, t.ID, task.StageResearch, "requirements written", nil); err != nil {
		return task.ResearchOut{}, err
	}
	a.log(ctx, in.Step).Info("research done", "requirements", len(reply.Requirements), "open_questions", len(reply.OpenQuestions))
	out := task.ResearchOut{Requirements: len(reply.Requirements), TokensIn: call.Usage.InputTokens, TokensOut: call.Usage.OutputTokens}
	for _, q := range reply.OpenQuestions {
		if len(out.OpenQuestions) >= max(1, in.Plan.MaxQuestions) {
			break
		}
		if nq, ok := researchQuestion(q); ok {
			out.OpenQuestions = append(out.OpenQuestions, nq)
		}
	}
	return out, nil
}

// Design asks the designer for the plan and writes architecture.md and
// implementation_plan.md; requirements.md is rewritten with the answers.
func (a *Activities) Design(ctx context.Context, in task.StageIn) (task.DesignOut, error) {
	defer a.keepAlive(ctx)()
	started := task.FormatTime(a.Now())
	t, b, err := a.taskBrief(ctx, in.Step.TaskID, task.StageDesign)
	if err != nil {
		return task.DesignOut{}, err
	}
	b.Constraints = a.Codex.DesignConstraints
	defer a.liveOutput(&ctx, in.Step, task.StageDesign)()
	reply, call, err := a.Agents.Design(ctx, b, a.turn(ctx, in.Step, task.StageDesign, true), func(p string) error {
		_, err := workspace.CleanPath(p)
		return err
	})
	if err := a.settleCall(ctx, in.Step, task.StageDesign, call, started, err); err != nil {
		return task.DesignOut{}, err
	}
	var research llm.ResearchReply
	if err := a.latestPayload(ctx, t.ID, task.ArtifactResearchSummary, &research); err != nil {
		return task.DesignOut{}, err
	}
	files := []workspace.File{
		{Path: "architecture.md", Content: []byte(renderArchitecture(t, reply))},
		{Path: "implementation_plan.md", Content: []byte(renderPlan(reply))},
	}
	if len(research.Requirements) > 0 {
		files = append(files, workspace.File{Path: "requirements.md",
			Content: []byte(renderRequirements(t, research, a.questionsAsked(ctx, t.ID)))})
	}
	if err := a.putFiles(ctx, t.ID, files, nil); err != nil {
		return task.DesignOut{}, err
	}
	if _, err := a.artifact(ctx, in.Step, "design", task.ArtifactArchitecture, task.RoleDesigner, reply); err != nil {
		return task.DesignOut{}, err
	}
	if err := a.saveSnapshot(ctx, t.ID, task.StageDesign, "architecture planned", nil); err != nil {
		return task.DesignOut{}, err
	}
	a.log(ctx, in.Step).Info("design done", "components", len(reply.Components), "planned_files", len(reply.Files))
	return task.DesignOut{Files: a.plannedFiles(reply), TokensIn: call.Usage.InputTokens, TokensOut: call.Usage.OutputTokens}, nil
}

// plannedFiles is the plan the workflow works through, from the designer's
// reply: clean paths, a component and a kind for each, at most the codex's
// MaxTotalFiles. A retried run rebuilds its plan from the stored reply with
// it, so both runs plan the same files.
func (a *Activities) plannedFiles(reply llm.DesignReply) []task.PlannedFile {
	var files []task.PlannedFile
	for _, f := range reply.Files {
		clean, _ := workspace.CleanPath(f.Path)
		kind := f.Kind
		if kind == "" {
			kind = guessKind(clean)
		}
		files = append(files, task.PlannedFile{Path: clean, Component: firstNonEmpty(f.Component, "Project"), Kind: kind})
		if len(files) >= a.Codex.MaxTotalFiles {
			break
		}
	}
	return files
}

// questionsAsked returns the questions of the latest clarification round.
func (a *Activities) questionsAsked(ctx context.Context, taskID string) []task.Question {
	var payload struct {
		Questions []task.Question `json:"questions"`
	}
	if err := a.latestPayload(ctx, taskID, task.ArtifactClarificationQuestions, &payload); err != nil {
		return nil
	}
	return payload.Questions
}

func guessKind(p string) string {
	switch {
	case isTestPath(p):
		return "test"
	case strings.HasSuffix(p, ".md") || strings.HasSuffix(p, ".rst") || strings.HasSuffix(p, ".txt"):
		return "docs"
	case strings.HasSuffix(p, ".py"):
		return "source"
	}
	return "config"
}

// isTestPath matches pytest's default discovery: test_*.py and *_test.py.
func isTestPath(p string) bool {
	base := p[strings.LastIndex(p, "/")+1:]
	return strings.HasSuffix(base, ".py") && (strings.HasPrefix(base, "test_") || strings.HasSuffix(base, "_test.py"))
}

func retryableLLM(msg string, retryAfter time.Duration) error {
	return newRetryable(msg, task.ErrTypeLLMTransient, retryAfter)
}

// maxAttempts is the activity's retry-policy limit, 0 when unknown or
// unlimited.
func maxAttempts(ctx context.Context) int {
	if !activity.IsActivity(ctx) {
		return 0
	}
	if rp := activity.GetInfo(ctx).RetryPolicy; rp != nil && rp.MaximumAttempts > 0 {
		return int(rp.MaximumAttempts)
	}
	return 0
}
