package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// APIError is an HTTP error answer of the server.
type APIError struct {
	Status int
	// Code is detail.error for structured errors ("task_not_paused", ...).
	Code string
	// Message is detail (a string) or detail.message.
	Message string
	// Detail is the raw detail value.
	Detail json.RawMessage
	// RetryAfter is set on 429 and 503 answers.
	RetryAfter time.Duration
	// Hint says what to do about it, in our words.
	Hint string
}

// JSON is the error as scripts see it with --json.
func (e *APIError) JSON() map[string]any {
	m := map[string]any{"status": e.Status, "message": e.Message}
	if e.Code != "" {
		m["code"] = e.Code
	}
	if len(e.Detail) > 0 {
		m["detail"] = e.Detail
	}
	if e.RetryAfter > 0 {
		m["retry_after"] = int(e.RetryAfter.Seconds())
	}
	return m
}

func (e *APIError) Error() string {
	var b strings.Builder
	switch e.Status {
	case 401:
		b.WriteString("not authenticated (401): " + e.Message)
	case 403:
		b.WriteString("forbidden (403): " + e.Message)
	case 404:
		b.WriteString("not found (404): " + e.Message)
	case 409:
		b.WriteString("conflict (409): " + e.Message)
	case 429, 503:
		if e.Status == 429 {
			fmt.Fprintf(&b, "rate limited (429): %s", e.Message)
		} else {
			fmt.Fprintf(&b, "temporarily unavailable (503): %s", e.Message)
		}
		if e.RetryAfter > 0 {
			fmt.Fprintf(&b, "; retry in %s (at %s)", e.RetryAfter, time.Now().Add(e.RetryAfter).Format("15:04:05"))
		}
	default:
		fmt.Fprintf(&b, "the server answered %d: %s", e.Status, e.Message)
	}
	if e.Hint != "" {
		b.WriteString("\n  " + e.Hint)
	}
	return b.String()
}

// errorDetail is the shape of {"detail": ...}.
type errorDetail struct {
	Error      string            `json:"error"`
	Message    string            `json:"message"`
	Status     string            `json:"status"`
	RetryAfter float64           `json:"retry_after"`
	Problems   map[string]string `json:"problems"`
	Missing    []string          `json:"missing"`
}

// newAPIError decodes an error body; bodies that are not the API's JSON
// (a proxy's HTML page) are summarised, never dumped.
func newAPIError(status int, body []byte, retryAfter string) *APIError {
	e := &APIError{Status: status}
	var env struct {
		Detail json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &env) == nil && len(env.Detail) > 0 {
		e.Detail = env.Detail
		var s string
		var d errorDetail
		switch {
		case json.Unmarshal(env.Detail, &s) == nil:
			e.Message = s
		case json.Unmarshal(env.Detail, &d) == nil:
			e.Code, e.Message = d.Error, d.Message
			if e.Message == "" {
				e.Message = d.Error
			}
			if d.Status != "" && !strings.Contains(e.Message, d.Status) {
				e.Message += " (task status: " + d.Status + ")"
			}
			if len(d.Missing) > 0 {
				e.Message += "; unanswered: " + strings.Join(d.Missing, ", ")
			}
			for _, id := range sortedKeys(d.Problems) {
				e.Message += fmt.Sprintf("\n  %s: %s", id, d.Problems[id])
			}
			if d.RetryAfter > 0 {
				e.RetryAfter = time.Duration(d.RetryAfter) * time.Second
			}
		default:
			e.Message = string(env.Detail)
		}
	}
	if e.Message == "" {
		e.Message = statusText(status)
	}
	if n, err := strconv.Atoi(strings.TrimSpace(retryAfter)); err == nil && n > 0 {
		e.RetryAfter = time.Duration(n) * time.Second
	}
	return e
}

func statusText(status int) string {
	switch {
	case status == 502 || status == 503 || status == 504:
		return "the server is unavailable right now; try again shortly"
	case status >= 500:
		return "internal server error"
	}
	return "request failed"
}

// unreachable explains a transport failure without echoing headers.
func unreachable(base string, err error) error {
	var ue *url.Error
	reason := err.Error()
	if errors.As(err, &ue) {
		reason = ue.Err.Error()
	}
	var ne net.Error
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		reason = "connection refused"
	case errors.As(err, &dnsErr):
		reason = "unknown host " + dnsErr.Name
	case errors.As(err, &ne) && ne.Timeout():
		reason = "timed out"
	}
	return fmt.Errorf("cannot reach the ai-platform server at %s: %s\n  Is it running (`make run`)? Set AIPLATFORM_URL to its address", base, reason)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
