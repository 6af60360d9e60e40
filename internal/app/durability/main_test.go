// Package durability_test proves that tasks survive what production throws
// at them, on a real Temporal dev server with a persistent database file, the
// PostgreSQL store, the HTTP API in the test process and the worker as a
// separate `aiplatform worker` process built from this tree:
//
//   - kill_test.go (build tag durability, `make test-durability`): SIGKILL
//     of the worker during an LLM call, a command run and file persistence;
//   - restart_test.go: every process stopped and started while a task waits
//     for answers;
//   - continue_test.go, payload_test.go, workspace_test.go, signals_test.go:
//     continue-as-new, payload sizes, a lost workspace, busy and duplicate
//     signals;
//   - workers_test.go (build tag durability): SIGTERM of one of two workers
//     during a long LLM call, and the concurrency slots across a restart of
//     every process with two workers;
//   - histories_test.go: records workflows/testdata (UPDATE_HISTORIES=1);
//   - bench_test.go (build tag bench): resume latency and memory figures.
package durability_test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"ai-platform/internal/app/apptest"
)

// workerBin is the aiplatform binary built from this tree by TestMain.
var workerBin string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "aip-durability-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "durability:", err)
		os.Exit(1)
	}
	workerBin = filepath.Join(dir, "aiplatform")
	build := exec.Command("go", "build", "-o", workerBin, "./cmd/aiplatform")
	build.Dir = apptest.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "durability: building the worker binary: %v\n%s", err, out)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}
