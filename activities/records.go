package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"mime"
	"path"
	"slices"
	"strings"
	"unicode/utf8"

	"ai-platform/internal/agents"
	"ai-platform/internal/pricing"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
	"ai-platform/internal/workspace"
)

// event appends an event whose id derives from the step and sub, so a retry
// writes the same row. Payloads always carry task_id and request_id.
func (a *Activities) event(ctx context.Context, step task.Step, sub, typ string, payload map[string]any) error {
	e, err := a.eventRow(step, sub, typ, payload)
	if err != nil {
		return err
	}
	_, err = a.Store.AppendEvent(ctx, e)
	return storeErr(err, "appending "+typ+" event")
}

// eventRow is the event a step appends under sub: its id is stable, so a
// retried step appends it once.
func (a *Activities) eventRow(step task.Step, sub, typ string, payload map[string]any) (store.Event, error) {
	p := map[string]any{}
	for k, v := range payload {
		p[k] = v
	}
	p["task_id"] = step.TaskID
	if step.RequestID != "" {
		p["request_id"] = step.RequestID
	}
	raw, err := a.redact.JSON(p)
	if err != nil {
		return store.Event{}, fmt.Errorf("encoding %s event: %w", typ, err)
	}
	return store.Event{
		ID: StableID(step.TaskID, step.Key+"/ev/"+sub), TaskID: step.TaskID, Type: typ, Payload: raw, CreatedAt: a.Now(),
	}, nil
}

// announced tells whether storing an artifact of a type also appends an
// ArtifactAdded event.
func announced(typ string) bool { return slices.Contains(task.AnnouncedArtifacts, typ) }

// artifact appends an artifact keyed by step and sub and returns its id.
func (a *Activities) artifact(ctx context.Context, step task.Step, sub, typ, producedBy string, payload any) (string, error) {
	raw, err := a.redact.JSON(payload)
	if err != nil {
		return "", fmt.Errorf("encoding %s artifact: %w", typ, err)
	}
	id := StableID(step.TaskID, step.Key+"/art/"+sub)
	_, err = a.Store.AppendArtifact(ctx, store.Artifact{
		ID: id, TaskID: step.TaskID, Type: typ, ProducedBy: producedBy, Payload: raw, CreatedAt: a.Now(),
	})
	if err != nil {
		return "", storeErr(err, "appending "+typ+" artifact")
	}
	if announced(typ) {
		if err := a.event(ctx, step, "added/"+sub, task.EventArtifactAdded, map[string]any{"type": typ, "artifact_id": id}); err != nil {
			return "", err
		}
	}
	return id, nil
}

// usageReport is the usage_report artifact of one step: the stage
// conversation's totals and each provider request. It is written first and
// once per step; the daily charge, the task totals and the llm_usage events
// are all derived from the stored report, so a retried activity repeats
// exactly what the first one recorded.
type usageReport struct {
	Stage       string `json:"stage"`
	Provider    string `json:"provider"`
	Model       string `json:"model"`
	TokensIn    int64  `json:"tokens_in"`
	TokensOut   int64  `json:"tokens_out"`
	TotalTokens int64  `json:"total_tokens"`
	Calls       int    `json:"calls"`
	StartedAt   string `json:"started_at"`
	FinishedAt  string `json:"finished_at"`
	// CostUSD is the stage's cost: the sum of its requests' costs, each
	// rounded to the micro-dollar (package pricing), so the figures add up.
	CostUSD float64 `json:"cost_usd"`
	// Requests are the provider requests, in order (absent in reports
	// written before per-request usage was recorded).
	Requests []usageRequest `json:"requests,omitempty"`
}

// usageRequest is one provider request of a stage conversation.
type usageRequest struct {
	// Model is the model that answered, a fallback model included.
	Model       string  `json:"model"`
	TokensIn    int64   `json:"tokens_in"`
	TokensOut   int64   `json:"tokens_out"`
	TotalTokens int64   `json:"total_tokens"`
	CostUSD     float64 `json:"cost_usd"`
	// UsageSource says where the counts come from: "provider" (the
	// server's usage, the usage chunk of a stream) or "counted" (the server
	// sent none; about four bytes per token).
	UsageSource string `json:"usage_source,omitempty"`
}

// Sources of a request's usage counts.
const (
	usageFromProvider = "provider"
	usageCounted      = "counted"
)

// price sets the cost of every request of rep and of the stage from the
// price table (a model it does not price costs 0). The stage cost is summed
// in micro-dollars from the rounded request costs, never priced from the
// stage's token totals, so requests, stage, task and day agree exactly.
func (a *Activities) price(rep *usageReport) {
	if len(rep.Requests) == 0 {
		micros, _ := a.Prices.CostMicros(rep.Model, rep.TokensIn, rep.TokensOut)
		rep.CostUSD = pricing.FromMicros(micros)
		return
	}
	var total int64
	for i := range rep.Requests {
		r := &rep.Requests[i]
		micros, _ := a.Prices.CostMicros(r.Model, r.TokensIn, r.TokensOut)
		r.CostUSD = pricing.FromMicros(micros)
		total += micros
	}
	rep.CostUSD = pricing.FromMicros(total)
}

// chargeTokens records one attempt's LLM usage exactly once: the
// usage_report artifact (keyed by the step and, after the first, the
// attempt) is stored first; a repeat of the same attempt's charge finds it
// and charges and reports its numbers, never its own. Each attempt is
// charged for the requests it made, failed ones included (a reply cut off
// mid-stream was billed for what it streamed), because the provider bills
// every one. The daily charge is keyed the same way and the task's running
// total moves only when that charge is new. One llm_usage event per
// provider request, keyed by step, attempt and request index, tells the
// story per call.
func (a *Activities) chargeTokens(ctx context.Context, step task.Step, stage string, call agents.Call, started string) error {
	if call.Calls == 0 {
		return nil
	}
	// The first attempt keeps the ids a step's charge always had.
	key, sfx := step.Key, ""
	if n, _ := attempts(ctx); n > 1 {
		sfx = fmt.Sprintf("/a%d", n)
		key += sfx
	}
	rep, err := a.usageReport(ctx, step, key, stage, call, started)
	if err != nil {
		return err
	}
	inserted, err := a.Store.AddUsage(ctx, store.UsageCharge{
		ID: StableID(step.TaskID, key+"/tokens"), OwnerKey: step.OwnerKey, Day: a.Now(),
		TokensIn: rep.TokensIn, TokensOut: rep.TokensOut, CostUSD: rep.CostUSD,
	})
	if err != nil {
		return storeErr(err, "recording token usage")
	}
	if inserted {
		_, err = a.Store.UpdateTask(ctx, step.TaskID, func(t *store.Task) error {
			t.TokensIn += rep.TokensIn
			t.TokensOut += rep.TokensOut
			t.CostUSD = pricing.Add(t.CostUSD, rep.CostUSD)
			return nil
		})
		if err != nil {
			return storeErr(err, "updating task token totals")
		}
	}
	for i, ev := range usageEvents(rep) {
		// The first request keeps the id the single per-stage event had.
		// (Event ids are keyed by the event type's name.)
		sub := task.EventLLMUsage + sfx
		if i > 0 {
			sub = fmt.Sprintf("%s%s/%d", task.EventLLMUsage, sfx, i+1)
		}
		if err := a.event(ctx, step, sub, task.EventLLMUsage, ev); err != nil {
			return err
		}
	}
	return a.event(ctx, step, "added/usage_report"+sfx, task.EventArtifactAdded, map[string]any{
		"type": task.ArtifactUsageReport, "artifact_id": StableID(step.TaskID, key+"/art/usage_report"),
	})
}

// usageReport stores this attempt's report (key: the step's, with the
// attempt after the first) unless it is stored already, and returns the
// stored one.
func (a *Activities) usageReport(ctx context.Context, step task.Step, key, stage string, call agents.Call, started string) (usageReport, error) {
	rep := usageReport{
		Stage: stage, Provider: a.Provider.Name(), Model: firstNonEmpty(call.Model, a.Provider.Model()),
		TokensIn: call.Usage.InputTokens, TokensOut: call.Usage.OutputTokens,
		TotalTokens: call.Usage.InputTokens + call.Usage.OutputTokens, Calls: call.Calls,
		StartedAt: started, FinishedAt: task.FormatTime(a.Now()),
	}
	for _, r := range call.Each {
		rep.Requests = append(rep.Requests, usageRequest{
			Model: firstNonEmpty(r.Model, rep.Model), TokensIn: r.Usage.InputTokens, TokensOut: r.Usage.OutputTokens,
			TotalTokens: r.Usage.InputTokens + r.Usage.OutputTokens, UsageSource: usageFromProvider,
		})
		if r.Counted {
			rep.Requests[len(rep.Requests)-1].UsageSource = usageCounted
		}
	}
	a.price(&rep)
	raw, err := a.redact.JSON(rep)
	if err != nil {
		return rep, fmt.Errorf("encoding usage_report artifact: %w", err)
	}
	id := StableID(step.TaskID, key+"/art/usage_report")
	inserted, err := a.Store.AppendArtifact(ctx, store.Artifact{
		ID: id, TaskID: step.TaskID, Type: task.ArtifactUsageReport, ProducedBy: roleOf(stage), Payload: raw, CreatedAt: a.Now(),
	})
	if err != nil {
		return rep, storeErr(err, "appending usage_report artifact")
	}
	if inserted {
		return rep, nil
	}
	art, err := a.Store.GetArtifact(ctx, step.TaskID, id)
	if err != nil {
		return rep, storeErr(err, "loading usage_report artifact")
	}
	var stored usageReport
	if err := json.Unmarshal(art.Payload, &stored); err != nil {
		return rep, fmt.Errorf("decoding usage_report artifact: %w", err)
	}
	// A report written before costs were recorded (an activity retried
	// across the deploy) is priced now, from its own token counts.
	var costed struct {
		CostUSD *float64 `json:"cost_usd"`
	}
	if json.Unmarshal(art.Payload, &costed) == nil && costed.CostUSD == nil {
		a.price(&stored)
	}
	return stored, nil
}

// usageEvents are the llm_usage event payloads of a report: one per
// provider request (calls: 1 each, so the calls of all events add up), or
// one for the whole stage when the report predates per-request usage.
func usageEvents(rep usageReport) []map[string]any {
	base := func() map[string]any {
		return map[string]any{"stage": rep.Stage, "provider": rep.Provider, "started_at": rep.StartedAt,
			"finished_at": rep.FinishedAt, "stage_calls": rep.Calls}
	}
	if len(rep.Requests) == 0 {
		ev := base()
		ev["model"], ev["calls"] = rep.Model, rep.Calls
		ev["tokens_in"], ev["tokens_out"], ev["total_tokens"] = rep.TokensIn, rep.TokensOut, rep.TotalTokens
		ev["cost_usd"] = rep.CostUSD
		return []map[string]any{ev}
	}
	out := make([]map[string]any, 0, len(rep.Requests))
	for i, r := range rep.Requests {
		ev := base()
		ev["model"], ev["calls"], ev["call_index"] = r.Model, 1, i+1
		ev["tokens_in"], ev["tokens_out"], ev["total_tokens"] = r.TokensIn, r.TokensOut, r.TotalTokens
		ev["cost_usd"], ev["stage_cost_usd"] = r.CostUSD, rep.CostUSD
		if r.UsageSource != "" {
			ev["usage_source"] = r.UsageSource
		}
		out = append(out, ev)
	}
	return out
}

// usageByStage sums the task's usage reports per stage for the state
// document's llm_usage_summary.
func (a *Activities) usageByStage(ctx context.Context, taskID string) (map[string]any, error) {
	type sum struct{ in, out, calls, micros int64 }
	sums := map[string]*sum{}
	opts := store.ListOptions{Type: task.ArtifactUsageReport, Order: "asc", Limit: 500}
	for {
		page, err := a.Store.ListArtifacts(ctx, taskID, opts)
		if err != nil {
			return nil, storeErr(err, "listing usage reports")
		}
		for _, art := range page.Items {
			var rep usageReport
			if json.Unmarshal(art.Payload, &rep) != nil || rep.Stage == "" {
				continue
			}
			s := sums[rep.Stage]
			if s == nil {
				s = &sum{}
				sums[rep.Stage] = s
			}
			s.in, s.out, s.calls = s.in+rep.TokensIn, s.out+rep.TokensOut, s.calls+int64(rep.Calls)
			s.micros += pricing.Micros(rep.CostUSD)
		}
		if page.Next == "" || len(page.Items) == 0 {
			break
		}
		opts.After = page.Next
	}
	out := make(map[string]any, len(sums))
	for stage, s := range sums {
		out[stage] = map[string]any{"tokens_in": s.in, "tokens_out": s.out, "total_tokens": s.in + s.out, "calls": s.calls,
			"cost_usd": pricing.FromMicros(s.micros)}
	}
	return out, nil
}

// chargeCommand counts one command run against the owner's daily quota.
func (a *Activities) chargeCommand(ctx context.Context, step task.Step, sub string) error {
	_, err := a.Store.AddUsage(ctx, store.UsageCharge{
		ID: StableID(step.TaskID, step.Key+"/cmd/"+sub), OwnerKey: step.OwnerKey, Day: a.Now(), CommandRuns: 1,
	})
	return storeErr(err, "recording command run")
}

// checkQuota refuses work once the owner's daily token or command budget is spent.
func (a *Activities) checkQuota(ctx context.Context, owner string) error {
	return a.checkQuotaWith(ctx, owner, 0)
}

// checkQuotaWith is checkQuota counting pendingTokens (used by the current
// conversation, not charged yet) as used.
func (a *Activities) checkQuotaWith(ctx context.Context, owner string, pendingTokens int64) error {
	if a.MaxTokensPerDay <= 0 && a.MaxCommandRunsPerDay <= 0 {
		return nil
	}
	u, err := a.Store.GetUsage(ctx, owner, a.Now())
	if err != nil {
		return storeErr(err, "reading usage")
	}
	if used := u.TokensIn + u.TokensOut + pendingTokens; a.MaxTokensPerDay > 0 && used >= a.MaxTokensPerDay {
		return nonRetryable(task.ErrTypeQuota, "Daily token quota exceeded: %d of MAX_TOKENS_PER_DAY=%d tokens used today (UTC)",
			used, a.MaxTokensPerDay)
	}
	if a.MaxCommandRunsPerDay > 0 && u.CommandRuns >= a.MaxCommandRunsPerDay {
		return nonRetryable(task.ErrTypeQuota, "Daily command quota exceeded: %d of MAX_COMMAND_RUNS_PER_DAY=%d command runs used today (UTC)",
			u.CommandRuns, a.MaxCommandRunsPerDay)
	}
	return nil
}

// putFiles stores files (the source of truth) and then mirrors them into the
// workspace. Limits are checked atomically by the store.
func (a *Activities) putFiles(ctx context.Context, taskID string, files []workspace.File, remove []string) error {
	if len(files) == 0 && len(remove) == 0 {
		return nil
	}
	rows := make([]store.File, 0, len(files))
	for i := range files {
		files[i].Content = a.redact.Bytes(files[i].Content)
		rows = append(rows, store.File{Path: files[i].Path, Content: files[i].Content, MimeType: mimeOf(files[i].Path, files[i].Content)})
	}
	if err := a.Store.PutFiles(ctx, taskID, rows, remove, a.Limits); err != nil {
		return storeErr(err, "storing files")
	}
	dir, err := a.Workspaces.Open(taskID)
	if err != nil {
		return fmt.Errorf("opening workspace: %w", err)
	}
	defer dir.Close()
	for _, f := range files {
		if err := dir.Write(f.Path, f.Content); err != nil {
			return fmt.Errorf("writing %s to the workspace: %w", f.Path, err)
		}
	}
	for _, p := range remove {
		if err := dir.Remove(p); err != nil {
			return fmt.Errorf("removing %s from the workspace: %w", p, err)
		}
	}
	return nil
}

// workspace returns the task's workspace with exactly the stored files. A
// worker that never saw the task (or lost its disk) rebuilds it here.
func (a *Activities) workspace(ctx context.Context, taskID string) (*workspace.Dir, []store.File, error) {
	files, err := a.Store.GetFiles(ctx, taskID)
	if err != nil {
		return nil, nil, storeErr(err, "loading files")
	}
	want := make([]workspace.File, 0, len(files))
	for _, f := range files {
		want = append(want, workspace.File{Path: f.Path, Content: f.Content})
	}
	log := a.Logger.With("task_id", taskID)
	var (
		dir *workspace.Dir
		rep workspace.Report
	)
	// A workspace directory removed while it is being synced (retention, an
	// operator, a disk swap) leaves the open handle on a deleted directory;
	// opening it again rebuilds it from the store, once.
	for try := 0; ; try++ {
		dir, err = a.Workspaces.Open(taskID)
		if err != nil {
			return nil, nil, fmt.Errorf("opening workspace: %w", err)
		}
		// Generated files are capped at the codex's max_file_size, so nothing
		// larger is read back; a larger stored file (an upload) is just rewritten.
		dir.Limits.MaxFileSize = a.Codex.MaxFileSize
		rep, err = dir.Sync(ctx, want)
		if err == nil {
			break
		}
		dir.Close()
		log.Warn("workspace sync failed", "sync", rep, "error", err, "attempt", try+1)
		if try > 0 || !errors.Is(err, fs.ErrNotExist) || ctx.Err() != nil {
			return nil, nil, fmt.Errorf("syncing workspace: %w", err)
		}
	}
	// Oversized files and too-deep trees only come from generated code
	// working against the platform, so they stand out from routine cleanup
	// such as __pycache__.
	level := slog.LevelInfo
	if rep.Oversized > 0 || rep.TooDeep > 0 {
		level = slog.LevelWarn
	}
	log.Log(ctx, level, "workspace synced", "sync", rep)
	return dir, files, nil
}

func mimeOf(p string, content []byte) string {
	if t := mime.TypeByExtension(path.Ext(p)); t != "" {
		return t
	}
	switch path.Ext(p) {
	case ".py":
		return "text/x-python"
	case ".md":
		return "text/markdown"
	case ".toml", ".cfg", ".ini", ".txt", "":
		if utf8.Valid(content) {
			return "text/plain; charset=utf-8"
		}
	}
	if utf8.Valid(content) {
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

func roleOf(stage string) string {
	switch stage {
	case task.StageResearch:
		return task.RoleResearcher
	case task.StageDesign:
		return task.RoleDesigner
	case task.StageReview:
		return task.RoleReviewer
	}
	return task.RoleCoder
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
