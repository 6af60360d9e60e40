package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"ai-platform/internal/config"
	"ai-platform/internal/runner"
	"ai-platform/internal/sandbox"
)

// Suite 6: what the command runner adds to `python3 -c pass` over a bare
// exec of the same interpreter, for each shape commands run in: no sandbox,
// bubblewrap in the worker, and bubblewrap in the sandbox service reached
// over its Unix socket (the service here runs in the bench process; the cost
// measured is the socket round trip plus the same runner). Each runs with
// every limit and the per-run workspace copy. Bare and runner calls
// alternate so both see the same machine load, with a pause after each
// runner call in which the runner starts the next sandbox ahead (the
// start-up it hides still costs CPU, just not the command's wall time).
func (b *bench) suiteRunner(ctx context.Context) ([]Figure, error) {
	root, err := os.MkdirTemp(b.work, "runner-")
	if err != nil {
		return nil, err
	}
	if root, err = filepath.EvalSymlinks(root); err != nil {
		return nil, err
	}
	ws := filepath.Join(root, "task")
	if err := os.Mkdir(ws, 0o755); err != nil {
		return nil, err
	}
	// The runs' copies go to the default scratch root, which the commands'
	// unprivileged uids can reach (the bench's work directory is private).
	newRunner := func(mode string) (*runner.Runner, error) {
		return runner.New(runner.Config{Allowed: []string{"python3"}, Timeout: 30 * time.Second, MaxOutput: 64 << 10,
			Sandbox: mode})
	}
	var figs []Figure
	for _, shape := range []string{config.SandboxNone, config.SandboxBwrap, "service"} {
		mode := shape
		if shape == "service" {
			mode = config.SandboxBwrap
		}
		r, err := newRunner(mode)
		if err != nil {
			b.res.Notes = append(b.res.Notes, fmt.Sprintf("6 runner: %s sandbox not usable here: %v", mode, err))
			continue
		}
		var ex runner.Executor = r
		if shape == "service" {
			client, stop, err := serveSandbox(ctx, r, root)
			if err != nil {
				return nil, err
			}
			defer stop()
			ex = client
		}
		python, ok := ex.Resolve("python3")
		if !ok {
			return nil, fmt.Errorf("python3 is not installed")
		}
		var bare, run []time.Duration
		for range b.opts.runnerN {
			t0 := time.Now()
			if err := exec.CommandContext(ctx, python, "-c", "pass").Run(); err != nil {
				return nil, fmt.Errorf("bare python3: %w", err)
			}
			t1 := time.Now()
			res := ex.Run(ctx, runner.Spec{Argv: []string{"python3", "-c", "pass"}, Dir: ws, Purpose: "bench"})
			run = append(run, time.Since(t1))
			bare = append(bare, t1.Sub(t0))
			if res.ExitCode == nil || *res.ExitCode != 0 {
				return nil, fmt.Errorf("runner (%s): %+v", shape, res)
			}
			// Commands arrive apart, as the review's do (a store write or
			// more between two): the runner starts the next sandbox in that
			// gap, which must not overlap the next bare exec either.
			time.Sleep(commandGap)
		}
		figs = append(figs, Figure{Suite: "6 runner", Name: "python3 -c pass through the runner, sandbox " + ex.Sandbox(),
			Unit: "ms", Value: summarize(ms(run))}.withBase("bare exec of "+python, summarize(ms(bare))))
	}
	return figs, nil
}

// commandGap separates the runs of suite 6 (see above).
const commandGap = 80 * time.Millisecond

// serveSandbox runs the sandbox service for r on a socket under root and
// returns a client of it.
func serveSandbox(ctx context.Context, r *runner.Runner, root string) (*sandbox.Client, func(), error) {
	sock := filepath.Join(root, "sandbox.sock")
	ln, err := sandbox.Listen(sock)
	if err != nil {
		return nil, nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	srv := &sandbox.Server{Runner: r, WorkspaceRoot: root, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	go func() { _ = srv.Serve(sctx, ln, time.Second) }()
	dial, dcancel := context.WithTimeout(ctx, 10*time.Second)
	defer dcancel()
	c, err := sandbox.Dial(dial, sock, root)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	return c, cancel, nil
}
