//go:build unix

package workspace

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestDirSkipsAndRefusesFIFOs(t *testing.T) {
	e := newTestEnv(t)
	d := e.dir
	mustWrite(t, d, "a.py", "a\n")
	if err := syscall.Mkfifo(filepath.Join(d.Path(), "pipe"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := d.Read("pipe")
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) {
			t.Fatalf("Read(fifo) = %v, want ErrNotRegular", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read(fifo) blocked")
	}
	files, _, err := d.Files(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Path != "a.py" {
		t.Fatalf("Files = %v, want only a.py", filePaths(files))
	}
}
