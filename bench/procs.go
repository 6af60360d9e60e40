package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"
)

// proc is a child process the benchmark started (and must stop).
type proc struct {
	once sync.Once
	name string
	cmd  *exec.Cmd
	done chan error
	log  *os.File
}

// startProc runs bin with args and exactly env (plus PATH and HOME), in dir
// so that no .env file is picked up, with output to dir/<name>.log.
func startProc(name, bin, dir string, env map[string]string, args ...string) (*proc, error) {
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan error, 1), log: logf}
	go func() { p.done <- cmd.Wait() }()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// alive reports an early exit as an error naming the log.
func (p *proc) alive() error {
	select {
	case err := <-p.done:
		p.done <- err
		return fmt.Errorf("%s exited early (%v); see %s", p.name, err, p.log.Name())
	default:
		return nil
	}
}

// stop sends SIGINT and waits, then SIGKILL after 20 s; later calls do nothing.
func (p *proc) stop() {
	if p == nil {
		return
	}
	p.once.Do(func() {
		defer p.log.Close()
		_ = syscall.Kill(p.pid(), syscall.SIGINT)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
			<-p.done
		}
	})
}

// waitHTTP polls url until it answers 200 or the process dies.
func waitHTTP(ctx context.Context, p *proc, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if err := p.alive(); err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not answer %s within %s", p.name, url, timeout)
}

// rawWorkerMain is `bench raw-worker`: the baseline worker as a process of
// its own, so its memory can be measured apart from everything else.
func rawWorkerMain(args []string) int {
	fs := flag.NewFlagSet("raw-worker", flag.ContinueOnError)
	address := fs.String("address", "", "Temporal frontend")
	queue := fs.String("queue", "", "task queue")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *address == "" || *queue == "" {
		fmt.Fprintln(os.Stderr, "raw-worker: -address and -queue are required")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := dialTemporal(ctx, *address)
	if err != nil {
		fmt.Fprintln(os.Stderr, "raw-worker:", err)
		return 1
	}
	defer c.Close()
	w := newRawWorker(c, *queue)
	if err := w.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "raw-worker:", err)
		return 1
	}
	<-ctx.Done()
	w.Stop()
	if errors.Is(ctx.Err(), context.Canceled) {
		return 0
	}
	return 1
}
