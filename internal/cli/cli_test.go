package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

// result is one in-process run of the client.
type result struct {
	code        int
	out, errOut string
}

// envOf makes an Env from a map; HOME defaults to a fresh temp dir so no
// test ever reads or writes the real user's credentials.
func envOf(t *testing.T, m map[string]string) Env {
	t.Helper()
	vars := map[string]string{"HOME": t.TempDir()}
	for k, v := range m {
		vars[k] = v
	}
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func runCLI(t *testing.T, env Env, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), args, strings.NewReader(stdin), &out, &errOut, env)
	return result{code: code, out: out.String(), errOut: errOut.String()}
}

func TestParseTakesFlagsAnywhere(t *testing.T) {
	cases := []struct {
		args    []string
		pos     []string
		follow  bool
		tmpl    string
		wantErr bool
	}{
		{args: []string{"a b", "--follow"}, pos: []string{"a b"}, follow: true},
		{args: []string{"--template", "python_cli", "desc"}, pos: []string{"desc"}, tmpl: "python_cli"},
		{args: []string{"desc", "--template=python_lib", "--follow"}, pos: []string{"desc"}, follow: true, tmpl: "python_lib"},
		{args: []string{"--", "--not-a-flag"}, pos: []string{"--not-a-flag"}},
		{args: []string{"one", "two"}, wantErr: true},
		{args: []string{}, wantErr: true},
		{args: []string{"x", "--bogus"}, wantErr: true},
	}
	for _, c := range cases {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(&bytes.Buffer{})
		follow := fs.Bool("follow", false, "")
		tmpl := fs.String("template", "", "")
		pos, err := parse(fs, c.args, 1, 1)
		if (err != nil) != c.wantErr {
			t.Errorf("%q: error %v, want error %v", c.args, err, c.wantErr)
			continue
		}
		if err == nil && (!reflect.DeepEqual(pos, c.pos) || *follow != c.follow || *tmpl != c.tmpl) {
			t.Errorf("%q: pos %q follow %v template %q", c.args, pos, *follow, *tmpl)
		}
	}
}

func TestParseAnswerValidatesLocally(t *testing.T) {
	text := question{ID: "t", Type: "text", Required: true}
	choiceQ := question{ID: "c", Type: "choice", Choices: []string{"text", "json"}}
	multi := question{ID: "m", Type: "multi", Choices: []string{"a", "b", "c"}, Required: true}
	bare := question{ID: "b", Type: "choice"} // no choices: answered as text
	cases := []struct {
		q        question
		line     string
		required bool
		want     any
		skip     bool
		errText  string
	}{
		{q: text, line: "  Count words  ", required: true, want: "Count words"},
		{q: text, line: "", required: true, errText: "required"},
		{q: text, line: "", required: false, skip: true},
		{q: text, line: strings.Repeat("x", maxAnswerChars+1), errText: "at most 4000"},
		{q: choiceQ, line: "2", want: "json"},
		{q: choiceQ, line: "JSON", want: "json"},
		{q: choiceQ, line: "3", errText: "from 1 to 2"},
		{q: choiceQ, line: "yaml", errText: "not a choice"},
		{q: choiceQ, line: "", skip: true},
		{q: multi, line: "1, 3,1", required: true, want: []string{"a", "c"}},
		{q: multi, line: " , ", required: true, errText: "at least one"},
		{q: multi, line: "1,9", required: true, errText: "from 1 to 3"},
		{q: bare, line: "anything", want: "anything"},
	}
	for _, c := range cases {
		v, skip, err := parseAnswer(c.q, c.line, c.required)
		switch {
		case c.errText != "":
			if err == nil || !strings.Contains(err.Error(), c.errText) {
				t.Errorf("%s %q: error %v, want %q", c.q.ID, c.line, err, c.errText)
			}
		case err != nil:
			t.Errorf("%s %q: %v", c.q.ID, c.line, err)
		case skip != c.skip || (!skip && !reflect.DeepEqual(v, c.want)):
			t.Errorf("%s %q: %#v skip=%v, want %#v skip=%v", c.q.ID, c.line, v, skip, c.want, c.skip)
		}
	}
}

const someID = "6f1d2c3b-0000-4000-8000-000000000001"

// TestErrorMessages checks what a user reads for each kind of HTTP failure.
func TestErrorMessages(t *testing.T) {
	var status int
	var body, retryAfter string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	const key = "sk-secret-test-key"
	cases := []struct {
		name       string
		status     int
		body       string
		retryAfter string
		args       []string
		want       []string
	}{
		{"401", 401, `{"detail":"Invalid API key"}`, "", []string{"task", "list"},
			[]string{"not authenticated (401): Invalid API key", "Check AIPLATFORM_API_KEY"}},
		{"404", 404, `{"detail":"Task not found"}`, "", []string{"task", "show", someID},
			[]string{"not found (404): task " + someID + " not found", "other API keys"}},
		{"409", 409, `{"detail":{"error":"task_already_finished","message":"The task has already ended as completed","status":"completed"}}`, "",
			[]string{"task", "pause", someID}, []string{"conflict (409): The task has already ended as completed"}},
		{"429", 429, `{"detail":{"error":"rate_limited","retry_after":17,"message":"Too many requests; retry after 17 seconds"}}`, "17",
			[]string{"task", "create", "x"}, []string{"rate limited (429): Too many requests", "retry in 17s (at "}},
		{"503", 503, `{"detail":"The workflow service (Temporal) is not reachable right now; try again shortly"}`, "5",
			[]string{"task", "list"}, []string{"temporarily unavailable (503): The workflow service (Temporal) is not reachable", "retry in 5s (at "}},
		{"502 html", 502, `<html>bad gateway</html>`, "", []string{"task", "list"},
			[]string{"the server answered 502: the server is unavailable right now"}},
		{"400 answers", 400, `{"detail":{"error":"invalid_answers","message":"Some answers do not fit","problems":{"scope":"not a choice"}}}`, "",
			[]string{"task", "cancel", someID}, []string{"the server answered 400: Some answers do not fit", "scope: not a choice"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body, retryAfter = c.status, c.body, c.retryAfter
			r := runCLI(t, envOf(t, map[string]string{"AIPLATFORM_URL": srv.URL, "AIPLATFORM_API_KEY": key}), "", c.args...)
			if r.code != ExitError {
				t.Errorf("exit %d, want %d", r.code, ExitError)
			}
			for _, w := range c.want {
				if !strings.Contains(r.errOut, w) {
					t.Errorf("stderr %q lacks %q", r.errOut, w)
				}
			}
			if strings.Contains(r.out+r.errOut, key) {
				t.Error("the API key was printed")
			}
		})
	}
	t.Run("json", func(t *testing.T) {
		status, body, retryAfter = 429, `{"detail":{"error":"rate_limited","retry_after":5,"message":"slow down"}}`, "5"
		r := runCLI(t, envOf(t, map[string]string{"AIPLATFORM_URL": srv.URL}), "", "task", "list", "--json")
		var out struct {
			Error struct {
				Status     int    `json:"status"`
				Code       string `json:"code"`
				RetryAfter int    `json:"retry_after"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(r.out), &out); err != nil || out.Error.Status != 429 || out.Error.Code != "rate_limited" ||
			out.Error.RetryAfter != 5 || r.code != ExitError {
			t.Fatalf("exit %d, stdout %q (%v)", r.code, r.out, err)
		}
	})
}

func TestServerNotReachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	r := runCLI(t, envOf(t, map[string]string{"AIPLATFORM_URL": "http://" + addr}), "", "task", "list")
	if r.code != ExitError || !strings.Contains(r.errOut, "cannot reach the ai-platform server at http://"+addr+": connection refused") {
		t.Fatalf("exit %d, stderr %q", r.code, r.errOut)
	}
}

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		code int
		want string
	}{
		{[]string{"task"}, nil, ExitUsage, "Usage:"},
		{[]string{"task", "frobnicate"}, nil, ExitUsage, `unknown task command "frobnicate"`},
		{[]string{"task", "show"}, nil, ExitUsage, "takes 1 argument(s), got 0"},
		{[]string{"task", "list", "--limit", "500"}, nil, ExitUsage, "--limit must be between 1 and 100"},
		{[]string{"task", "list"}, map[string]string{"AIPLATFORM_URL": "ftp://x"}, ExitUsage, "is not an http(s) URL"},
		{[]string{"task", "list"}, map[string]string{"AIPLATFORM_URL": "http://u:p@x"}, ExitUsage, "must not contain credentials"},
		{[]string{"task", "--help"}, nil, ExitOK, "Exit codes:"},
	}
	for _, c := range cases {
		r := runCLI(t, envOf(t, c.env), "", c.args...)
		if r.code != c.code || !strings.Contains(r.out+r.errOut, c.want) {
			t.Errorf("%q: exit %d, output %q %q; want %d and %q", c.args, r.code, r.out, r.errOut, c.code, c.want)
		}
	}
}

func TestEventSummaries(t *testing.T) {
	cases := []struct {
		typ     string
		payload string
		want    string
	}{
		{"StageStarted", `{"stage":"research","task_id":"x"}`, "research"},
		{"StageStarted", `{"stage":"initializing","retry_from":"gate"}`, "initializing (retry continues at gate)"},
		{"command_finished", `{"purpose":"tests","exit_code":0,"duration_seconds":1.234}`, "tests: exit 0 in 1.23s"},
		{"code_generated", `{"iteration":2,"task_type":"implement_component","files":["a.py","b.py"]}`, "iteration 2 implement_component: a.py, b.py"},
		{"ProgressUpdate", `{"status":"processing","current_stage":"","progress":0.1}`, "processing 10%"},
		{"llm_usage", `{"stage":"design","model":"gpt-4o-mini","calls":1,"tokens_in":1200,"tokens_out":300,"cost_usd":0.00036}`,
			"design (gpt-4o-mini): 1 call(s), 1200 tokens in, 300 out, $0.00036"},
		{"llm_usage", `{"stage":"design","calls":2,"tokens_in":10,"tokens_out":3}`, "design: 2 call(s), 10 tokens in, 3 out"},
		{"task_cancelled", `{"failure_reason":"cancelled_by_user","task_id":"x","request_id":"y","cancelled_at":"z"}`, "failure_reason=cancelled_by_user"},
	}
	for _, c := range cases {
		var p map[string]any
		if err := json.Unmarshal([]byte(c.payload), &p); err != nil {
			t.Fatal(err)
		}
		if got := eventSummary(event{Type: c.typ, Payload: p}); got != c.want {
			t.Errorf("%s: %q, want %q", c.typ, got, c.want)
		}
	}
}

func TestTaskShowsCostAndBudget(t *testing.T) {
	for v, want := range map[float64]string{0: "$0.00", 0.000031: "$0.000031", 0.3: "$0.30", 12.5: "$12.50", 1.234568: "$1.234568"} {
		if got := usd(v); got != want {
			t.Errorf("usd(%v) = %q, want %q", v, got, want)
		}
	}
	var tv taskView
	tv.ID, tv.Status, tv.TotalTokens = "t1", "processing", 1500
	tv.CostUSD, tv.BudgetUSD, tv.BudgetTokens, tv.ApprovePlan = 0.00042, 0.5, 20000, true
	var b strings.Builder
	if err := describeTask(&b, tv); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Tokens: 1500", "Cost: $0.00042", "Budget: $0.50, 20000 tokens",
		"Plan: waits for approval after design"} {
		if !strings.Contains(strings.Join(strings.Fields(b.String()), " "), want) {
			t.Errorf("task view lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	tv.BudgetUSD, tv.BudgetTokens, tv.ApprovePlan = 0, 0, false
	_ = describeTask(&b, tv)
	if strings.Contains(b.String(), "Budget") || strings.Contains(b.String(), "Plan:") {
		t.Errorf("no budget and no approval still shown:\n%s", b.String())
	}
}
