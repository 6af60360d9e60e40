package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"ai-platform/internal/config"
	"ai-platform/internal/runner"
)

// Suite 6: what the command runner adds to `python3 -c pass` over a bare
// exec of the same interpreter, without and with the bwrap sandbox. Bare
// and runner calls alternate so both see the same machine load.
func (b *bench) suiteRunner(ctx context.Context) ([]Figure, error) {
	ws, err := os.MkdirTemp(b.work, "runner-")
	if err != nil {
		return nil, err
	}
	if ws, err = filepath.EvalSymlinks(ws); err != nil {
		return nil, err
	}
	var figs []Figure
	for _, mode := range []string{config.SandboxNone, config.SandboxBwrap} {
		r, err := runner.New(runner.Config{Allowed: []string{"python3"}, Timeout: 30 * time.Second, MaxOutput: 64 << 10, Sandbox: mode})
		if err != nil {
			b.res.Notes = append(b.res.Notes, fmt.Sprintf("6 runner: %s sandbox not usable here: %v", mode, err))
			continue
		}
		python, ok := r.Resolve("python3")
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
			res := r.Run(ctx, runner.Spec{Argv: []string{"python3", "-c", "pass"}, Dir: ws, Purpose: "bench"})
			run = append(run, time.Since(t1))
			bare = append(bare, t1.Sub(t0))
			if res.ExitCode == nil || *res.ExitCode != 0 {
				return nil, fmt.Errorf("runner (%s): %+v", mode, res)
			}
		}
		figs = append(figs, Figure{Suite: "6 runner", Name: "python3 -c pass through the runner, sandbox " + r.Sandbox(),
			Unit: "ms", Value: summarize(ms(run))}.withBase("bare exec of "+python, summarize(ms(bare))))
	}
	return figs, nil
}
