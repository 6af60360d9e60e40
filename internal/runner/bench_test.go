package runner

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"ai-platform/internal/config"
)

// BenchmarkRunnerOverhead compares `python3 -c pass` through Run with a bare
// exec.Command of the same interpreter. Each iteration times both back to
// back so they share the machine's load; bare-ms/op, run-ms/op and their
// ratio x-bare are reported (ns/op is the sum of both).
func BenchmarkRunnerOverhead(b *testing.B) {
	for _, mode := range []string{config.SandboxNone, config.SandboxBwrap} {
		b.Run(mode, func(b *testing.B) {
			r := newRunner(b, mode, nil)
			python, ok := r.Resolve("python3")
			if !ok {
				b.Skip("python3 not installed")
			}
			ws := workspace(b)
			ctx := context.Background()
			var bare, run time.Duration
			n := 0
			for b.Loop() {
				t0 := time.Now()
				if err := exec.Command(python, "-c", "pass").Run(); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				res := r.Run(ctx, Spec{Argv: []string{"python3", "-c", "pass"}, Dir: ws})
				run += time.Since(t1)
				bare += t1.Sub(t0)
				n++
				if res.ExitCode == nil || *res.ExitCode != 0 {
					b.Fatalf("Run: %+v", res)
				}
			}
			ms := func(d time.Duration) float64 { return d.Seconds() * 1000 / float64(n) }
			b.ReportMetric(ms(bare), "bare-ms/op")
			b.ReportMetric(ms(run), "run-ms/op")
			b.ReportMetric(float64(run)/float64(bare), "x-bare")
		})
	}
}
