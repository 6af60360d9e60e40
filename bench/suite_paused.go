package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"ai-platform/internal/searchattr"
	"ai-platform/internal/task"
)

// Suite 5: many tasks parked in needs_input. It has a fresh Temporal server
// of its own (of kind b.server: the dev server's RSS, or the real
// temporal-server process's) and, with PostgreSQL, runs the worker and the API as separate
// `aiplatform worker` / `aiplatform api` processes so that each one's RSS
// can be read; the memory store cannot be shared between processes, so
// without PostgreSQL the API and worker run in this process (one RSS). The
// baseline is the same number of raw waiting workflows on a worker process
// of its own, resumed with the same two signals.

// pausedSide is one measured process.
type pausedSide struct {
	name string
	pid  int
	rss  [3]float64 // before, parked, after resume
}

func (b *bench) suitePaused(ctx context.Context, kind string) ([]Figure, error) {
	n := b.opts.paused
	dir, err := os.MkdirTemp(b.work, "paused-")
	if err != nil {
		return nil, err
	}
	srv, err := b.startServer(ctx, b.server, filepath.Join(dir, "temporal"))
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	c, err := dialTemporal(ctx, srv.address)
	if err != nil {
		return nil, err
	}
	defer c.Close()

	env := platformEnv(b.root, dir)
	env["TEMPORAL_ADDRESS"] = srv.address
	env["ALLOWED_COMMANDS"] = "true"
	env["MAX_CONCURRENT_TASKS"] = "64" // parking is not what the cap is for
	if b.opts.workflowCache > 0 {
		env["WORKFLOW_CACHE_SIZE"] = fmt.Sprint(b.opts.workflowCache)
	}
	var api *apiClient
	sides := []*pausedSide{{name: srv.label, pid: srv.pid()}}
	var workerProc *proc
	if kind == storePostgres {
		url, drop, err := newSchema(ctx, b.pgURL)
		if err != nil {
			return nil, err
		}
		defer drop()
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		env["DATABASE_URL"], env["PORT"] = url, fmt.Sprint(port)
		bin, err := filepath.Abs(filepath.Join(b.root, b.opts.aiplatform))
		if err != nil {
			return nil, err
		}
		if workerProc, err = startProc("worker", bin, dir, env, "worker"); err != nil {
			return nil, fmt.Errorf("%w (run `make build`)", err)
		}
		defer workerProc.stop()
		apiProc, err := startProc("api", bin, dir, env, "api")
		if err != nil {
			return nil, err
		}
		defer apiProc.stop()
		if err := waitHTTP(ctx, apiProc, fmt.Sprintf("http://127.0.0.1:%d/health", port), time.Minute); err != nil {
			return nil, err
		}
		api = newAPIClient(fmt.Sprintf("http://127.0.0.1:%d", port), 32)
		sides = append(sides, &pausedSide{name: "worker", pid: workerProc.pid()}, &pausedSide{name: "API", pid: apiProc.pid()})
	} else {
		p, err := b.startPlatformAt(ctx, kind, srv.address, env)
		if err != nil {
			return nil, err
		}
		defer p.stop()
		api = p.api
		sides = append(sides, &pausedSide{name: "API + worker (one process, with the load generator)", pid: os.Getpid()})
	}
	rawQueue := "bench-raw-" + uuid.NewString()[:8]
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	rawProc, err := startProc("raw-worker", self, dir, map[string]string{}, "raw-worker", "-address", srv.address, "-queue", rawQueue)
	if err != nil {
		return nil, err
	}
	defer rawProc.stop()
	rawSide := &pausedSide{name: "raw worker", pid: rawProc.pid()}
	sides = append(sides, rawSide)

	measure := func(i int) error {
		time.Sleep(2 * time.Second) // let the processes settle after a burst
		for _, s := range sides {
			v, err := rssMiB(s.pid)
			if err != nil {
				return fmt.Errorf("RSS of %s: %w", s.name, err)
			}
			s.rss[i] = v
		}
		return nil
	}
	if err := measure(0); err != nil {
		return nil, err
	}
	// phaseCPU returns a func that describes the CPU seconds each process
	// used since, for the notes.
	phaseCPU := func() func() string {
		start := make([]float64, len(sides))
		for i, s := range sides {
			start[i], _ = cpuSeconds(s.pid)
		}
		return func() string {
			var parts []string
			for i, s := range sides {
				if v, err := cpuSeconds(s.pid); err == nil {
					parts = append(parts, fmt.Sprintf("%s %.0f", s.name, v-start[i]))
				}
			}
			return "CPU s: " + strings.Join(parts, ", ")
		}
	}

	// Park n raw workflows first, on the fresh server.
	t0, cpu := time.Now(), phaseCPU()
	rawIDs := make([]string, n)
	if err := forEach(ctx, n, 16, func(ctx context.Context, i int) error {
		rawIDs[i] = "bench-wait-" + uuid.NewString()
		if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: rawIDs[i], TaskQueue: rawQueue}, rawWaitWorkflow, WaitIn{}); err != nil {
			return err
		}
		_, err := queryRaw(ctx, c, rawIDs[i])
		return err
	}); err != nil {
		return nil, err
	}
	rawPark, rawParkCPU := time.Since(t0), cpu()
	if err := measure(1); err != nil {
		return nil, err
	}

	// Then park n platform tasks (the server's growth from here is theirs).
	t0, cpu = time.Now(), phaseCPU()
	ids := make([]string, n)
	if err := forEach(ctx, n, 16, func(ctx context.Context, i int) error {
		var err error
		ids[i], err = api.createTask(ctx, descClarify)
		return err
	}); err != nil {
		return nil, err
	}
	if err := waitParked(ctx, api, n, 20*time.Minute); err != nil {
		return nil, err
	}
	park, parkCPU := time.Since(t0), cpu()
	if err := measure(2); err != nil {
		return nil, err
	}

	// Resume the raw workflows first, while the platform's tasks are idle.
	// The first r of each are resumed; the others stay parked meanwhile.
	r := n
	if b.opts.resumeN > 0 && b.opts.resumeN < n {
		r = b.opts.resumeN
	}
	t0, cpu = time.Now(), phaseCPU()
	if err := forEach(ctx, r, 16, func(ctx context.Context, i int) error {
		if err := c.SignalWorkflow(ctx, rawIDs[i], "", rawSignalInput, map[string]any{"scope": "minimal"}); err != nil {
			return err
		}
		if err := c.SignalWorkflow(ctx, rawIDs[i], "", rawSignalResume, nil); err != nil {
			return err
		}
		return c.GetWorkflow(ctx, rawIDs[i], "").Get(ctx, nil)
	}); err != nil {
		return nil, err
	}
	rawResume, rawResumeCPU := time.Since(t0), cpu()

	const suite = "5 paused tasks"
	one := func(v float64) Summary { return Summary{N: 1, P50: v, P95: v, P99: v} }
	perTask := func(mib float64) float64 { return mib * 1024 / float64(n) }
	srvRSS := sides[0].rss
	figs := []Figure{
		Figure{Suite: suite, Name: fmt.Sprintf("park %d tasks: create -> all needs_input", n), Store: kind, Unit: "s",
			Value: one(park.Seconds()), Note: fmt.Sprintf("parking: %s; raw: %s (the RSS readings are 2 s after each)", parkCPU, rawParkCPU)}.
			withBase("start raw waiting workflows -> each answers a query", one(rawPark.Seconds())),
		// Named alike on every server so that the dev and real rows pair up.
		Figure{Suite: suite, Name: fmt.Sprintf("Temporal server RSS growth per parked task (%d)", n), Store: kind, Unit: "KiB",
			Value: one(perTask(srvRSS[2] - srvRSS[1])),
			Note: fmt.Sprintf("%s RSS %.0f MiB fresh, %.0f MiB with %d raw waiting workflows, %.0f MiB with %d parked tasks too",
				srv.label, srvRSS[0], srvRSS[1], n, srvRSS[2], n)}.
			withBase("per raw waiting workflow", one(perTask(srvRSS[1]-srvRSS[0]))),
	}
	for _, s := range sides[1 : len(sides)-1] {
		f := Figure{Suite: suite, Name: fmt.Sprintf("%s RSS growth per parked task (%d)", s.name, n), Store: kind, Unit: "KiB",
			Value: one(perTask(s.rss[2] - s.rss[0])),
			Note:  fmt.Sprintf("%s RSS %.0f MiB before, %.0f MiB with %d parked tasks", s.name, s.rss[0], s.rss[2], n)}
		if s.name == "worker" || sides[1].name != "worker" {
			f = f.withBase("raw worker, per raw waiting workflow", one(perTask(rawSide.rss[1]-rawSide.rss[0])))
			f.Note += fmt.Sprintf("; raw worker %.0f -> %.0f MiB", rawSide.rss[0], rawSide.rss[1])
		}
		figs = append(figs, f)
	}
	// Resume the platform's: POST /input and /resume, until none is in
	// needs_input. A raw workflow ends when resumed; a task runs its whole
	// pipeline on, which at the parking cap of 64 put up to 64 pipelines on
	// the two cores while the later resumes were measured. So the cap drops
	// to 1 first (announced as a newer worker's, as a deploy would): one
	// resumed task runs at a time and the rest wait in queued, which is
	// already "not in needs_input". Before the semaphore had its own task
	// queue it was starved here, so the resumed tasks waited in queued
	// anyway and this figure looked better than the platform was.
	ann := task.CapacityAnnouncement{Capacity: 1, StartedAt: time.Now(), Worker: "bench: resume phase"}
	if err := c.SignalWorkflow(ctx, task.SlotsWorkflowID(env["TEMPORAL_TASK_QUEUE"]), "", task.SignalCapacity, ann); err != nil {
		return figs, fmt.Errorf("lowering the cap for the resume phase: %w", err)
	}
	t0, cpu = time.Now(), phaseCPU()
	refused := &statusCounter{}
	if err := forEach(ctx, r, 16, func(ctx context.Context, i int) error {
		if err := postRetrying(ctx, api, "/api/tasks/"+ids[i]+"/input",
			map[string]any{"answers": map[string]any{"scope": "minimal"}}, refused); err != nil {
			return err
		}
		return postRetrying(ctx, api, "/api/tasks/"+ids[i]+"/resume", map[string]any{}, refused)
	}); err != nil {
		return figs, err
	}
	accepted := time.Since(t0)
	if err := waitUnparked(ctx, api, c, n-r+int(refused.gaveUp.Load()), 20*time.Minute); err != nil {
		return figs, fmt.Errorf("resuming (%s): %w", refused, err)
	}
	resume, resumeCPU := time.Since(t0), cpu()
	workerProc.stop() // the resumed tasks would run on; they are not measured

	figs = append(figs,
		Figure{Suite: suite, Name: resumeName(r, n), Store: kind,
			Unit: "s", Value: one(resume.Seconds()),
			Note: fmt.Sprintf("the %d input+resume pairs were sent in %.1f s by 16 clients (%s); %s; raw: %s",
				r, accepted.Seconds(), refused, resumeCPU, rawResumeCPU)}.
			withBase("signal input + resume -> each raw workflow completed", one(rawResume.Seconds())),
	)
	return figs, nil
}

// resumeName names the resume figure: "resume all n" when every parked task
// is resumed, "resume r of n" when the others stay parked meanwhile (the
// soak resumes 1,000 of 10,000: the resume figure, taken with the
// worker's cache and the server holding the large number, in a run that
// fits its time bound).
func resumeName(r, n int) string {
	what := fmt.Sprintf("resume all %d", n)
	if r < n {
		what = fmt.Sprintf("resume %d of %d parked", r, n)
	}
	return what + ": POST /input + /resume -> none in needs_input"
}

// postRetrying POSTs until the API stops answering 5xx (its live-state
// query timed out or found no poller: nothing was signalled, so a retry is
// what a client should do), counting those answers by status. It gives up
// after 10 tries and reports it.
func postRetrying(ctx context.Context, api *apiClient, path string, body any, refused *statusCounter) error {
	for attempt := 1; ; attempt++ {
		code, err := api.do(ctx, http.MethodPost, path, body, nil)
		if code < 500 || attempt == 10 {
			if err != nil && code >= 500 {
				refused.gaveUp.Add(1)
				return nil
			}
			return err
		}
		refused.add(code)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// statusCounter counts 5xx answers per status code.
type statusCounter struct {
	mu     sync.Mutex
	codes  map[int]int
	gaveUp atomic.Int64
}

func (c *statusCounter) add(code int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.codes == nil {
		c.codes = map[int]int{}
	}
	c.codes[code]++
}

func (c *statusCounter) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.codes) == 0 {
		return "no 5xx answers"
	}
	var parts []string
	for _, code := range []int{500, 502, 503, 504} {
		if n := c.codes[code]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d x %d", n, code))
		}
	}
	s := strings.Join(parts, ", ") + " answers retried"
	if n := c.gaveUp.Load(); n > 0 {
		s += fmt.Sprintf("; %d calls still failing after 10 tries", n)
	}
	return s
}

func queryRaw(ctx context.Context, c client.Client, id string) (WaitState, error) {
	var st WaitState
	v, err := c.QueryWorkflow(ctx, id, "", rawQueryState)
	if err != nil {
		return st, fmt.Errorf("query %s: %w", id, err)
	}
	return st, v.Get(&st)
}

// waitParked waits until n tasks are in needs_input; a failed task is an error.
func waitParked(ctx context.Context, api *apiClient, n int, timeout time.Duration) error {
	return waitFor(ctx, timeout, func() (bool, string, error) {
		c, err := statusCounts(ctx, api)
		if err != nil {
			return false, "", err
		}
		if c["failed"] > 0 {
			return false, "", fmt.Errorf("%d tasks failed while parking", c["failed"])
		}
		return c["needs_input"] >= n, fmt.Sprint(c), nil
	})
}

// waitUnparked waits until at most left tasks are in needs_input, in the
// store and in the workflows themselves: /resume writes queued into the row
// as it signals, so the row alone would say "resumed" before any workflow
// took its resume in; the TaskStatus search attribute is what each workflow
// upserts when it does.
func waitUnparked(ctx context.Context, api *apiClient, tc client.Client, left int, timeout time.Duration) error {
	return waitFor(ctx, timeout, func() (bool, string, error) {
		c, err := statusCounts(ctx, api)
		if err != nil {
			return false, "", err
		}
		resp, err := tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Query: searchattr.NameStatus + " = '" + string(task.StatusNeedsInput) + "' AND ExecutionStatus = 'Running'"})
		if err != nil {
			return false, "", fmt.Errorf("counting waiting workflows: %w", err)
		}
		waiting := int(resp.GetCount())
		return c["needs_input"] <= left && waiting <= left, fmt.Sprintf("%v workflows waiting %d", c, waiting), nil
	})
}

// stallAfter is how long the task counts may stay the same before a wait
// gives up: a stall is a finding, not something to wait out.
const stallAfter = 90 * time.Second

// waitFor polls check until it reports done, fails, times out, or its
// progress string stops changing for stallAfter.
func waitFor(ctx context.Context, timeout time.Duration, check func() (done bool, progress string, err error)) error {
	deadline := time.Now().Add(timeout)
	last, since := "", time.Now()
	for {
		done, progress, err := check()
		if err != nil || done {
			return err
		}
		if progress != last {
			last, since = progress, time.Now()
		}
		if time.Since(since) > stallAfter {
			return fmt.Errorf("stalled for %s at %s", stallAfter, progress)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not done after %s: %s", timeout, progress)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// statusCounts counts the client's tasks in the non-terminal statuses and
// in failed.
func statusCounts(ctx context.Context, api *apiClient) (map[string]int, error) {
	out := map[string]int{}
	for _, st := range []string{"queued", "processing", "needs_input", "failed"} {
		n, err := countTasks(ctx, api, st)
		if err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, nil
}

// countTasks is the number of the client's tasks in a status (the list's total).
func countTasks(ctx context.Context, api *apiClient, status string) (int, error) {
	var page struct {
		Total int `json:"total"`
	}
	_, err := api.do(ctx, http.MethodGet, "/api/tasks?limit=1&status="+status, nil, &page)
	return page.Total, err
}
