package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"ai-platform/internal/task"
)

// taskView is the API's task JSON (task.APIView, the type the server
// writes) with the helpers the client's output needs.
type taskView struct {
	task.APIView
}

// terminal reports whether the task has ended.
func (t taskView) terminal() bool { return t.Status.Terminal() }

func (t taskView) stage() string { return deref(t.CurrentStage) }

// reviewStatus is result.review_summary.status, when there is one.
func (t taskView) reviewStatus() string {
	var r struct {
		Review struct {
			Status string `json:"status"`
		} `json:"review_summary"`
	}
	_ = json.Unmarshal(t.Result, &r)
	return r.Review.Status
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding JSON: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// writeRaw prints a JSON body from the server, indented.
func writeRaw(w io.Writer, raw []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		_, err = fmt.Fprintf(w, "%s\n", bytes.TrimSpace(raw))
		return err
	}
	_, err := fmt.Fprintf(w, "%s\n", buf.Bytes())
	return err
}

// table writes aligned columns.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// truncate shortens s to n runes with an ellipsis, on one line.
func truncate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// localTime renders an API timestamp in the local zone.
func localTime(ts string) string {
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return ts
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// clock renders an API timestamp as a local time of day.
func clock(ts string) string {
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return ts
	}
	return t.Local().Format("15:04:05")
}

func percent(p float64) string { return fmt.Sprintf("%3.0f%%", p*100) }

// duration renders seconds as 1m05s / 12.3s.
func duration(sec float64) string {
	d := time.Duration(sec * float64(time.Second))
	if d >= time.Minute {
		return d.Round(time.Second).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

// usd renders dollars as the API rounds them (6 decimals) without trailing
// zeros beyond the cents: $0.000031, $0.30, $12.50.
func usd(v float64) string {
	s := strings.TrimRight(strconv.FormatFloat(v, 'f', 6, 64), "0")
	if i := strings.IndexByte(s, '.'); len(s)-i-1 < 2 {
		s += strings.Repeat("0", 2-(len(s)-i-1))
	}
	return "$" + s
}

// budget renders a task's budget; "" when it has none.
func budget(dollars float64, tokens int64) string {
	var parts []string
	if dollars > 0 {
		parts = append(parts, usd(dollars))
	}
	if tokens > 0 {
		parts = append(parts, fmt.Sprintf("%d tokens", tokens))
	}
	return strings.Join(parts, ", ")
}

// describeTask writes the human view of one task.
func describeTask(w io.Writer, t taskView) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	row("Task", t.ID)
	row("Status", string(t.Status))
	row("Stage", t.stage())
	row("Progress", strings.TrimSpace(percent(t.Progress)))
	row("Description", truncate(t.Description, 200))
	row("Template", deref(t.TemplateID))
	if t.MaxIterations > 0 {
		row("Iterations", fmt.Sprintf("%d of at most %d", t.Iterations, t.MaxIterations))
	}
	row("Files", fmt.Sprint(t.FilesCount))
	row("Tokens", fmt.Sprint(t.TotalTokens))
	row("Cost", usd(t.CostUSD))
	row("Budget", budget(t.BudgetUSD, t.BudgetTokens))
	if t.ApprovePlan {
		row("Plan", "waits for approval after design")
	}
	row("Review", t.reviewStatus())
	row("Failure", deref(t.FailureReason))
	row("Error", truncate(deref(t.Error), 300))
	row("Created", localTime(t.CreatedAt))
	if t.CompletedAt != nil {
		row("Ended", localTime(*t.CompletedAt))
	}
	row("Time taken", duration(t.TimeTakenSeconds))
	if len(t.PendingQuestions) > 0 && t.Status == "needs_input" {
		row("Questions", fmt.Sprintf("%d pending: answer with `aiplatform task answer %s`", len(t.PendingQuestions), t.ID))
	}
	return tw.Flush()
}
