package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Figure is one row of the results table: a platform measurement, the raw
// baseline measured in the same run, and their ratio.
type Figure struct {
	Suite string `json:"suite"`
	Name  string `json:"name"`
	// Store is "postgres", "memory" or "" when the figure does not touch it.
	Store string  `json:"store,omitempty"`
	Unit  string  `json:"unit"`
	Value Summary `json:"value"`
	// Baseline says what the baseline measured; Base is nil when there is none.
	Baseline string   `json:"baseline"`
	Base     *Summary `json:"base,omitempty"`
	// Ratio is Value.P50 / Base.P50 (0 without a baseline).
	Ratio float64 `json:"ratio,omitempty"`
	Note  string  `json:"note,omitempty"`
}

// withBase sets the baseline and the ratio of the medians.
func (f Figure) withBase(what string, b Summary) Figure {
	f.Baseline, f.Base = what, &b
	if b.P50 != 0 {
		f.Ratio = f.Value.P50 / b.P50
	}
	return f
}

// Machine describes where the run happened; the load average matters on a
// shared machine.
type Machine struct {
	Cores       int        `json:"cores"`
	LoadBefore  [3]float64 `json:"load_avg_before"`
	LoadAfter   [3]float64 `json:"load_avg_after"`
	GoVersion   string     `json:"go_version"`
	Kernel      string     `json:"kernel"`
	Commit      string     `json:"commit"`
	TemporalCLI string     `json:"temporal_cli"`
	Python      string     `json:"python"`
	Postgres    string     `json:"postgres,omitempty"`
}

// SuiteRun records how long a suite took, or why it did not run.
type SuiteRun struct {
	Suite   string  `json:"suite"`
	Store   string  `json:"store,omitempty"`
	Seconds float64 `json:"seconds"`
	Skipped string  `json:"skipped,omitempty"`
	Error   string  `json:"error,omitempty"`
	// CPU is the CPU seconds each process used during the suite.
	CPU map[string]float64 `json:"cpu_seconds,omitempty"`
}

// Results is the whole run, written as latest.json.
type Results struct {
	StartedAt string     `json:"started_at"`
	Seconds   float64    `json:"seconds"`
	Machine   Machine    `json:"machine"`
	Stores    []string   `json:"stores"`
	Suites    []SuiteRun `json:"suites"`
	Figures   []Figure   `json:"figures"`
	Notes     []string   `json:"notes,omitempty"`
}

// num prints a value with about three significant digits.
func num(v float64) string {
	a := math.Abs(v)
	switch {
	case v == 0:
		return "0"
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

// Markdown renders the results as the table docs/PERFORMANCE.md embeds.
func (r *Results) Markdown(w io.Writer) error {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "Run %s, %s on %d cores (load average %.2f %.2f %.2f before, %.2f %.2f %.2f after), %s, %s, commit %s.\n",
		r.StartedAt, (time.Duration(r.Seconds) * time.Second).String(), m.Cores,
		m.LoadBefore[0], m.LoadBefore[1], m.LoadBefore[2], m.LoadAfter[0], m.LoadAfter[1], m.LoadAfter[2],
		m.GoVersion, m.Kernel, m.Commit)
	fmt.Fprintf(&b, "Temporal CLI %s; %s; stores: %s.\n\n", m.TemporalCLI, m.Python, strings.Join(r.Stores, ", "))
	b.WriteString("| suite | figure | store | unit | n | p50 | p95 | p99 | baseline (raw) | n | p50 | p95 | p99 | ratio p50 |\n")
	b.WriteString("|---|---|---|---|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|\n")
	for _, f := range r.Figures {
		store := f.Store
		if store == "" {
			store = "-"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %s | %s | %s |", f.Suite, f.Name, store, f.Unit, f.Value.N,
			num(f.Value.P50), num(f.Value.P95), num(f.Value.P99))
		if f.Base != nil {
			ratio := "-"
			if f.Ratio != 0 {
				ratio = num(f.Ratio) + "x"
			}
			fmt.Fprintf(&b, " %s | %d | %s | %s | %s | %s |\n", f.Baseline, f.Base.N, num(f.Base.P50), num(f.Base.P95),
				num(f.Base.P99), ratio)
		} else {
			fmt.Fprintf(&b, " %s | | | | | |\n", orDash(f.Baseline))
		}
	}
	var notes []string
	for _, f := range r.Figures {
		if f.Note != "" {
			notes = append(notes, fmt.Sprintf("%s / %s: %s", f.Suite, f.Name, f.Note))
		}
	}
	notes = append(notes, r.Notes...)
	b.WriteString("\nSuites:")
	for _, s := range r.Suites {
		fmt.Fprintf(&b, " %s", s.Suite)
		if s.Store != "" {
			fmt.Fprintf(&b, " (%s)", s.Store)
		}
		switch {
		case s.Error != "":
			fmt.Fprintf(&b, " FAILED: %s;", s.Error)
		case s.Skipped != "":
			fmt.Fprintf(&b, " skipped: %s;", s.Skipped)
		default:
			fmt.Fprintf(&b, " %.0f s", s.Seconds)
			if len(s.CPU) > 0 {
				b.WriteString(" (CPU s:")
				for _, k := range sortedKeys(s.CPU) {
					fmt.Fprintf(&b, " %s %.1f", k, s.CPU[k])
				}
				b.WriteString(")")
			}
			b.WriteString(";")
		}
	}
	b.WriteString("\n")
	if len(notes) > 0 {
		b.WriteString("\nNotes:\n")
		for _, n := range notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// write stores latest.md and latest.json under dir.
func (r *Results) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("results dir: %w", err)
	}
	var md strings.Builder
	if err := r.Markdown(&md); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "latest.md"), []byte(md.String()), 0o644); err != nil {
		return fmt.Errorf("writing latest.md: %w", err)
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding results: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "latest.json"), append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing latest.json: %w", err)
	}
	return nil
}
