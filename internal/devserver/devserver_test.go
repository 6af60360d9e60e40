package devserver

import (
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
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
