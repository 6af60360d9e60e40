package metrics

import (
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
)

// temporalFlush is how often the tally scope hands the SDK's counters to
// the Prometheus registry; a scrape sees values at most this old.
const temporalFlush = time.Second

// newTemporalHandler routes the Temporal SDK's metrics (temporal_*: request
// latencies, workflow and activity task counts and latencies, poller and
// slot gauges, sticky cache) into reg through tally, with Prometheus naming.
func newTemporalHandler(reg *prometheus.Registry, log *slog.Logger) (client.MetricsHandler, io.Closer) {
	reporter := tallyprom.NewReporter(tallyprom.Options{
		Registerer: reg,
		// Histograms aggregate across workers; summaries do not.
		DefaultTimerType: tallyprom.HistogramTimerType,
		// The SDK reuses a few names with different tag sets; the reporter
		// would panic without a handler. Those few series are dropped.
		OnRegisterError: func(err error) { log.Debug("temporal SDK metric not registered", "error", err) },
	})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       tallyprom.DefaultSeparator,
		SanitizeOptions: &sdktally.PrometheusSanitizeOptions,
	}, temporalFlush)
	return sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope)), closer
}
