package cluster

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"syscall"
	"time"
)

// Proc is one process of the cluster: started from a fixed command line and
// environment, so it can be killed and started again exactly as it was.
type Proc struct {
	Name    string
	path    string
	args    []string
	env     []string
	dir     string
	logPath string
	health  string // URL that answers 200 once the process is ready; "" = none

	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func newProc(name, path string, args []string, env map[string]string, dir, logPath, health string) *Proc {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	list := make([]string, 0, len(keys))
	for _, k := range keys {
		list = append(list, k+"="+env[k])
	}
	return &Proc{Name: name, path: path, args: args, env: list, dir: dir, logPath: logPath, health: health}
}

// Start runs the process, its output appended to its log file. The child
// gets SIGTERM when the goroutine's thread that started it dies with the
// supervisor (parent-death signal), so a killed `aiplatform cluster` leaves
// nothing behind.
func (p *Proc) Start() error {
	if p.Running() {
		return fmt.Errorf("cluster: %s is already running", p.Name)
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("cluster: log of %s: %w", p.Name, err)
	}
	fmt.Fprintf(logf, "=== %s start %s\n", p.Name, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.path, p.args...)
	cmd.Env = p.env
	cmd.Dir = p.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return fmt.Errorf("cluster: starting %s (%s): %w", p.Name, p.path, err)
	}
	p.cmd, p.done, p.err = cmd, make(chan struct{}), nil
	done := p.done
	go func() {
		p.err = cmd.Wait()
		_ = logf.Close()
		close(done)
	}()
	return nil
}

// Running says whether the process was started and has not exited.
func (p *Proc) Running() bool {
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Pid is the running process's id (0 when it is not running).
func (p *Proc) Pid() int {
	if !p.Running() {
		return 0
	}
	return p.cmd.Process.Pid
}

// Kill sends SIGKILL (no chance to clean up, as a crash) and waits.
func (p *Proc) Kill() {
	if !p.Running() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// Stop asks the process to shut down (SIGTERM) and waits up to grace, then
// kills it.
func (p *Proc) Stop(grace time.Duration) {
	if !p.Running() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.Kill()
	}
}

// Exited is closed when the process exits.
func (p *Proc) Exited() <-chan struct{} { return p.done }

// LogPath is where the process writes.
func (p *Proc) LogPath() string { return p.logPath }

// WaitReady polls the process's health URL until it answers 200, the
// process exits or ctx ends.
func (p *Proc) WaitReady(ctx context.Context) error {
	if p.health == "" {
		return nil
	}
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.health, nil)
		if err != nil {
			return fmt.Errorf("cluster: health of %s: %w", p.Name, err)
		}
		if resp, err := hc.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: %s not ready at %s (log %s): %w", p.Name, p.health, p.logPath, ctx.Err())
		case <-p.done:
			return fmt.Errorf("cluster: %s exited before it was ready (%v); see %s", p.Name, p.err, p.logPath)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
