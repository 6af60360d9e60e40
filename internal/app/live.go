package app

import (
	"log/slog"

	"ai-platform/internal/config"
	"ai-platform/internal/live"
)

// newLiveHub builds the live-output channel the worker publishes to and
// the API's WebSockets read from. With DATABASE_URL it goes through
// PostgreSQL LISTEN/NOTIFY, so a worker and an API in separate processes
// (or several of each) share it; without one (the memory store, which
// only `aiplatform run` can share between API and worker) it stays in
// this process.
func newLiveHub(cfg config.Config, log *slog.Logger) (*live.Hub, error) {
	log = log.With("component", "live")
	if cfg.DatabaseURL == "" {
		return live.NewHub(nil, log), nil
	}
	tr, err := live.NewPGTransport(cfg.DatabaseURL, "")
	if err != nil {
		return nil, err
	}
	return live.NewHub(tr, log), nil
}
