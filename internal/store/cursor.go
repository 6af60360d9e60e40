package store

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// ErrBadCursor means a pagination cursor could not be decoded.
var ErrBadCursor = errors.New("invalid cursor")

// TaskCursor encodes the keyset position (created_at, id) of a task.
func TaskCursor(t Task) string {
	raw := strconv.FormatInt(t.CreatedAt.UnixNano(), 10) + ":" + t.ID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// ParseTaskCursor decodes a TaskCursor.
func ParseTaskCursor(c string) (time.Time, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", ErrBadCursor
	}
	ns, id, ok := strings.Cut(string(raw), ":")
	if !ok {
		return time.Time{}, "", ErrBadCursor
	}
	n, err := strconv.ParseInt(ns, 10, 64)
	if err != nil || !validID(id) {
		return time.Time{}, "", ErrBadCursor
	}
	return time.Unix(0, n).UTC(), id, nil
}

// SeqCursor encodes the position of an event or artifact.
func SeqCursor(seq int64) string { return strconv.FormatInt(seq, 10) }

// ParseSeqCursor decodes a SeqCursor.
func ParseSeqCursor(c string) (int64, error) {
	n, err := strconv.ParseInt(c, 10, 64)
	if err != nil || n < 0 {
		return 0, ErrBadCursor
	}
	return n, nil
}

// taskOlder reports whether a sorts after (at, id) in newest-first order, i.e. a is older.
func taskOlder(a Task, at time.Time, id string) bool {
	if a.CreatedAt.Equal(at) {
		return a.ID < id
	}
	return a.CreatedAt.Before(at)
}
