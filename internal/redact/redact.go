// Package redact scrubs configured secret values (API keys, JWT secrets)
// from anything about to be stored or shown, as a last line of defence.
package redact

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Placeholder replaces a secret.
const Placeholder = "[redacted]"

// minSecretLen keeps very short values (which config refuses for real
// secrets anyway) from redacting ordinary text.
const minSecretLen = 8

// Redactor replaces every configured secret value.
type Redactor struct {
	secrets [][]byte
}

// New returns a Redactor for the given secret values; empty and very short
// values are ignored.
func New(secrets ...string) *Redactor {
	r := &Redactor{}
	for _, s := range secrets {
		if len(s) >= minSecretLen {
			r.secrets = append(r.secrets, []byte(s))
		}
	}
	return r
}

// Bytes returns b with every secret replaced (b itself when none occurs).
func (r *Redactor) Bytes(b []byte) []byte {
	for _, s := range r.secrets {
		if bytes.Contains(b, s) {
			b = bytes.ReplaceAll(b, s, []byte(Placeholder))
		}
	}
	return b
}

// String is Bytes for strings.
func (r *Redactor) String(s string) string {
	for _, sec := range r.secrets {
		if strings.Contains(s, string(sec)) {
			s = strings.ReplaceAll(s, string(sec), Placeholder)
		}
	}
	return s
}

// JSON marshals v and redacts the result.
func (r *Redactor) JSON(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return r.Bytes(b), nil
}
