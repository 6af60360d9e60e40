package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
)

// unpingableStore is a store whose database does not answer a ping.
type unpingableStore struct{ downStore }

func (unpingableStore) Ping(context.Context) error {
	return errors.New("postgres: dial tcp 10.0.0.5:5432: connection refused")
}

// TestReadyNotReady: /ready answers 503 not_ready naming the failing check
// when the store or Temporal does not answer, 200 ready when both do, and
// never shows the underlying error.
func TestReadyNotReady(t *testing.T) {
	cases := []struct {
		name          string
		storeDown     bool
		temporalDown  bool
		code          int
		status        string
		store, tempor string
	}{
		{"both answer", false, false, 200, "ready", "ok", "ok"},
		{"store down", true, false, 503, "not_ready", "unavailable", "ok"},
		{"temporal down", false, true, 503, "not_ready", "ok", "unavailable"},
		{"both down", true, true, 503, "not_ready", "unavailable", "unavailable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			var health error
			if tc.temporalDown {
				health = errors.New("rpc error: code = Unavailable desc = connection refused 10.0.0.6:7233")
			}
			f.client.On("CheckHealth", mock.Anything, mock.Anything).Return(&client.CheckHealthResponse{}, health)
			d := f.srv.Deps
			if tc.storeDown {
				d.Store = unpingableStore{downStore{f.store}}
			}
			d.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			f.srv = New(d)

			w := f.do("GET", "/ready", "", nil)
			var body struct {
				Status string            `json:"status"`
				Checks map[string]string `json:"checks"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", w.Body, err)
			}
			if w.Code != tc.code || body.Status != tc.status || body.Checks["store"] != tc.store ||
				body.Checks["temporal"] != tc.tempor || len(body.Checks) != 2 {
				t.Errorf("/ready: %d %s; want %d %s store=%s temporal=%s", w.Code, w.Body, tc.code, tc.status, tc.store, tc.tempor)
			}
			if s := w.Body.String(); strings.Contains(s, "refused") || strings.Contains(s, "10.0.0.") {
				t.Errorf("/ready shows the underlying error: %s", s)
			}
			// /health is liveness: it stays 200 whatever /ready says.
			if h := f.do("GET", "/health", "", nil); h.Code != 200 {
				t.Errorf("/health: %d %s", h.Code, h.Body)
			}
		})
	}
}
