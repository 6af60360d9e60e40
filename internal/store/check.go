package store

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Rules both implementations share, so that code tested against the memory
// store behaves the same on PostgreSQL.

// validID reports whether id is a UUID in canonical form (lower-case, with
// hyphens). PostgreSQL stores ids as uuid and would reject anything else or
// hand it back re-formatted; ids that are not canonical therefore never name
// a row, in either store.
func validID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}

// checkNewID rejects a malformed id of a row about to be inserted.
func checkNewID(what, id string) error {
	if !validID(id) {
		return fmt.Errorf("%s id %q is not a canonical UUID", what, id)
	}
	return nil
}

// checkJSON rejects a document PostgreSQL's jsonb would refuse.
func checkJSON(what string, b []byte) error {
	if !json.Valid(b) {
		return fmt.Errorf("%s is not valid JSON", what)
	}
	return nil
}

// dbTime is t as PostgreSQL's timestamptz keeps it: UTC, microseconds.
func dbTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

func dbTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := dbTime(*t)
	return &c
}

// dbDay is the UTC calendar day of t, as a date column keeps it.
func dbDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
