// Package storetest is the contract every store.Store implementation must
// meet. Run it from the implementation's tests with a function that opens an
// empty store; each case gets its own.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

// Run runs the whole contract against stores made by open. open must return
// an empty store and arrange for it to be closed when t ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Ping", testPing},
		{"TaskCreateGet", testTaskCreateGet},
		{"TaskCreateConflicts", testTaskCreateConflicts},
		{"TaskMalformedIDs", testTaskMalformedIDs},
		{"TaskUpdate", testTaskUpdate},
		{"TaskUpdateConcurrent", testTaskUpdateConcurrent},
		{"TaskUpdateHoldsRowLock", testTaskUpdateHoldsRowLock},
		{"TaskUpdateProjected", testTaskUpdateProjected},
		{"ListTasksFilters", testListTasksFilters},
		{"ListTasksPaging", testListTasksPaging},
		{"ListTasksDefaultLimit", testListTasksDefaultLimit},
		{"ListTasksBadCursor", testListTasksBadCursor},
		{"CountTasksByStatus", testCountTasksByStatus},
		{"EventAppend", testEventAppend},
		{"EventList", testEventList},
		{"EventDefaultLimit", testEventDefaultLimit},
		{"ArtifactAppend", testArtifactAppend},
		{"ArtifactList", testArtifactList},
		{"ArtifactGetLatest", testArtifactGetLatest},
		{"LogUnknownTask", testLogUnknownTask},
		{"State", testState},
		{"Snapshot", testSnapshot},
		{"Files", testFiles},
		{"FilesBinary", testFilesBinary},
		{"FilesUnknownTask", testFilesUnknownTask},
		{"NULText", testNULText},
		{"FileLimits", testFileLimits},
		{"FileLimitsConcurrent", testFileLimitsConcurrent},
		{"Usage", testUsage},
		{"UsageSince", testUsageSince},
		{"UsageCost", testUsageCost},
		{"TaskCost", testTaskCost},
		{"Users", testUsers},
		{"RefreshSessions", testRefreshSessions},
		{"RefreshRotateConcurrent", testRefreshRotateConcurrent},
		{"Purge", testPurge},
		{"PurgeUnbatched", testPurgeUnbatched},
		{"PurgeOnlyEnded", testPurgeOnlyEnded},
		{"PurgeUsageBatches", testPurgeUsageBatches},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, open(t))
		})
	}
}

// t0 is a fixed creation time with sub-microsecond digits, which every
// store must truncate the same way.
var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

// malformed are ids that are not canonical UUIDs; no row can have them.
var malformed = []string{
	"", "not-a-uuid", "123", "'; DROP TABLE tasks; --",
	"6BA7B810-9DAD-11D1-80B4-00C04FD430C8",   // upper case
	"{6ba7b810-9dad-11d1-80b4-00c04fd430c8}", // braces
	"6ba7b8109dad11d180b400c04fd430c8",       // no hyphens
	"urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8",
}

func ctx(t *testing.T) context.Context { return t.Context() }

func newID() string { return uuid.NewString() }

// newTask is a minimal valid task.
func newTask(owner string, at time.Time) store.Task {
	return store.Task{
		ID:           newID(),
		UserID:       "user-" + owner,
		OwnerKeyHash: owner,
		Description:  "write a tool",
		Status:       task.StatusQueued,
		CreatedAt:    at,
	}
}

func mustCreate(t *testing.T, s store.Store, tk store.Task) store.Task {
	t.Helper()
	got, err := s.CreateTask(ctx(t), tk)
	if err != nil {
		t.Fatalf("CreateTask: %v", err)
	}
	return got
}

func mustTask(t *testing.T, s store.Store, id string) store.Task {
	t.Helper()
	got, err := s.GetTask(ctx(t), id)
	if err != nil {
		t.Fatalf("GetTask(%s): %v", id, err)
	}
	return got
}

// wantErr fails unless errors.Is(err, target).
func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", what, err, target)
	}
}

// canonicalJSON re-encodes a document so that two spellings of the same
// JSON compare equal (jsonb does not keep whitespace or key order).
func canonicalJSON(t *testing.T, b []byte) string {
	t.Helper()
	if b == nil {
		return "<nil>"
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("invalid JSON %q: %v", b, err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

func wantJSON(t *testing.T, got, want []byte, what string) {
	t.Helper()
	if g, w := canonicalJSON(t, got), canonicalJSON(t, want); g != w {
		t.Errorf("%s: got %s, want %s", what, g, w)
	}
}

// sameTask compares two tasks field by field, JSON by meaning.
func sameTask(t *testing.T, got, want store.Task, what string) {
	t.Helper()
	wantJSON(t, got.Result, want.Result, what+": Result")
	got.Result, want.Result = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// wantTime fails unless got is want at microsecond precision, in UTC.
func wantTime(t *testing.T, got, want time.Time, what string) {
	t.Helper()
	want = want.UTC().Truncate(time.Microsecond)
	if !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("%s: got %v (%v), want %v UTC", what, got, got.Location(), want)
	}
}

func testPing(t *testing.T, s store.Store) {
	if err := s.Ping(ctx(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}
