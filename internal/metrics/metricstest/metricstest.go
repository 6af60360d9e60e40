// Package metricstest reads a Prometheus text exposition (a /metrics body)
// for tests.
package metricstest

import (
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Families are the parsed metric families, by name.
type Families map[string]*dto.MetricFamily

// Parse parses body or fails the test.
func Parse(t testing.TB, body string) Families {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, body)
	}
	return fams
}

// Sum adds the values of name's series whose labels include match: the
// value of counters and gauges, the sample count of histograms and
// summaries. ok is false when the family is absent.
func (f Families) Sum(name string, match map[string]string) (sum float64, ok bool) {
	fam, ok := f[name]
	if !ok {
		return 0, false
	}
	for _, m := range fam.GetMetric() {
		if !matches(m, match) {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		case m.Summary != nil:
			sum += float64(m.GetSummary().GetSampleCount())
		case m.Untyped != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum, true
}

// Prefixed counts the families whose names start with prefix.
func (f Families) Prefixed(prefix string) int {
	n := 0
	for name := range f {
		if strings.HasPrefix(name, prefix) {
			n++
		}
	}
	return n
}

func matches(m *dto.Metric, match map[string]string) bool {
	found := 0
	for _, l := range m.GetLabel() {
		if v, ok := match[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			found++
		}
	}
	return found == len(match)
}
