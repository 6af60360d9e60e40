// Command bench is `make bench`: it starts a Temporal server (the dev
// server, the real one on PostgreSQL, or each in turn: -server) and the
// platform on free ports, runs the benchmark suites, and prints one Markdown
// table of the platform's figures next to raw Temporal (or raw store)
// baselines measured in the same run on the same server. Results go to
// bench/results/latest.md and latest.json. See docs/PERFORMANCE.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
)

const (
	storePostgres = "postgres"
	storeMemory   = "memory"
)

// options are the command-line settings: sizes of each suite.
type options struct {
	root, results, aiplatform, cpuProfiles string
	pgURL                                  string
	suites                                 map[string]bool
	keep                                   bool
	// servers are the Temporal servers the server-bound suites (1-5) run
	// on, each in turn: serverDev and/or serverReal.
	servers []string

	runs          int           // repeated load runs per figure
	dur           time.Duration // length of one load run
	e2eTasks      int           // tasks per end-to-end variant
	e2eConc       int           // concurrent tasks in the with-commands variant
	capTasks      int           // tasks per concurrency-cap run
	paused        int           // tasks parked in needs_input
	resumeN       int           // of those, how many are resumed (0: all)
	workflowCache int           // WORKFLOW_CACHE_SIZE of the paused suite's worker (0: default)
	signalTasks   int           // tasks through the signal path
	runnerN       int           // command runs per runner mode
	appendRows    int           // events per append run
	appendRuns    int
	purgeTasks    int
	purgeRuns     int
}

// bench is one benchmark run's shared state.
type bench struct {
	opts   options
	root   string
	work   string
	log    *slog.Logger
	pgURL  string   // "" without PostgreSQL
	stores []string // stores for the store-sensitive suites, primary first
	// server is the kind of Temporal server the suites now running use.
	server   string
	temporal string   // shared server address (suites 1-4)
	srv      *tserver // the shared server
	client   client.Client
	raw      *rawWorker
	res      Results
	// single is the median create->completed time of one task (commands
	// skipped) per server and store (singleKey), measured by suite 3 and
	// reused by suite 4.
	single map[string]time.Duration
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "raw-worker" {
		os.Exit(rawWorkerMain(os.Args[2:]))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	suites := fs.String("suites", "1,2,3,4,5,6,7", "suites to run: 1 status read, 2 signal path, 3 end to end, 4 concurrency cap, 5 paused tasks, 6 command runner, 7 store")
	fs.StringVar(&o.root, "root", ".", "repository root")
	fs.StringVar(&o.results, "results", "bench/results", "where latest.md and latest.json go")
	fs.StringVar(&o.aiplatform, "aiplatform", "bin/aiplatform", "the platform binary, for suite 5's separate worker and API processes")
	fs.StringVar(&o.cpuProfiles, "cpuprofile", "", "directory for a CPU profile of this process per suite (API, worker and load generator)")
	fs.StringVar(&o.pgURL, "database-url", os.Getenv("BENCH_DATABASE_URL"), "PostgreSQL for the store (default $BENCH_DATABASE_URL, else "+defaultPGURL+" when it answers; \"off\" for the memory store only)")
	fs.BoolVar(&o.keep, "keep", false, "keep the scratch directory (logs of the Temporal servers and the platform)")
	fs.IntVar(&o.runs, "runs", 3, "repeated load runs per status-read figure")
	fs.DurationVar(&o.dur, "dur", 500*time.Millisecond, "length of one load run")
	fs.IntVar(&o.e2eTasks, "e2e", 20, "tasks per end-to-end variant")
	fs.IntVar(&o.e2eConc, "e2e-conc", 2, "tasks in flight in the with-commands end-to-end variant")
	fs.IntVar(&o.capTasks, "cap-tasks", 100, "tasks per concurrency-cap run")
	fs.IntVar(&o.workflowCache, "workflow-cache", 0, "WORKFLOW_CACHE_SIZE of suite 5's worker (0: the platform's default, 4 per processing slot plus 32)")
	fs.IntVar(&o.paused, "paused", 1000, "tasks parked in needs_input (10000 is the large variant; it does not fit the 10-minute budget)")
	fs.IntVar(&o.resumeN, "resume", 0, "of the parked tasks (and raw waiting workflows), how many suite 5 resumes (0: all); make bench-soak resumes 1000 of 10000")
	fs.IntVar(&o.signalTasks, "signal", 20, "tasks through the signal path")
	fs.IntVar(&o.runnerN, "runner", 100, "command runs per runner mode")
	fs.IntVar(&o.appendRows, "append-rows", 10000, "events per append run")
	fs.IntVar(&o.appendRuns, "append-runs", 5, "append runs")
	fs.IntVar(&o.purgeTasks, "purge", 10000, "expired tasks per purge run")
	fs.IntVar(&o.purgeRuns, "purge-runs", 3, "purge runs")
	server := fs.String("server", serverDev, "Temporal server for suites 1-5: dev (temporal server start-dev, SQLite), real (temporal-server 1.31.2 on PostgreSQL, as docker-compose.yml runs it; `make temporal-server`) or both (each in turn, every figure with its baseline on the same server)")
	quick := fs.Bool("quick", false, "small sizes for a smoke run (not for figures)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	servers, err := parseServers(*server)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return o, err
	}
	if slices.Contains(servers, serverReal) && o.pgURL == "off" {
		err := errors.New("-server " + *server + " needs PostgreSQL (the real server's persistence); -database-url is off")
		fmt.Fprintln(stderr, "bench:", err)
		return o, err
	}
	o.servers = servers
	if *quick {
		o.runs, o.dur, o.e2eTasks, o.capTasks, o.paused, o.signalTasks = 1, 300*time.Millisecond, 3, 12, 30, 3
		o.runnerN, o.appendRows, o.appendRuns, o.purgeTasks, o.purgeRuns = 10, 300, 2, 300, 1
	}
	o.suites = map[string]bool{}
	for _, s := range strings.Split(*suites, ",") {
		if s = strings.TrimSpace(s); s != "" {
			o.suites[s] = true
		}
	}
	return o, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b, err := newBench(ctx, opts, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	defer b.close()
	b.runAll(ctx)
	b.finish()
	dir := opts.results
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(b.root, dir)
	}
	if err := b.res.write(dir); err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	if err := b.res.Markdown(stdout); err != nil {
		return 1
	}
	for _, s := range b.res.Suites {
		if s.Error != "" {
			return 1
		}
	}
	return 0
}

func newBench(ctx context.Context, o options, stderr io.Writer) (*bench, error) {
	root, err := filepath.Abs(o.root)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return nil, fmt.Errorf("-root %s is not the repository root: %w", root, err)
	}
	work, err := os.MkdirTemp("", "aiplatform-bench-")
	if err != nil {
		return nil, err
	}
	b := &bench{opts: o, root: root, work: work, single: map[string]time.Duration{},
		log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	b.res.StartedAt = time.Now().UTC().Format(time.RFC3339)
	b.res.Machine = machineInfo(ctx, root)
	b.stores = []string{storeMemory}
	if o.pgURL != "off" {
		url := o.pgURL
		if url == "" {
			url = defaultPGURL
		}
		if v, err := pgReachable(ctx, url); err == nil {
			b.pgURL, b.res.Machine.Postgres = url, v
			b.stores = []string{storePostgres, storeMemory}
		} else if o.pgURL != "" {
			return nil, fmt.Errorf("PostgreSQL at -database-url/BENCH_DATABASE_URL does not answer: %w", err)
		} else {
			b.res.Notes = append(b.res.Notes, "PostgreSQL did not answer at "+defaultPGURL+": memory store only")
		}
	}
	b.res.Stores = b.stores
	b.res.Servers = o.servers
	if slices.Contains(o.servers, serverReal) {
		b.res.Machine.TemporalServer = firstLine(ctx, root, filepath.Join(root, "bin", "temporal-server"), "--version")
	}
	return b, nil
}

// primary is the store the single-store suites use: PostgreSQL when present.
func (b *bench) primary() string { return b.stores[0] }

// runAll runs the selected suites in an order that keeps each shared
// server's state small: store and runner first (they use no Temporal), then
// suites 1-4 on each server in turn, paused tasks (with a fresh server of
// their own) last. Each server's block runs its baselines on that server.
func (b *bench) runAll(ctx context.Context) {
	if b.opts.suites["7"] {
		for _, st := range b.stores {
			b.suite(ctx, "7 store", st, "", func(ctx context.Context) ([]Figure, error) { return b.suiteStore(ctx, st) })
		}
	}
	if b.opts.suites["6"] {
		b.suite(ctx, "6 runner", "", "", b.suiteRunner)
	}
	needShared := false
	for _, s := range []string{"1", "2", "3", "4"} {
		needShared = needShared || b.opts.suites[s]
	}
	for _, srv := range b.opts.servers {
		b.server = srv
		if needShared {
			b.sharedSuites(ctx)
		}
	}
	if b.opts.suites["5"] {
		for _, srv := range b.opts.servers {
			b.server = srv
			b.suite(ctx, "5 paused tasks", b.primary(), srv, func(ctx context.Context) ([]Figure, error) { return b.suitePaused(ctx, b.primary()) })
		}
	}
}

// sharedSuites runs suites 1-4 on one shared server of kind b.server; a
// server that does not start fails that block only.
func (b *bench) sharedSuites(ctx context.Context) {
	srv := b.server
	defer b.stopShared()
	if err := b.startShared(ctx); err != nil {
		b.log.Error("shared server", "server", srv, "error", err)
		b.res.Suites = append(b.res.Suites, SuiteRun{Suite: "setup", Server: srv, Error: err.Error()})
		return
	}
	if b.opts.suites["1"] {
		for _, st := range b.stores {
			b.suite(ctx, "1 status read", st, srv, func(ctx context.Context) ([]Figure, error) { return b.suiteStatus(ctx, st) })
		}
	}
	if b.opts.suites["2"] {
		b.suite(ctx, "2 signal path", b.primary(), srv, func(ctx context.Context) ([]Figure, error) { return b.suiteSignal(ctx, b.primary()) })
	}
	if b.opts.suites["3"] {
		for _, st := range b.stores {
			b.suite(ctx, "3 end to end", st, srv, func(ctx context.Context) ([]Figure, error) { return b.suiteE2E(ctx, st, st == b.primary()) })
		}
	}
	if b.opts.suites["4"] {
		b.suite(ctx, "4 concurrency cap", b.primary(), srv, func(ctx context.Context) ([]Figure, error) { return b.suiteCap(ctx, b.primary()) })
	}
}

// singleKey keys b.single: suite 4's ideal uses suite 3's single-task time
// on the same server and store.
func (b *bench) singleKey(store string) string { return b.server + "/" + store }

// suite runs one suite, timing it and recording its figures or its error;
// a failed suite does not stop the others. server is the Temporal server
// the suite runs on ("" for the suites that use none); every figure it
// returns is labelled with it.
func (b *bench) suite(ctx context.Context, name, store, server string, fn func(context.Context) ([]Figure, error)) {
	if ctx.Err() != nil {
		b.res.Suites = append(b.res.Suites, SuiteRun{Suite: name, Store: store, Server: server, Skipped: "interrupted"})
		return
	}
	b.log.Info("suite", "name", name, "store", store, "server", server)
	stopProfile := b.profile(name, store, server)
	cpu := b.cpuMeter()
	start := time.Now()
	figs, err := fn(ctx)
	stopProfile()
	sr := SuiteRun{Suite: name, Store: store, Server: server, Seconds: time.Since(start).Seconds(), CPU: cpu()}
	if err != nil {
		sr.Error = err.Error()
		b.log.Error("suite failed", "name", name, "store", store, "server", server, "error", err)
	}
	for i := range figs {
		figs[i].Server = server
	}
	b.res.Suites = append(b.res.Suites, sr)
	b.res.Figures = append(b.res.Figures, figs...)
	b.log.Info("suite done", "name", name, "store", store, "server", server, "seconds", int(sr.Seconds), "figures", len(figs))
}

// cpuMeter returns a func giving the CPU seconds this process (API, worker,
// load generator, raw worker) and the shared Temporal server have used since.
func (b *bench) cpuMeter() func() map[string]float64 {
	pids := map[string]int{"bench": os.Getpid()}
	if b.srv != nil {
		pids[b.srv.label] = b.srv.pid()
	}
	start := map[string]float64{}
	for k, pid := range pids {
		if v, err := cpuSeconds(pid); err == nil {
			start[k] = v
		}
	}
	return func() map[string]float64 {
		out := map[string]float64{}
		for k, v0 := range start {
			if v, err := cpuSeconds(pids[k]); err == nil {
				out[k] = v - v0
			}
		}
		return out
	}
}

// profile starts a CPU profile of this process for one suite when
// -cpuprofile is set.
func (b *bench) profile(name, store, server string) func() {
	if b.opts.cpuProfiles == "" {
		return func() {}
	}
	if err := os.MkdirAll(b.opts.cpuProfiles, 0o755); err != nil {
		b.log.Warn("cpu profile", "error", err)
		return func() {}
	}
	file := strings.NewReplacer(" ", "-").Replace(name)
	if store != "" {
		file += "-" + store
	}
	if server != "" {
		file += "-" + server
	}
	f, err := os.Create(filepath.Join(b.opts.cpuProfiles, file+".pprof"))
	if err != nil {
		b.log.Warn("cpu profile", "error", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.log.Warn("cpu profile", "error", err)
		_ = f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}

// startShared starts the server of kind b.server, a raw client and the
// baseline worker that suites 1-4 share.
func (b *bench) startShared(ctx context.Context) error {
	dir := filepath.Join(b.work, "temporal-"+b.server)
	srv, err := b.startServer(ctx, b.server, dir)
	if err != nil {
		return err
	}
	b.srv, b.temporal = srv, srv.address
	if b.client, err = dialTemporal(ctx, b.temporal); err != nil {
		return err
	}
	b.raw, err = startRawWorker(b.client)
	return err
}

func (b *bench) stopShared() {
	if b.raw != nil {
		b.raw.stop()
		b.raw = nil
	}
	if b.client != nil {
		b.client.Close()
		b.client = nil
	}
	if b.srv != nil {
		b.srv.stop()
		b.srv, b.temporal = nil, ""
	}
}

func (b *bench) finish() {
	b.res.Machine.LoadAfter = loadAvg()
	start, _ := time.Parse(time.RFC3339, b.res.StartedAt)
	b.res.Seconds = time.Since(start).Seconds()
	sortFigures(b.res.Figures, b.opts.servers)
}

func (b *bench) close() {
	b.stopShared()
	if b.opts.keep {
		b.log.Info("scratch directory kept", "dir", b.work)
		return
	}
	if err := os.RemoveAll(b.work); err != nil && !errors.Is(err, os.ErrNotExist) {
		b.log.Warn("removing the scratch directory", "error", err)
	}
}
