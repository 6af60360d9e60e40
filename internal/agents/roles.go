package agents

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"ai-platform/internal/llm"
	"ai-platform/internal/task"
)

// Research runs the researcher.
func (a *Agents) Research(ctx context.Context, b llm.Brief, turn Turn) (llm.ResearchReply, Call, error) {
	b.Stage = task.StageResearch
	var out llm.ResearchReply
	c := a.converse(task.StageResearch, turn)
	err := c.ask(ctx, RoleResearch, b, true, &out, func() error {
		if err := researchLimits(&out); err != nil {
			return err
		}
		if len(out.Requirements) == 0 {
			return errors.New(`"requirements" must list at least one requirement`)
		}
		for i, r := range out.Requirements {
			if strings.TrimSpace(r.Text) == "" {
				return fmt.Errorf("requirement %d has no text", i+1)
			}
		}
		return nil
	})
	return out, c.call, err
}

// Design runs the designer. checkPath validates a planned path.
func (a *Agents) Design(ctx context.Context, b llm.Brief, turn Turn, checkPath func(string) error) (llm.DesignReply, Call, error) {
	b.Stage = task.StageDesign
	var out llm.DesignReply
	c := a.converse(task.StageDesign, turn)
	err := c.ask(ctx, RoleDesign, b, true, &out, func() error {
		if err := designLimits(&out); err != nil {
			return err
		}
		if len(out.Files) == 0 {
			return errors.New(`"files" must list the planned files`)
		}
		seen := map[string]bool{}
		for _, f := range out.Files {
			if err := checkPath(f.Path); err != nil {
				return fmt.Errorf("planned file %s: %v", excerpt(f.Path), err)
			}
			if seen[f.Path] {
				return fmt.Errorf("planned file %s is listed twice", excerpt(f.Path))
			}
			seen[f.Path] = true
		}
		return nil
	})
	return out, c.call, err
}

// Code runs the coder. checkFile validates each written file.
//
// A reply for several target files that is cut off at the token limit is
// not continued: the files are asked for again in batches of half the size
// (each request naming the files not yet returned), down to one file a
// request; only a single file's reply that is cut off is continued. Small
// replies keep whole files in one JSON object that is valid on its own,
// and a continuation, which the model may get subtly wrong, is needed only
// where nothing smaller can be asked for.
func (a *Agents) Code(ctx context.Context, b llm.Brief, turn Turn, checkFile func(llm.FileContent) error) (llm.CodeReply, Call, error) {
	b.Stage = task.LLMStage(task.StageImplement)
	c := a.converse(b.Stage, turn)
	remaining := slices.Clone(b.TargetFiles)
	if len(remaining) <= 1 {
		// Nothing to split: one request, continued when cut off.
		reply, err := c.code(ctx, b, true, checkFile)
		return reply, c.call, err
	}
	var out llm.CodeReply
	var summaries []string
	seen := map[string]bool{}
	batch := len(remaining)
	for len(remaining) > 0 {
		bb := b
		if batch < len(b.TargetFiles) {
			// A smaller batch than the task asked for: the brief names only
			// its files.
			bb.TargetFiles = slices.Clone(remaining[:batch])
			bb.MaxFiles = batch
		}
		reply, err := c.code(ctx, bb, batch == 1, checkFile)
		if errors.Is(err, errCut) {
			next := (batch + 1) / 2
			c.call.Truncations = append(c.call.Truncations, Truncation{Action: TruncationSplit, Requests: 1,
				Detail: fmt.Sprintf("a reply for %d files was cut off at the token limit; asking for %d file(s) a request", batch, next)})
			batch = next
			continue
		}
		if err != nil {
			return out, c.call, err
		}
		for _, f := range reply.Files {
			if !seen[f.Path] {
				seen[f.Path] = true
				out.Files = append(out.Files, f)
			}
		}
		if s := strings.TrimSpace(reply.Summary); s != "" {
			summaries = append(summaries, s)
		}
		// The batch had its turn; files of later batches that came along
		// anyway are not asked for again.
		remaining = slices.DeleteFunc(remaining[min(batch, len(remaining)):], func(p string) bool { return seen[p] })
		batch = min(batch, len(remaining))
	}
	out.Summary = strings.Join(summaries, " ")
	if err := codeLimits(&out); err != nil {
		return out, c.call, fmt.Errorf("%w at the %s stage: %v", ErrInvalidReply, b.Stage, err)
	}
	return out, c.call, nil
}

// code asks for the files of one brief.
func (c *conversation) code(ctx context.Context, b llm.Brief, cont bool, checkFile func(llm.FileContent) error) (llm.CodeReply, error) {
	var out llm.CodeReply
	err := c.ask(ctx, RoleCode, b, cont, &out, func() error {
		if err := codeLimits(&out); err != nil {
			return err
		}
		if len(out.Files) == 0 {
			return errors.New(`"files" must contain at least one file`)
		}
		for _, f := range out.Files {
			if err := checkFile(f); err != nil {
				return fmt.Errorf("file %s: %v", excerpt(f.Path), err)
			}
		}
		return nil
	})
	return out, err
}

// Review runs the model critique.
func (a *Agents) Review(ctx context.Context, b llm.Brief, turn Turn) (llm.ReviewReply, Call, error) {
	b.Stage = task.StageReview
	var out llm.ReviewReply
	c := a.converse(task.StageReview, turn)
	err := c.ask(ctx, RoleReview, b, true, &out, func() error {
		if err := reviewLimits(&out); err != nil {
			return err
		}
		if out.Verdict != "approve" && out.Verdict != "request_changes" {
			return fmt.Errorf(`"verdict" must be "approve" or "request_changes", got %s`, excerpt(out.Verdict))
		}
		return nil
	})
	return out, c.call, err
}
