package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/interceptor"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"ai-platform/internal/agents"
	"ai-platform/internal/app"
	"ai-platform/internal/app/apptest"
	"ai-platform/internal/config"
	"ai-platform/internal/runner"
	"ai-platform/internal/sandbox"
	"ai-platform/internal/sandbox/sandboxtest"
	"ai-platform/internal/task"
	"ai-platform/internal/testutil/logbuf"
	"ai-platform/internal/tracing"
	"ai-platform/workflows"
)

// TestTracingAcrossATaskAndItsResume follows one task that asks a question
// through the real platform (dev server, worker, API, mock LLM) and a
// sandbox service with a tracer of its own, as in its own process, and
// checks the spans both exported:
//   - POST /api/tasks roots the first trace: StartWorkflow, RunWorkflow,
//     the activities up to the question and their LLM requests (model and
//     token counts, no prompt text);
//   - POST /input and POST /resume each root a trace of their own holding
//     the work after them (the answers recorded; design, code, review with
//     its LLM requests and commands), each linked to the first trace;
//   - the commands' spans continue in the sandbox service, under the
//     worker's command span;
//   - no span carries the description, an answer, a prompt or the API key,
//     and the JSON logs carry the trace ids.
func TestTracingAcrossATaskAndItsResume(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	requirePython(t)
	workerSpans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(workerSpans))
	wsRoot := filepath.Join(sandboxtest.PublicDir(t), "workspaces")
	if err := os.Mkdir(wsRoot, 0o711); err != nil {
		t.Fatal(err)
	}
	sock, sandboxSpans := startTracedSandbox(t, wsRoot)
	logs := &logbuf.Buffer{}
	p := apptest.Start(t, apptest.Options{TracerProvider: tp, Log: logs, Env: map[string]string{
		"WORKSPACE_ROOT": wsRoot, "COMMAND_SANDBOX_SOCKET": sock, "COMMAND_SANDBOX": config.SandboxNone,
	}})

	const description = "notes app"
	const answer = "Keep-notes-ANSWER-5e1d in one markdown file per day"
	id := p.CreateTask(t, map[string]any{"description": description, "template_id": "python_cli"})
	waiting := p.WaitStatus(t, id, 2*time.Minute, string(task.StatusNeedsInput))
	// The required questions: free text gets the marker, a choice its first
	// choice.
	answers := map[string]any{}
	for _, q := range waiting.PendingQuestions {
		switch choices, _ := q["choices"].([]any); {
		case q["required"] != true:
		case q["type"] == task.QuestionText:
			answers[q["id"].(string)] = answer
		case q["type"] == task.QuestionChoice && len(choices) > 0:
			answers[q["id"].(string)] = choices[0]
		case q["type"] == task.QuestionMulti && len(choices) > 0:
			answers[q["id"].(string)] = choices[:1]
		}
	}
	if len(answers) == 0 {
		t.Fatalf("no required question to answer: %v", waiting.PendingQuestions)
	}
	if code, raw := p.Do(t, http.MethodPost, "/api/tasks/"+id+"/input", map[string]any{"answers": answers, "auto_resume": false}, nil); code != http.StatusOK {
		t.Fatalf("input: %d %s", code, raw)
	}
	// The workflow takes the answers in (RecordAnswers writes
	// clarification_received) before the resume is sent. The API accepts
	// /resume at once, since it decides on the task row; a resume signal
	// delivered in the same workflow task as the input would hand the
	// workflow over to the resume's trace before RecordAnswers ran, and the
	// input's trace checked below would lack it.
	waitEvent(t, p, id, task.EventClarificationReceived, answer, time.Minute)
	deadline := time.Now().Add(time.Minute)
	for {
		code, raw := p.Do(t, http.MethodPost, "/api/tasks/"+id+"/resume", nil, nil)
		if code == http.StatusOK {
			break
		}
		if code != http.StatusServiceUnavailable && code != http.StatusBadRequest || time.Now().After(deadline) {
			t.Fatalf("resume: %d %s", code, raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.WaitStatus(t, id, 4*time.Minute, string(task.StatusCompleted))
	spans := settledSpans(t, workerSpans)

	roots := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		if !s.Parent.IsValid() && strings.HasPrefix(s.Name, "POST /api/tasks") {
			roots[s.Name] = s
		}
	}
	create, input, resume := roots["POST /api/tasks"], roots["POST /api/tasks/:task_id/input"], roots["POST /api/tasks/:task_id/resume"]
	for name, s := range map[string]tracetest.SpanStub{"create": create, "input": input, "resume": resume} {
		if !s.SpanContext.IsValid() {
			t.Fatalf("no root span for the %s request; roots: %v", name, spanNames(spans, func(s tracetest.SpanStub) bool { return !s.Parent.IsValid() }))
		}
	}
	first, second, third := create.SpanContext.TraceID(), input.SpanContext.TraceID(), resume.SpanContext.TraceID()
	if first == second || first == third || second == third {
		t.Fatalf("the three requests share a trace: %s %s %s", first, second, third)
	}
	inTrace := func(id trace.TraceID) []tracetest.SpanStub {
		var out []tracetest.SpanStub
		for _, s := range spans {
			if s.SpanContext.TraceID() == id {
				out = append(out, s)
			}
		}
		return out
	}
	t1, t2, t3 := inTrace(first), inTrace(second), inTrace(third)

	// The first trace: the request starts the workflow, which runs up to the
	// question; nothing after the answers is in it.
	start := spanNamed(t, t1, "StartWorkflow:"+task.WorkflowName)
	if start.Parent.SpanID() != create.SpanContext.SpanID() {
		t.Errorf("StartWorkflow's parent is %s, want the create request %s", start.Parent.SpanID(), create.SpanContext.SpanID())
	}
	run := spanNamed(t, t1, "RunWorkflow:"+task.WorkflowName)
	if run.Parent.SpanID() != start.SpanContext.SpanID() {
		t.Errorf("RunWorkflow's parent is %s, want StartWorkflow %s", run.Parent.SpanID(), start.SpanContext.SpanID())
	}
	for _, act := range []string{task.ActPrepare, task.ActResearch} {
		spanNamed(t, t1, "RunActivity:"+act)
	}
	for _, act := range []string{task.ActDesign, task.ActCode, task.ActReviewChecks} {
		if got := spanNames(t1, func(s tracetest.SpanStub) bool { return s.Name == "RunActivity:"+act }); len(got) > 0 {
			t.Errorf("the first trace holds %s, which ran after the answers", act)
		}
	}
	checkLLMSpan(t, spanNamed(t, t1, "llm "+task.StageResearch), p.Config.LLMModel, task.StageResearch)

	// The answer's trace: its signal, linked to the first trace, and the
	// answers recorded.
	checkHandover(t, t2, "input", first)
	spanNamed(t, t2, "RunActivity:"+task.ActRecordAnswers)

	// The resume's trace: the rest of the task, its LLM requests and commands.
	checkHandover(t, t3, "resume", first)
	for _, act := range []string{task.ActDesign, task.ActCode, task.ActReviewCritique, task.ActReviewChecks, task.ActFinish} {
		spanNamed(t, t3, "RunActivity:"+act)
	}
	for _, stage := range []string{task.StageDesign, task.LLMStageCode, task.StageReview} {
		checkLLMSpan(t, spanNamed(t, t3, "llm "+stage), p.Config.LLMModel, stage)
	}
	commands := map[trace.SpanID]tracetest.SpanStub{}
	for _, s := range t3 {
		if strings.HasPrefix(s.Name, "command ") {
			commands[s.SpanContext.SpanID()] = s
			a := spanAttrs(s)
			if a["ai_platform.command.name"] == "" || a["ai_platform.command.reused"] == nil || a["ai_platform.command.duration_ms"] == nil {
				t.Errorf("command span %s lacks attributes: %v", s.Name, a)
			}
			if a["ai_platform.command.reused"] == false && a["process.exit.code"] == nil {
				t.Errorf("command span %s that ran has no exit code: %v", s.Name, a)
			}
		}
	}
	if len(commands) == 0 {
		t.Fatalf("no command span in the resume's trace: %v", spanNames(t3, func(tracetest.SpanStub) bool { return true }))
	}
	// The sandbox service's spans: children of the worker's command spans,
	// in the resume's trace. (The tool probes of the worker's start run
	// outside any request: the service traces them on their own.)
	served := 0
	for _, s := range sandboxSpans.GetSpans() {
		if !strings.HasPrefix(s.Name, "sandbox run ") || s.Name == "sandbox run probe" {
			continue
		}
		served++
		if _, ok := commands[s.Parent.SpanID()]; !ok || s.SpanContext.TraceID() != third || !s.Parent.IsRemote() {
			t.Errorf("sandbox span %s: trace %s, parent %s (remote %v); want a command span of trace %s",
				s.Name, s.SpanContext.TraceID(), s.Parent.SpanID(), s.Parent.IsRemote(), third)
		}
	}
	ran := 0
	for _, c := range commands {
		if spanAttrs(c)["ai_platform.command.reused"] == false {
			ran++
		}
	}
	if served == 0 || served != ran {
		t.Errorf("%d sandbox service spans for %d commands run", served, ran)
	}

	// Nothing a user wrote, no prompt and no key is in any span.
	prompt, err := (&agents.Agents{Prompts: p.App.Codex.Prompts}).SystemPrompt(agents.RoleDesign)
	if err != nil {
		t.Fatal(err)
	}
	forbidden := []string{description, answer, p.APIKey, firstLine(prompt)}
	for _, s := range append(spans, sandboxSpans.GetSpans()...) {
		for k, v := range spanAttrs(s) {
			for _, f := range forbidden {
				if strings.Contains(strings.ToLower(jsonText(v)), strings.ToLower(f)) {
					t.Errorf("span %s attribute %s carries %q", s.Name, k, f)
				}
			}
		}
		for _, e := range s.Events {
			for _, a := range e.Attributes {
				for _, f := range forbidden {
					if strings.Contains(a.Value.String(), f) {
						t.Errorf("span %s event %s carries %q", s.Name, e.Name, f)
					}
				}
			}
		}
	}

	// The logs: the create request's access line and an activity's lines
	// name their trace.
	checkLogTrace(t, logs.String(), func(m map[string]any) bool {
		return m["msg"] == "http request" && m["route"] == "/api/tasks" && m["method"] == http.MethodPost
	}, first)
	checkLogTrace(t, logs.String(), func(m map[string]any) bool {
		return m["activity"] == task.ActReviewChecks && m["task_id"] == id
	}, third)
}

// The tracing interceptors issue no command of their own: every recorded
// history (workflows/testdata) replays with them on, and they trace it.
func TestRecordedHistoriesReplayWithTracing(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	ics, err := tracing.New(sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))).TemporalInterceptors(app.TemporalTracing())
	if err != nil {
		t.Fatal(err)
	}
	var wis []interceptor.WorkerInterceptor
	for _, ic := range ics {
		wis = append(wis, ic.(interceptor.WorkerInterceptor))
	}
	files, err := filepath.Glob(filepath.Join(apptest.RepoRoot(), "workflows", "testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded histories: %v", err)
	}
	quiet := sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))
	traced := 0
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			spans.Reset()
			r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{Interceptors: wis})
			if err != nil {
				t.Fatal(err)
			}
			workflows.Register(r)
			if err := r.ReplayWorkflowHistoryFromJSONFile(quiet, f); err != nil {
				t.Fatalf("replaying %s with tracing: %v", f, err)
			}
			// A run that ended in its history ends its RunWorkflow span (the
			// slots histories stop with the workflow still waiting).
			if len(spanNames(spans.GetSpans(), func(s tracetest.SpanStub) bool { return strings.HasPrefix(s.Name, "RunWorkflow:") })) > 0 {
				traced++
			}
		})
	}
	if traced < len(files)/2 {
		t.Errorf("only %d of %d replays were traced", traced, len(files))
	}
}

// startTracedSandbox serves the sandbox protocol for wsRoot with a tracer
// provider of its own (the service's process exports its own spans).
func startTracedSandbox(t *testing.T, wsRoot string) (string, *tracetest.InMemoryExporter) {
	t.Helper()
	r, err := runner.New(app.RunnerConfig(config.Config{AllowedCommands: []string{"ruff", "pytest", "python", "python3"},
		CommandTimeout: time.Minute, CommandMaxOutputBytes: 20000, CommandSandbox: config.SandboxNone,
		CommandLimits: config.CommandLimits{Processes: 256, MemoryBytes: 2 << 30, WorkspaceBytes: 128 << 20,
			WorkspaceFiles: 20000, TmpBytes: 64 << 20, UID: 64000, ScratchDir: sandboxtest.PublicDir(t)}}))
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(sandboxtest.PublicDir(t), "run", "sandbox.sock")
	ln, err := sandbox.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv := &sandbox.Server{Runner: r, WorkspaceRoot: wsRoot, Log: slog.New(slog.DiscardHandler), Tracing: tracing.New(tp)}
		_ = srv.Serve(ctx, ln, time.Second)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return sock, spans
}

// settledSpans waits until no span has ended for a moment: the last
// activity and request spans end just after the task reads completed.
func settledSpans(t *testing.T, exp *tracetest.InMemoryExporter) tracetest.SpanStubs {
	t.Helper()
	n := -1
	for i := 0; i < 50; i++ {
		got := exp.GetSpans()
		if len(got) == n {
			return got
		}
		n = len(got)
		time.Sleep(200 * time.Millisecond)
	}
	return exp.GetSpans()
}

// checkHandover finds the hand-over signal's span in a later trace: under
// the request's SignalWorkflow span, linked to the task's first trace.
func checkHandover(t *testing.T, spans []tracetest.SpanStub, signal string, first trace.TraceID) {
	t.Helper()
	send := spanNamed(t, spans, "SignalWorkflow:"+signal)
	handle := spanNamed(t, spans, "HandleSignal:"+signal)
	if handle.Parent.SpanID() != send.SpanContext.SpanID() {
		t.Errorf("HandleSignal:%s's parent is %s, want SignalWorkflow %s", signal, handle.Parent.SpanID(), send.SpanContext.SpanID())
	}
	linked := false
	for _, l := range handle.Links {
		if l.SpanContext.TraceID() == first {
			for _, a := range l.Attributes {
				linked = linked || (string(a.Key) == tracing.AttrLinkReason && a.Value.AsString() == tracing.LinkFirstTrace)
			}
		}
	}
	if !linked {
		t.Errorf("HandleSignal:%s has no link to the first trace %s: %+v", signal, first, handle.Links)
	}
}

func checkLLMSpan(t *testing.T, s tracetest.SpanStub, model, stage string) {
	t.Helper()
	a := spanAttrs(s)
	if a["gen_ai.request.model"] != model || a["gen_ai.response.model"] == "" || a["ai_platform.stage"] != stage {
		t.Errorf("LLM span %s: %v", s.Name, a)
	}
	in, _ := a["gen_ai.usage.input_tokens"].(int64)
	out, _ := a["gen_ai.usage.output_tokens"].(int64)
	if in <= 0 || out <= 0 {
		t.Errorf("LLM span %s token counts %v/%v", s.Name, a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"])
	}
	if reasons, _ := a["gen_ai.response.finish_reasons"].([]string); len(reasons) != 1 {
		t.Errorf("LLM span %s finish reasons %v", s.Name, a["gen_ai.response.finish_reasons"])
	}
}

// checkLogTrace finds a JSON log line that match selects and checks it
// names a span of trace want.
func checkLogTrace(t *testing.T, logs string, match func(map[string]any) bool, want trace.TraceID) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil || !match(m) {
			continue
		}
		if m[tracing.LogTraceID] != want.String() || m[tracing.LogSpanID] == nil {
			t.Errorf("log line %s: want trace_id %s and a span_id", sc.Text(), want)
		}
		return
	}
	t.Errorf("no matching log line for trace %s", want)
}

func spanNamed(t *testing.T, spans []tracetest.SpanStub, name string) tracetest.SpanStub {
	t.Helper()
	for _, s := range spans {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no span %q among %v", name, spanNames(spans, func(tracetest.SpanStub) bool { return true }))
	return tracetest.SpanStub{}
}

func spanNames(spans []tracetest.SpanStub, keep func(tracetest.SpanStub) bool) []string {
	var out []string
	for _, s := range spans {
		if keep(s) {
			out = append(out, s.Name)
		}
	}
	return out
}

func spanAttrs(s tracetest.SpanStub) map[string]any {
	out := map[string]any{}
	for _, a := range s.Attributes {
		out[string(a.Key)] = a.Value.AsInterface()
	}
	return out
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
