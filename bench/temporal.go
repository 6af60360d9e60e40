package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"ai-platform/internal/devserver"
)

// startDevServer runs bin/temporal start-dev with its SQLite file under dir,
// as `make run` does, on a free port.
func startDevServer(ctx context.Context, bin, dir string, log *slog.Logger) (*devserver.Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	return devserver.Start(ctx, devserver.Options{Bin: bin, DBFile: filepath.Join(dir, "temporal.db"), Port: port,
		LogFile: filepath.Join(dir, "temporal.log"), Logger: log})
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// dialTemporal connects a client with the SDK's logging silenced.
func dialTemporal(ctx context.Context, address string) (client.Client, error) {
	c, err := client.DialContext(ctx, client.Options{HostPort: address,
		Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		return nil, fmt.Errorf("dialing Temporal at %s: %w", address, err)
	}
	return c, nil
}

// The raw baseline: the smallest workflows that do what a task does at the
// Temporal level, registered on their own task queue and worker.
const (
	rawNoopWorkflow = "BenchNoopWorkflow"
	rawWaitWorkflow = "BenchWaitWorkflow"
	rawNoopActivity = "BenchNoop"
	rawQueryState   = "state"
	rawSignalInput  = "input"
	rawSignalResume = "resume"
	rawSignalStop   = "stop"
)

// NoopIn is the input of BenchNoopWorkflow.
type NoopIn struct {
	Activities int `json:"activities"`
}

// BenchNoopWorkflow runs Activities no-op activities one after the other:
// the floor under a task that runs the same number of activities.
func BenchNoopWorkflow(ctx workflow.Context, in NoopIn) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	for range in.Activities {
		if err := workflow.ExecuteActivity(ctx, rawNoopActivity).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// WaitIn is the input of BenchWaitWorkflow.
type WaitIn struct {
	// Activities run after the resume signal.
	Activities int `json:"activities"`
	// Hold keeps the workflow open after that until a stop signal.
	Hold bool `json:"hold"`
}

// WaitState is what BenchWaitWorkflow's query returns.
type WaitState struct {
	Status  string         `json:"status"`
	Answers map[string]any `json:"answers"`
}

// BenchWaitWorkflow is a task waiting for input at its simplest: a query
// handler, an input signal that stores answers and a resume signal that
// moves it to "processing".
func BenchWaitWorkflow(ctx workflow.Context, in WaitIn) error {
	st := WaitState{Status: "needs_input", Answers: map[string]any{}}
	if err := workflow.SetQueryHandler(ctx, rawQueryState, func() (WaitState, error) { return st, nil }); err != nil {
		return err
	}
	inputCh := workflow.GetSignalChannel(ctx, rawSignalInput)
	resumeCh := workflow.GetSignalChannel(ctx, rawSignalResume)
	for st.Status == "needs_input" {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(inputCh, func(c workflow.ReceiveChannel, _ bool) {
			var a map[string]any
			c.Receive(ctx, &a)
			for k, v := range a {
				st.Answers[k] = v
			}
		})
		sel.AddReceive(resumeCh, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			st.Status = "processing"
		})
		sel.Select(ctx)
	}
	if err := BenchNoopWorkflow(ctx, NoopIn{Activities: in.Activities}); err != nil {
		return err
	}
	if in.Hold {
		workflow.GetSignalChannel(ctx, rawSignalStop).Receive(ctx, nil)
	}
	st.Status = "completed"
	return nil
}

// rawWorker is a worker for the baseline workflows on a queue of its own.
type rawWorker struct {
	Queue  string
	worker worker.Worker
}

// newRawWorker builds (does not start) a worker for the baseline workflows.
func newRawWorker(c client.Client, queue string) worker.Worker {
	w := worker.New(c, queue, worker.Options{})
	registerRaw(w)
	return w
}

func registerRaw(w worker.Worker) {
	w.RegisterWorkflowWithOptions(BenchNoopWorkflow, workflow.RegisterOptions{Name: rawNoopWorkflow})
	w.RegisterWorkflowWithOptions(BenchWaitWorkflow, workflow.RegisterOptions{Name: rawWaitWorkflow})
	w.RegisterActivityWithOptions(func(context.Context) error { return nil }, activity.RegisterOptions{Name: rawNoopActivity})
}

// startRawWorker starts the baseline worker in this process.
func startRawWorker(c client.Client) (*rawWorker, error) {
	q := "bench-raw-" + uuid.NewString()[:8]
	w := newRawWorker(c, q)
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("raw worker: %w", err)
	}
	return &rawWorker{Queue: q, worker: w}, nil
}

func (r *rawWorker) stop() { r.worker.Stop() }
