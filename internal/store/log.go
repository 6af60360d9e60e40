package store

import (
	"encoding/json"
	"slices"
	"time"
)

// logEntry points at the fields an event and an artifact share, so that
// each store appends both through one code path: the checks and cleaning
// below, then its own insert.
type logEntry struct {
	what      string // "event" or "artifact", for errors
	id        string
	taskID    string
	payload   *json.RawMessage
	createdAt *time.Time
	seq       *int64
	// texts are the free-text columns, cleaned as stored.
	texts []*string
}

func (e *Event) entry() logEntry {
	return logEntry{what: "event", id: e.ID, taskID: e.TaskID, payload: &e.Payload, createdAt: &e.CreatedAt,
		seq: &e.Seq, texts: []*string{&e.Type}}
}

func (a *Artifact) entry() logEntry {
	return logEntry{what: "artifact", id: a.ID, taskID: a.TaskID, payload: &a.Payload, createdAt: &a.CreatedAt,
		seq: &a.Seq, texts: []*string{&a.Type, &a.ProducedBy}}
}

// clean validates the payload, defaulting it to {}, and cleans it and the
// text columns (text.go): command output in a payload may hold NUL.
func (l logEntry) clean() error {
	if len(*l.payload) == 0 {
		*l.payload = json.RawMessage(`{}`)
	} else if err := checkJSON(l.what+" payload", *l.payload); err != nil {
		return err
	} else {
		*l.payload = slices.Clone(cleanJSON(*l.payload))
	}
	for _, t := range l.texts {
		*t = CleanText(*t)
	}
	return nil
}
