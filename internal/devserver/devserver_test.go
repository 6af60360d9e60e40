package devserver

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestStartReportsPid(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a dev server")
	}
	bin, err := filepath.Abs(filepath.Join("..", "..", "bin", "temporal"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("bin/temporal is missing: run `make temporal`")
		}
		t.Skip("bin/temporal is missing: run `make temporal`")
	}
	dir := t.TempDir()
	srv, err := Start(t.Context(), Options{Bin: bin, DBFile: filepath.Join(dir, "t.db"), Port: freePort(t),
		LogFile: filepath.Join(dir, "t.log"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	pid := srv.Pid()
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); pid <= 0 || err != nil {
		t.Fatalf("Pid() = %d: %v", pid, err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
		t.Errorf("process %d still exists after Stop", pid)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestServerArgs(t *testing.T) {
	base := Options{Bin: "temporal", DBFile: "/d/t.db", IP: "127.0.0.1", Port: 7233, Namespace: "default"}
	withUI := base
	withUI.UIPort = 8233
	tests := []struct {
		name string
		o    Options
		want []string
		not  []string
	}{
		{"headless", base, []string{"--headless", "--db-filename /d/t.db", "--port 7233",
			"--dynamic-config-value history.transferProcessorMaxPollRPS=1000",
			"--dynamic-config-value matching.numTaskqueueWritePartitions=1"}, []string{"--ui-port", "ReadPartitions"}},
		{"with UI", withUI, []string{"--ui-port 8233", "--ui-ip 127.0.0.1",
			"--dynamic-config-value history.transferProcessorMaxPollRPS=1000"}, []string{"--headless"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := " " + strings.Join(serverArgs(tc.o), " ") + " "
			for _, w := range tc.want {
				if !strings.Contains(got, " "+w+" ") {
					t.Errorf("args %q lack %q", got, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("args %q contain %q", got, n)
				}
			}
		})
	}
}

// TestMissingBinaryNamesTheMakeTarget: without bin/temporal, start-up says
// which make target builds it and how to use another server instead.
func TestMissingBinaryNamesTheMakeTarget(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "bin", "temporal")
	_, err := Start(t.Context(), Options{Bin: missing, Port: 1})
	if !errors.Is(err, ErrMissingBinary) {
		t.Fatalf("error %v is not ErrMissingBinary", err)
	}
	for _, want := range []string{missing, "make temporal", "TEMPORAL_ADDRESS"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
