package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
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

		p, err := NewPersister(dir)
		if err != nil {
			t.Fatal(err)
		}
		m, err := NewMemory(p)
		if err != nil {
			t.Fatalf("trial %d: the store does not load after a kill: %v", trial, err)
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
		entries, _ := os.ReadDir(dir + "/tasks")
		for _, e := range entries {
			if strings.Contains(e.Name(), ".tmp-") {
				_ = os.Remove(dir + "/tasks/" + e.Name()) // a leftover temp file is harmless; loading ignores it
			}
		}
	}
}
