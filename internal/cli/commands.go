package cli

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

func (a *app) create(ctx context.Context, args []string) error {
	fs := a.flags("task create")
	template := fs.String("template", "", "project template id (python_cli, python_fastapi, python_lib)")
	follow := fs.Bool("follow", false, "follow the task until it ends, answering its questions")
	budgetUSD := fs.Float64("budget-usd", -1, "stop and ask before a model call could take the task's cost over this many US dollars (0 = no budget; default: the server's)")
	budgetTokens := fs.Int64("budget-tokens", -1, "the same in tokens (0 = no budget; default: the server's)")
	approvePlan := fs.Bool("approve-plan", false, "show the plan after design and wait for approval before writing code")
	pos, c, err := a.parseWithClient(fs, args, 1, 1)
	if err != nil {
		return err
	}
	body := map[string]any{"description": pos[0]}
	if *template != "" {
		body["template_id"] = *template
	}
	// Unset flags leave the fields out, so the server's defaults apply; a
	// negative value given on purpose goes to the server, which says why it
	// is wrong.
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "budget-usd":
			body["budget_usd"] = *budgetUSD
		case "budget-tokens":
			body["budget_tokens"] = *budgetTokens
		}
	})
	if *approvePlan {
		body["approve_plan"] = true
	}
	var out struct {
		TaskID string `json:"task_id"`
		Status string `json:"status"`
	}
	raw, err := c.sendJSON(ctx, http.MethodPost, "/api/tasks", nil, body, &out)
	if err != nil {
		return err
	}
	if *follow {
		if !a.json {
			fmt.Fprintf(a.stdout, "Created task %s\n", out.TaskID)
		}
		return a.follow(ctx, c, out.TaskID)
	}
	if a.json {
		return writeRaw(a.stdout, raw)
	}
	fmt.Fprintf(a.stdout, "Created task %s (%s)\nFollow it with `aiplatform task logs %s --follow` or `aiplatform task show %s`.\n",
		out.TaskID, out.Status, out.TaskID, out.TaskID)
	return nil
}

func (a *app) list(ctx context.Context, args []string) error {
	fs := a.flags("task list")
	status := fs.String("status", "", "only tasks with this status (queued, processing, needs_input, paused, completed, failed, cancelled)")
	limit := fs.Int("limit", 20, "at most this many tasks (1-100)")
	cursor := fs.String("cursor", "", "continue after a previous page (its next_cursor)")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	if *limit < 1 || *limit > 100 {
		return usageErr("--limit must be between 1 and 100")
	}
	c, err := a.newClient()
	if err != nil {
		return err
	}
	q := url.Values{"limit": {strconv.Itoa(*limit)}}
	if *status != "" {
		q.Set("status", *status)
	}
	if *cursor != "" {
		q.Set("cursor", *cursor)
	}
	var page struct {
		Tasks      []taskView `json:"tasks"`
		Total      int        `json:"total"`
		NextCursor *string    `json:"next_cursor"`
	}
	raw, err := c.getJSON(ctx, "/api/tasks", q, &page)
	if err != nil {
		return err
	}
	if a.json {
		return writeRaw(a.stdout, raw)
	}
	if len(page.Tasks) == 0 {
		fmt.Fprintln(a.stdout, "No tasks.")
		return nil
	}
	rows := make([][]string, 0, len(page.Tasks))
	for _, t := range page.Tasks {
		rows = append(rows, []string{t.ID, string(t.Status), t.stage(), strings.TrimSpace(percent(t.Progress)),
			localTime(t.CreatedAt), truncate(t.Description, 50)})
	}
	if err := table(a.stdout, []string{"ID", "STATUS", "STAGE", "PROGRESS", "CREATED", "DESCRIPTION"}, rows); err != nil {
		return err
	}
	if page.NextCursor != nil && *page.NextCursor != "" {
		fmt.Fprintf(a.stdout, "(%d of %d; more with --cursor %s)\n", len(page.Tasks), page.Total, *page.NextCursor)
	}
	return nil
}

func (a *app) show(ctx context.Context, args []string) error {
	fs := a.flags("task show")
	pos, c, err := a.parseWithClient(fs, args, 1, 1)
	if err != nil {
		return err
	}
	var t taskView
	raw, err := c.getJSON(ctx, taskPath(pos[0], ""), nil, &t)
	if err != nil {
		return notFoundTask(err, pos[0])
	}
	if a.json {
		return writeRaw(a.stdout, raw)
	}
	return describeTask(a.stdout, t)
}

// control returns the handler of cancel, pause, unpause or retry.
func (a *app) control(action string) func(context.Context, []string) error {
	return func(ctx context.Context, args []string) error {
		fs := a.flags("task " + action)
		pos, c, err := a.parseWithClient(fs, args, 1, 1)
		if err != nil {
			return err
		}
		var out struct {
			Status     string `json:"status"`
			Message    string `json:"message"`
			Generation int    `json:"generation"`
		}
		raw, err := c.sendJSON(ctx, http.MethodPost, taskPath(pos[0], "/"+action), nil, nil, &out)
		if err != nil {
			return notFoundTask(err, pos[0])
		}
		if a.json {
			return writeRaw(a.stdout, raw)
		}
		msg := fmt.Sprintf("Task %s: %s", pos[0], out.Status)
		switch {
		case out.Message != "":
			msg += " (" + out.Message + ")"
		case out.Generation > 0:
			// The new run works out where it continues; its first
			// StageStarted event names the step (retry_from).
			msg += fmt.Sprintf(" (retry %d; `task logs %s` shows the step it continues at)", out.Generation, pos[0])
		}
		fmt.Fprintln(a.stdout, msg)
		return nil
	}
}
