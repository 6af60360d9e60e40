package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"ai-platform/internal/cluster"
)

// The Temporal servers a figure can be measured on.
const (
	// serverDev is `temporal server start-dev` (one process, SQLite), as
	// `aiplatform run` and the tests use it.
	serverDev = "dev"
	// serverReal is temporal-server 1.31.2 on PostgreSQL, configured as
	// docker-compose.yml's temporal service (internal/cluster).
	serverReal = "real"
)

// parseServers turns -server into the servers to run on, in run order.
func parseServers(s string) ([]string, error) {
	switch strings.TrimSpace(s) {
	case "", serverDev:
		return []string{serverDev}, nil
	case serverReal:
		return []string{serverReal}, nil
	case "both":
		return []string{serverDev, serverReal}, nil
	}
	return nil, fmt.Errorf("-server %q: want dev, real or both", s)
}

// serverLabel is how a server's process is named in CPU and RSS readings.
func serverLabel(kind string) string {
	if kind == serverReal {
		return "temporal-server"
	}
	return "dev server"
}

// tserver is a Temporal server this run started.
type tserver struct {
	kind    string
	label   string // the process's name in CPU and RSS readings
	address string
	pid     func() int
	stop    func()
}

// startServer starts a fresh Temporal server of the given kind with its
// files under dir: the dev server on a SQLite file, or the real server on
// two PostgreSQL databases of its own (dropped by stop).
func (b *bench) startServer(ctx context.Context, kind, dir string) (*tserver, error) {
	if kind == serverDev {
		dev, err := startDevServer(ctx, filepath.Join(b.root, "bin", "temporal"), dir, b.log)
		if err != nil {
			return nil, err
		}
		return &tserver{kind: kind, label: serverLabel(kind), address: dev.Address(), pid: dev.Pid,
			stop: func() {
				if err := dev.Stop(); err != nil {
					b.log.Warn("stopping the dev server", "error", err)
				}
			}}, nil
	}
	if b.pgURL == "" {
		return nil, fmt.Errorf("the real Temporal server needs PostgreSQL (-database-url)")
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	db := "tbench_" + hex.EncodeToString(rnd[:])
	o := cluster.Options{RepoRoot: b.root, BinDir: filepath.Join(b.root, "bin"), DataDir: dir, PostgresURL: b.pgURL,
		DBName: db, VisibilityDBName: db + "_vis", Namespace: "default", Log: b.log}
	// Start away from the cluster test's range (27233 up) and from another
	// bench run's, so that two of them rarely probe the same ports at once.
	port, err := cluster.FreeTemporalPort(o, 17233+97*(os.Getpid()%100))
	if err != nil {
		return nil, err
	}
	o.TemporalPort = port
	c, err := cluster.New(o)
	if err != nil {
		return nil, fmt.Errorf("%w (run `make temporal-server`)", err)
	}
	stop := func() {
		c.Temporal.Stop(20 * time.Second)
		dctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := c.DropDatabases(dctx); err != nil {
			b.log.Warn("dropping the real server's databases", "db", db, "error", err)
		}
	}
	t0 := time.Now()
	if err := c.StartServer(ctx); err != nil {
		stop()
		return nil, fmt.Errorf("starting the real Temporal server: %w", err)
	}
	if err := waitNamespace(ctx, c.TemporalAddress(), time.Minute); err != nil {
		stop()
		return nil, err
	}
	b.log.Info("real Temporal server ready", "address", c.TemporalAddress(), "db", db,
		"took", time.Since(t0).Round(time.Millisecond), "log", c.Temporal.LogPath())
	return &tserver{kind: kind, label: serverLabel(kind), address: c.TemporalAddress(), pid: c.Temporal.Pid, stop: stop}, nil
}

// waitNamespace waits until a workflow can be started in the default
// namespace: right after it is registered the frontend already describes
// it, but the history service's namespace cache may not hold it yet (it
// refreshes every few seconds), and a start would fail.
func waitNamespace(ctx context.Context, address string, timeout time.Duration) error {
	c, err := dialTemporal(ctx, address)
	if err != nil {
		return err
	}
	defer c.Close()
	deadline := time.Now().Add(timeout)
	for {
		id := "bench-probe-" + uuid.NewString()
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "bench-probe"}, rawNoopWorkflow, NoopIn{})
		if err == nil {
			// Nothing polls bench-probe: the probe must not stay open.
			return c.TerminateWorkflow(ctx, id, "", "namespace probe")
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no workflow could be started on %s within %s: %w", address, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
