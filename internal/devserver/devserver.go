// Package devserver runs the official Temporal CLI's `temporal server
// start-dev` as a child process, with a persistent SQLite file, and waits
// until it answers.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
)

// Options configure the dev server.
type Options struct {
	// Bin is the temporal CLI executable (bin/temporal, built by `make temporal`).
	Bin       string
	DBFile    string
	IP        string
	Port      int
	UIPort    int
	Namespace string
	// LogFile receives the server's output.
	LogFile string
	Logger  *slog.Logger
	// ReadyTimeout bounds the wait for the server to answer.
	ReadyTimeout time.Duration
}

// Server is a running dev server.
type Server struct {
	opts Options
	cmd  *exec.Cmd
	done chan error
	log  *os.File
}

// ErrMissingBinary means the temporal CLI is not built.
var ErrMissingBinary = errors.New("temporal CLI not found")

// Start launches the dev server and waits until its frontend answers.
func Start(ctx context.Context, o Options) (*Server, error) {
	if o.IP == "" {
		o.IP = "127.0.0.1"
	}
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 90 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if _, err := os.Stat(o.Bin); err != nil {
		return nil, fmt.Errorf("%w at %s: run `make temporal` (builds github.com/temporalio/cli v1.5.1 into bin/), "+
			"or set TEMPORAL_ADDRESS to use an existing Temporal server", ErrMissingBinary, o.Bin)
	}
	// Absolute, so the pid file and the server's command line name the
	// same file whatever the working directory of the next start.
	db, err := filepath.Abs(o.DBFile)
	if err != nil {
		return nil, fmt.Errorf("devserver: %w", err)
	}
	o.DBFile = db
	for _, dir := range []string{filepath.Dir(o.DBFile), filepath.Dir(o.LogFile)} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("devserver: %w", err)
		}
	}
	// Before the port check: a server left by a crash holds that port.
	if err := reclaim(o.DBFile, o.Logger, stopWaits{term: leftoverTermWait, kill: leftoverKillWait}); err != nil {
		return nil, err
	}
	if err := busy(o.IP, o.Port); err != nil {
		return nil, fmt.Errorf("temporal dev server port %d: %w (set TEMPORAL_DEV_PORT, or TEMPORAL_ADDRESS to use the server already there)", o.Port, err)
	}
	logf, err := os.OpenFile(o.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("devserver: opening log: %w", err)
	}
	cmd := exec.Command(o.Bin, serverArgs(o)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: Ctrl-C in the terminal reaches us, and we stop
	// the server ourselves, after the worker has drained. Pdeathsig: if we
	// die without stopping it (kill -9, OOM), the kernel kills it, so the
	// next start finds the port free. SIGKILL rather than SIGTERM because
	// nobody is left to wait for a graceful stop, and the SQLite file is
	// consistent after a kill (each commit is atomic).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	s := &Server{opts: o, cmd: cmd, done: make(chan error, 1), log: logf}
	started := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the *thread* that forked the child exits, not
		// the process (golang/go#27505), and the runtime retires idle
		// threads. This goroutine holds its thread until the server is
		// reaped, so the signal means what it says.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		err := cmd.Start()
		started <- err
		if err == nil {
			s.done <- cmd.Wait()
		}
	}()
	if err := <-started; err != nil {
		logf.Close()
		return nil, fmt.Errorf("devserver: starting %s: %w", o.Bin, err)
	}
	if err := writePidFile(o.DBFile, cmd.Process.Pid); err != nil {
		_ = s.Stop()
		return nil, err
	}
	if err := s.waitReady(ctx); err != nil {
		_ = s.Stop()
		return nil, err
	}
	o.Logger.Info("temporal dev server ready", "address", s.Address(), "ui", s.UIURL(), "db", o.DBFile, "log", o.LogFile)
	return s, nil
}

// DynamicConfig returns the settings the dev server runs with beyond
// Temporal's defaults, which are a cluster's; the dev server is one process
// with one history shard (make bench measures both, docs/PERFORMANCE.md):
//   - history.transferProcessorMaxPollRPS (default 20 per shard) paces the
//     reads of the transfer queue, through which every workflow and activity
//     task reaches its task queue. A cluster spreads that over hundreds of
//     shards; with one, every step of every workflow waited ~50 ms once the
//     limiter's burst was spent (15 no-op activities: 1.5 s instead of 0.1 s).
//     It applies only when there is work, so a higher limit costs nothing idle.
//   - matching.numTaskqueueWritePartitions (default 4): a task written to a
//     partition no poller is waiting on is forwarded to the root one, and
//     with a worker's few pollers that stalled a task for 2 s every few dozen
//     tasks. New tasks now all go to the root partition; pollers still read
//     the default 4, so a backlog an older run left in the others drains.
func DynamicConfig() []string {
	return []string{
		"history.transferProcessorMaxPollRPS=1000",
		"matching.numTaskqueueWritePartitions=1",
	}
}

// serverArgs is the command line of `temporal server start-dev`.
func serverArgs(o Options) []string {
	args := []string{"server", "start-dev", "--db-filename", o.DBFile, "--ip", o.IP,
		"--port", strconv.Itoa(o.Port), "--namespace", o.Namespace, "--log-level", "warn", "--log-format", "json"}
	if o.UIPort > 0 {
		args = append(args, "--ui-port", strconv.Itoa(o.UIPort), "--ui-ip", o.IP)
	} else {
		args = append(args, "--headless")
	}
	for _, kv := range DynamicConfig() {
		args = append(args, "--dynamic-config-value", kv)
	}
	return args
}

func busy(ip string, port int) error {
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("already in use")
	}
	return ln.Close()
}

func (s *Server) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(s.opts.ReadyTimeout)
	for {
		select {
		case err := <-s.done:
			s.done <- err
			return fmt.Errorf("temporal dev server exited early (%v); see %s", err, s.opts.LogFile)
		default:
		}
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		c, err := client.DialContext(cctx, client.Options{HostPort: s.Address(), Namespace: s.opts.Namespace,
			Logger: quietLogger{}})
		if err == nil {
			_, err = c.CheckHealth(cctx, &client.CheckHealthRequest{})
			if err == nil {
				_, err = c.WorkflowService().DescribeNamespace(cctx, describeNS(s.opts.Namespace))
			}
			c.Close()
		}
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("temporal dev server did not become ready within %s: %v (see %s)", s.opts.ReadyTimeout, err, s.opts.LogFile)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// Address is the frontend host:port.
func (s *Server) Address() string {
	return net.JoinHostPort(s.opts.IP, strconv.Itoa(s.opts.Port))
}

// Pid is the server's process id, so callers can measure its resources.
func (s *Server) Pid() int {
	if s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// UIURL is the Temporal Web UI address ("" when headless).
func (s *Server) UIURL() string {
	if s.opts.UIPort <= 0 {
		return ""
	}
	return "http://" + net.JoinHostPort(s.opts.IP, strconv.Itoa(s.opts.UIPort))
}

// Stop interrupts the server and waits for it (SIGKILL after 15 s), then
// removes its pid file: a clean stop leaves nothing for the next start.
func (s *Server) Stop() error {
	defer s.log.Close()
	if s.cmd.Process == nil {
		return nil
	}
	pid := s.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGINT)
	var err error
	select {
	case err = <-s.done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		err = <-s.done
	}
	return errors.Join(ignoreSignalExit(err), removePidFile(s.opts.DBFile, pid))
}

func ignoreSignalExit(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && (ee.ExitCode() == -1 || ee.ExitCode() == 130 || strings.Contains(ee.Error(), "signal")) {
		return nil
	}
	return err
}
