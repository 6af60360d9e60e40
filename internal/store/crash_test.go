package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"ai-platform/internal/task"
)

// crashTaskID is the task the writer child keeps rewriting.
const crashTaskID = "7b2e1c4a-5d6f-4a8b-9c0d-1e2f3a4b5c6d"

// TestCrashWriterChild is the child process of TestKillDuringJSONWrite: it
// rewrites one task's JSON file as fast as it can, with growing content,
// until it is killed.
func TestCrashWriterChild(t *testing.T) {
	dir := os.Getenv("STORE_CRASH_DIR")
	if dir == "" {
		t.Skip("child process of TestKillDuringJSONWrite")
	}
	p, err := NewPersister(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMemory(p)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := m.GetTask(ctx, crashTaskID); err != nil {
		if _, err := m.CreateTask(ctx, Task{ID: crashTaskID, Status: task.StatusQueued, Description: "crash"}); err != nil {
			t.Fatal(err)
		}
	}
	// Re-establish the invariant (description counts the events) that a
	// kill between the two writes of the previous child may have broken.
	if page, err := m.ListEvents(ctx, crashTaskID, ListOptions{Limit: 1}); err == nil {
		if _, err := m.UpdateTask(ctx, crashTaskID, func(t *Task) error {
			t.Description = "events=" + strconv.Itoa(page.Total)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Println("ready")
	pad := strings.Repeat("x", 4096)
	for i := 0; ; i++ {
		// Each write changes the description and the event list together, so a
		// torn file would show a description that disagrees with its events.
		if _, err := m.AppendEvent(ctx, Event{ID: uuid.NewString(), TaskID: crashTaskID, Type: "tick",
			Payload: json.RawMessage(`{"pad":"` + pad + `"}`)}); err != nil {
			t.Fatal(err)
		}
		n := 0
		if page, err := m.ListEvents(ctx, crashTaskID, ListOptions{Limit: 1}); err == nil {
			n = page.Total
		}
		if _, err := m.UpdateTask(ctx, crashTaskID, func(t *Task) error {
			t.Description = "events=" + strconv.Itoa(n)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestKillDuringJSONWrite SIGKILLs a process while it rewrites the memory
// store's JSON files and checks every time that the store on disk loads and
// is consistent: the old state or the new one, never a torn mix.
func TestKillDuringJSONWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	// Not temporary files of the store, whatever their names suggest.
	decoys := []string{dir + "/tasks/.d.json.tmp-5" /* a directory */, dir + "/tasks/.notes.tmp-x1",
		dir + "/tasks/README.tmp-1", dir + "/.tmp-1"}
	for trial := 0; trial < 8; trial++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashWriterChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "STORE_CRASH_DIR="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		if _, err := out.Read(buf); err != nil {
			t.Fatalf("child did not start: %v", err)
		}
		time.Sleep(time.Duration(20+rand.IntN(200)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()

		// A kill inside WriteFileAtomic leaves its temporary file behind; plant
		// one in each of the store's directories too, so every trial checks
		// that loading removes them, and (once) files it must leave alone.
		leftovers := []string{dir + "/tasks/." + crashTaskID + ".json.tmp-" + strconv.Itoa(trial+1234567),
			dir + "/.global.json.tmp-" + strconv.Itoa(trial+42), dir + "/blobs/." + strings.Repeat("ab", 32) + ".tmp-9" + strconv.Itoa(trial)}
		for _, f := range leftovers {
			if err := os.WriteFile(f, []byte(`{"torn`), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if trial == 0 {
			for _, f := range decoys[1:] {
				if err := os.WriteFile(f, []byte("keep"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Mkdir(decoys[0], 0o700); err != nil {
				t.Fatal(err)
			}
		}

		p, err := NewPersister(dir)
		if err != nil {
			t.Fatal(err)
		}
		m, err := NewMemory(p)
		if err != nil {
			t.Fatalf("trial %d: the store does not load after a kill: %v", trial, err)
		}
		for _, sub := range []string{"", "/tasks", "/blobs"} {
			entries, err := os.ReadDir(dir + sub)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if strings.Contains(e.Name(), ".tmp-") && !slices.Contains(decoys, dir+sub+"/"+e.Name()) {
					t.Errorf("trial %d: loading left the temporary file %s%s/%s", trial, dir, sub, e.Name())
				}
			}
		}
		for _, f := range decoys {
			if _, err := os.Stat(f); err != nil {
				t.Errorf("trial %d: loading removed %s, which is not a temporary file of the store: %v", trial, f, err)
			}
		}
		got, err := m.GetTask(context.Background(), crashTaskID)
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		page, err := m.ListEvents(context.Background(), crashTaskID, ListOptions{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		// The description is written after the event it counts, so on disk it
		// names either the current count or the one before.
		want, prev := "events="+strconv.Itoa(page.Total), "events="+strconv.Itoa(page.Total-1)
		if got.Description != want && got.Description != prev && !(got.Description == "crash" && page.Total <= 1) {
			t.Fatalf("trial %d: torn state: %q with %d events", trial, got.Description, page.Total)
		}
	}
}
