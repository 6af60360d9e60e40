package llm

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseMarkers(t *testing.T) {
	for _, tc := range []struct {
		desc string
		want markers
	}{
		{"plain request", markers{}},
		{"[mock:clarify] and [MOCK:Review-Fail-Once]", markers{clarify: true, reviewFailOnce: true}},
		{"[mock:fail-always][mock:review-reject][mock:llm-error][mock:llm-transient]",
			markers{failAlways: true, reviewReject: true, llmError: true, transient: true}},
		{"[mock:invalid-json] [mock:invalid-always]", markers{invalidOnce: true, invalidAlways: true}},
		{"[mock:slow=3] [mock:sleepy-tests=90] [mock:big=5]", markers{slow: 3 * time.Second, sleepyTests: 90, bigMB: 5}},
		{"[mock:slow=9999] [mock:sleepy-tests=0] [mock:big=100]", markers{slow: 600 * time.Second, sleepyTests: 1, bigMB: 20}},
		{"[mock:slow] [mock:big]", markers{slow: time.Second, bigMB: 1}},
		{"[mock:refuse] [Mock:Rate-Limit-Primary]", markers{refuse: true, rateLimitPrimary: true}},
		{"[mock:unknown] [mock:slow=abc] [mock: clarify] mock:clarify", markers{}},
	} {
		if got := parseMarkers(tc.desc); got != tc.want {
			t.Errorf("%q: got %+v, want %+v", tc.desc, got, tc.want)
		}
	}
	if got := stripMarkers("a [mock:clarify] b [mock:big=2]"); strings.Join(strings.Fields(got), " ") != "a b" {
		t.Errorf("stripMarkers: %q", got)
	}
}

func TestMarkerClarify(t *testing.T) {
	p := NewMock("")
	b := Brief{Stage: "research", Description: "Notes app [mock:clarify]", MaxQuestions: 3}
	r := ask[ResearchReply](t, p, b)
	if len(r.OpenQuestions) != 1 {
		t.Fatalf("want one question, got %+v", r.OpenQuestions)
	}
	q := r.OpenQuestions[0]
	if q.ID != "scope" || q.Type != "choice" || len(q.Choices) < 2 || q.Text == "" || q.Rationale == "" {
		t.Errorf("question %+v", q)
	}
	if r := ask[ResearchReply](t, p, Brief{Stage: "research", Description: "Notes app"}); len(r.OpenQuestions) != 0 {
		t.Errorf("questions without the marker: %+v", r.OpenQuestions)
	}
	b.Answers = map[string]any{"scope": q.Choices[1]}
	if r := ask[ResearchReply](t, p, b); len(r.OpenQuestions) != 0 {
		t.Errorf("answered question asked again: %+v", r.OpenQuestions)
	}
	b.Stage, b.TargetFiles = "code", []string{"README.md", "tracker.py"}
	for _, f := range ask[CodeReply](t, p, b).Files {
		if !strings.Contains(f.Content, "Chosen scope: "+q.Choices[1]+".") {
			t.Errorf("%s does not mention the answer:\n%s", f.Path, f.Content)
		}
	}
}

func TestMarkerReviewFailOnce(t *testing.T) {
	for _, tc := range catalogCases {
		t.Run("template="+tc.template, func(t *testing.T) {
			t.Parallel()
			requirePython(t, tc.modules...)
			p := NewMock("")
			desc := tc.description + " [mock:review-fail-once]"
			pr := simulate(t, p, tc.template, desc, nil)

			// Iteration 1 (the first component) is broken: lint and tests fail.
			files := map[string]string{}
			if tc.template != "" {
				files, _ = loadTemplate(t, tc.template)
			}
			first := pr.design.Components[0]
			for _, f := range pr.codes[0].Files {
				files[f.Path] = f.Content
			}
			dir := t.TempDir()
			writeFiles(t, dir, files)
			results := pythonChecks(t, dir)
			if results["pyflakes"].ok || !strings.Contains(results["pyflakes"].output, "imported but unused") {
				t.Errorf("iteration 1 has no lint problem:\n%s", results["pyflakes"].output)
			}
			if results["pytest"].ok || !strings.Contains(results["pytest"].output, "failed") {
				t.Errorf("iteration 1 tests do not fail:\n%s", results["pytest"].output)
			}

			// The fix task gets the source back correct: the same content a
			// request without the marker gets.
			source := first.Files[0]
			b := Brief{Stage: "code", Description: desc, TemplateID: tc.template, Architecture: &pr.design,
				Iteration: 2, TaskType: TaskFixReviewIssues, TargetFiles: []string{source}, MaxFiles: 5,
				Findings:      []string{results["pyflakes"].output, results["pytest"].output},
				ExistingFiles: []FileContent{{Path: source, Content: files[source]}}}
			fixed := ask[CodeReply](t, p, b)
			b.Description, b.Iteration, b.TaskType = tc.description, 1, TaskImplementComponent
			clean := ask[CodeReply](t, p, b)
			if len(fixed.Files) != 1 || fixed.Files[0].Path != source || fixed.Files[0].Content == files[source] ||
				fixed.Files[0].Content != clean.Files[0].Content {
				t.Fatalf("fix reply %v is not the clean %s", paths(fixed.Files), source)
			}
			// A target-less fix whose findings name no file still finds the
			// broken file among the files it is shown.
			b.Description, b.Iteration, b.TaskType, b.TargetFiles = desc, 2, TaskFixReviewIssues, nil
			b.Findings, b.ExistingFiles = []string{"2 tests failed"}, pr.codes[0].Files
			if again := ask[CodeReply](t, p, b); !slices.Equal(paths(again.Files), []string{source}) ||
				again.Files[0].Content != clean.Files[0].Content {
				t.Errorf("target-less fix wrote %v", paths(again.Files))
			}
			pr.files[source] = fixed.Files[0].Content
			dir = t.TempDir()
			writeFiles(t, dir, pr.files)
			requireChecksPass(t, dir)
		})
	}
}

func TestMarkerFailAlways(t *testing.T) {
	requirePython(t)
	p := NewMock("")
	desc := "Count words [mock:fail-always]"
	pr := simulate(t, p, "python_cli", desc, nil)
	if !slices.Contains(pr.design.Components[0].Files, "tests/test_acceptance.py") {
		t.Fatalf("first component lacks the failing test: %v", pr.design.Components[0].Files)
	}
	// Asking to fix the failing test gives the same failing test back.
	b := Brief{Stage: "code", Description: desc, TemplateID: "python_cli", Architecture: &pr.design, Iteration: 5,
		TaskType: TaskFixReviewIssues, TargetFiles: []string{"tests/test_acceptance.py"}, Findings: []string{"1 failed"}}
	if again := ask[CodeReply](t, p, b); again.Files[0].Content != pr.files["tests/test_acceptance.py"] {
		t.Error("fix reply changed the always-failing test")
	}
	results := pythonChecks(t, pr.dir)
	if results["pytest"].ok || !strings.Contains(results["pytest"].output, "1 failed") {
		t.Errorf("pytest should fail exactly one test:\n%s", results["pytest"].output)
	}
	for _, name := range []string{"compileall", "pyflakes", "pycodestyle"} {
		if !results[name].ok {
			t.Errorf("%s: %s", name, results[name].output)
		}
	}
}

func TestMarkerSleepyTests(t *testing.T) {
	requirePython(t)
	pr := simulate(t, NewMock(""), "python_lib", "Validate things [mock:sleepy-tests=2]", nil)
	if !strings.Contains(pr.files["tests/test_slow.py"], "SLEEP_SECONDS = 2\n") {
		t.Fatalf("sleepy test: %q", pr.files["tests/test_slow.py"])
	}
	results := requireChecksPass(t, pr.dir)
	if took := results["pytest"].took; took < 2*time.Second {
		t.Errorf("pytest took %s, want at least 2s", took)
	}
}

func TestMarkerBig(t *testing.T) {
	p := NewMock("")
	pr := simulate(t, p, "", "Big data [mock:big=5]", nil)
	var total int
	var blobs []string
	for _, path := range sortedKeys(pr.files) {
		if strings.HasPrefix(path, "data/") {
			blobs = append(blobs, path)
			total += len(pr.files[path])
			if n := len(pr.files[path]); n > 512<<10 || !strings.HasSuffix(path, ".txt") {
				t.Errorf("%s: %d bytes", path, n)
			}
		}
	}
	if len(blobs) != 10 || total != 5<<20 || blobs[0] != "data/blob_000.txt" {
		t.Errorf("got %d data files, %d bytes: %v", len(blobs), total, blobs)
	}
	if pr.files[blobs[0]] == pr.files[blobs[1]] {
		t.Error("data files are identical")
	}
	if testing.Short() {
		return
	}
	requirePython(t)
	requireChecksPass(t, pr.dir)
}

func TestMarkerErrors(t *testing.T) {
	p := NewMock("")
	call := func(desc, stage string, attempt int) (Response, error) {
		req := briefRequest(t, Brief{Stage: stage, Description: desc})
		req.Attempt = attempt
		return p.Complete(context.Background(), req)
	}
	for _, stage := range []string{"research", "design", "review"} {
		if _, err := call("x [mock:llm-error]", stage, 1); err != nil {
			t.Errorf("llm-error broke %s: %v", stage, err)
		}
	}
	_, err := call("x [mock:llm-error]", "code", 1)
	var e *Error
	if !errors.As(err, &e) || e.Status != 401 || e.Retryable || e.Message != "invalid api key (mock)" || IsRetryable(err) {
		t.Errorf("llm-error: %v", err)
	}
	for attempt, wantErr := range map[int]bool{0: true, 1: true, 2: false, 3: false} {
		_, err := call("x [mock:llm-transient]", "design", attempt)
		if gotErr := err != nil; gotErr != wantErr || err != nil && (!errors.As(err, &e) || e.Status != 503 || !IsRetryable(err)) {
			t.Errorf("llm-transient attempt %d: %v", attempt, err)
		}
	}
	if _, err := call("x [mock:llm-transient]", "code", 1); err != nil {
		t.Errorf("llm-transient broke code: %v", err)
	}
	if r := ask[ReviewReply](t, p, Brief{Stage: "review", Description: "[mock:review-reject]"}); r.Verdict != "request_changes" || len(r.Issues) == 0 {
		t.Errorf("review-reject: %+v", r)
	}
}

func TestMarkerInvalidJSON(t *testing.T) {
	p := NewMock("")
	valid := func(desc string, followUp bool) bool {
		req := briefRequest(t, Brief{Stage: "design", Description: desc})
		resp, err := p.Complete(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if followUp {
			req.Messages = append(req.Messages, Message{Role: "assistant", Content: resp.Text},
				Message{Role: "user", Content: "That was not valid JSON. Reply with the JSON object only."})
			if resp, err = p.Complete(context.Background(), req); err != nil {
				t.Fatal(err)
			}
		}
		var d DesignReply
		text := resp.Text
		if i, j := strings.IndexByte(text, '{'), strings.LastIndexByte(text, '}'); i >= 0 && j > i {
			text = text[i : j+1] // the pipeline's lenient extraction must fail too
		}
		return json.Unmarshal([]byte(text), &d) == nil && len(d.Components) > 0
	}
	if valid("x [mock:invalid-json]", false) || !valid("x [mock:invalid-json]", true) {
		t.Error("invalid-json: want invalid first, valid after the corrective follow-up")
	}
	if valid("x [mock:invalid-always]", false) || valid("x [mock:invalid-always]", true) {
		t.Error("invalid-always: want invalid every time")
	}
	if !valid("x", false) {
		t.Error("design without markers is invalid")
	}
}

func TestMarkerSlow(t *testing.T) {
	p := NewMock("")
	req := briefRequest(t, Brief{Stage: "research", Description: "x [mock:slow=1]"})
	start := time.Now()
	if _, err := p.Complete(context.Background(), req); err != nil || time.Since(start) < time.Second {
		t.Errorf("slow=1: err %v after %s", err, time.Since(start))
	}
	req = briefRequest(t, Brief{Stage: "research", Description: "x [mock:slow=600]"})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start = time.Now()
	if _, err := p.Complete(ctx, req); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("slow=600 with a 50ms deadline: err %v after %s", err, time.Since(start))
	}
}
