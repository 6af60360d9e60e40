package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
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
	Store string `json:"store,omitempty"`
	// Server is the Temporal server the figure and its baseline were both
	// measured on: "dev", "real", or "" when the suite uses none (6, 7).
	Server string  `json:"server,omitempty"`
	Unit   string  `json:"unit"`
	Value  Summary `json:"value"`
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
	// TemporalServer is bin/temporal-server's version, when the real
	// server ran.
	TemporalServer string `json:"temporal_server,omitempty"`
	Python         string `json:"python"`
	Postgres       string `json:"postgres,omitempty"`
}

// SuiteRun records how long a suite took, or why it did not run.
type SuiteRun struct {
	Suite   string  `json:"suite"`
	Store   string  `json:"store,omitempty"`
	Server  string  `json:"server,omitempty"`
	Seconds float64 `json:"seconds"`
	Skipped string  `json:"skipped,omitempty"`
	Error   string  `json:"error,omitempty"`
	// CPU is the CPU seconds each process used during the suite.
	CPU map[string]float64 `json:"cpu_seconds,omitempty"`
}

// Results is the whole run, written as latest.json.
type Results struct {
	StartedAt string   `json:"started_at"`
	Seconds   float64  `json:"seconds"`
	Machine   Machine  `json:"machine"`
	Stores    []string `json:"stores"`
	// Servers are the Temporal servers suites 1-5 ran on, in run order.
	Servers []string   `json:"servers,omitempty"`
	Suites  []SuiteRun `json:"suites"`
	Figures []Figure   `json:"figures"`
	Notes   []string   `json:"notes,omitempty"`
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
	fmt.Fprintf(&b, "Temporal CLI %s", m.TemporalCLI)
	if m.TemporalServer != "" {
		fmt.Fprintf(&b, "; temporal-server %s", m.TemporalServer)
	}
	fmt.Fprintf(&b, "; %s; stores: %s; servers: %s.\n\n", m.Python, strings.Join(r.Stores, ", "), orDash(strings.Join(r.Servers, ", ")))
	b.WriteString("| suite | server | figure | store | unit | n | p50 | p95 | p99 | baseline (raw) | n | p50 | p95 | p99 | ratio p50 |\n")
	b.WriteString("|---|---|---|---|---|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|\n")
	for _, f := range r.Figures {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d | %s | %s | %s |", f.Suite, orDash(f.Server), f.Name, orDash(f.Store), f.Unit, f.Value.N,
			num(f.Value.P50), num(f.Value.P95), num(f.Value.P99))
		if f.Base != nil {
			fmt.Fprintf(&b, " %s | %d | %s | %s | %s | %s |\n", f.Baseline, f.Base.N, num(f.Base.P50), num(f.Base.P95),
				num(f.Base.P99), ratioText(f.Ratio))
		} else {
			fmt.Fprintf(&b, " %s | | | | | |\n", orDash(f.Baseline))
		}
	}
	if len(r.Servers) > 1 {
		writeSideBySide(&b, r.Figures, r.Servers)
	}
	var notes []string
	for _, f := range r.Figures {
		if f.Note != "" {
			where := f.Suite
			if f.Server != "" {
				where += " (" + f.Server + ")"
			}
			notes = append(notes, fmt.Sprintf("%s / %s: %s", where, f.Name, f.Note))
		}
	}
	notes = append(notes, r.Notes...)
	b.WriteString("\nSuites:")
	for _, s := range r.Suites {
		fmt.Fprintf(&b, " %s", s.Suite)
		if where := strings.Join(slices.DeleteFunc([]string{s.Store, s.Server}, func(x string) bool { return x == "" }), ", "); where != "" {
			fmt.Fprintf(&b, " (%s)", where)
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

// serverRow is one figure measured on several servers: the same suite,
// name, store and baseline, keyed by server.
type serverRow struct {
	Suite, Name, Store, Unit, Baseline string
	By                                 map[string]Figure
}

// groupByServer pairs the figures measured on more than one server into
// rows, in the order they first appear. Figures of the suites that use no
// server, and figures only one server produced (its suite failed on the
// other), are left out: they have nothing to stand beside.
func groupByServer(figs []Figure) []serverRow {
	type key struct{ suite, name, store, baseline string }
	var rows []serverRow
	at := map[key]int{}
	for _, f := range figs {
		if f.Server == "" {
			continue
		}
		k := key{f.Suite, f.Name, f.Store, f.Baseline}
		i, ok := at[k]
		if !ok {
			i = len(rows)
			at[k] = i
			rows = append(rows, serverRow{Suite: f.Suite, Name: f.Name, Store: f.Store, Unit: f.Unit, Baseline: f.Baseline,
				By: map[string]Figure{}})
		}
		rows[i].By[f.Server] = f
	}
	return slices.DeleteFunc(rows, func(r serverRow) bool { return len(r.By) < 2 })
}

// writeSideBySide renders groupByServer's rows: per server the platform's
// p50, its raw baseline's p50 on that server and their ratio, then each
// later server's platform p50 over the first's.
func writeSideBySide(b *strings.Builder, figs []Figure, servers []string) {
	rows := groupByServer(figs)
	if len(rows) == 0 {
		return
	}
	b.WriteString("\nSide by side (p50; each baseline measured on the same server in the same run):\n\n")
	head := []string{"suite", "figure", "store", "unit", "baseline (raw)"}
	align := []string{"---", "---", "---", "---", "---"}
	for _, s := range servers {
		head = append(head, s, s+" raw", s+" ratio")
		align = append(align, "--:", "--:", "--:")
	}
	for _, s := range servers[1:] {
		head = append(head, s+" / "+servers[0])
		align = append(align, "--:")
	}
	writeRow(b, head)
	writeRow(b, align)
	for _, r := range rows {
		cells := []string{r.Suite, r.Name, orDash(r.Store), r.Unit, orDash(r.Baseline)}
		for _, s := range servers {
			f, ok := r.By[s]
			switch {
			case !ok:
				cells = append(cells, "", "", "")
			case f.Base == nil:
				cells = append(cells, num(f.Value.P50), "", "")
			default:
				cells = append(cells, num(f.Value.P50), num(f.Base.P50), ratioText(f.Ratio))
			}
		}
		first, ok := r.By[servers[0]]
		for _, s := range servers[1:] {
			if f, ok2 := r.By[s]; ok && ok2 && first.Value.P50 != 0 {
				cells = append(cells, num(f.Value.P50/first.Value.P50)+"x")
			} else {
				cells = append(cells, "")
			}
		}
		writeRow(b, cells)
	}
}

// writeRow writes one table row; an empty cell is "| |", as in the main table.
func writeRow(b *strings.Builder, cells []string) {
	for _, c := range cells {
		b.WriteString("| ")
		if c != "" {
			b.WriteString(c + " ")
		}
	}
	b.WriteString("|\n")
}

func ratioText(r float64) string {
	if r == 0 {
		return "-"
	}
	return num(r) + "x"
}

// sortFigures orders the figures by suite, and within a suite puts those
// that use no server first, then each server's in run order (suites 1-4
// run per server in blocks, so without this a suite's rows would be split).
func sortFigures(figs []Figure, servers []string) {
	suite := func(s string) string { return strings.SplitN(s, " ", 2)[0] }
	rank := func(s string) int {
		if s == "" {
			return -1
		}
		return slices.Index(servers, s)
	}
	slices.SortStableFunc(figs, func(x, y Figure) int {
		if c := strings.Compare(suite(x.Suite), suite(y.Suite)); c != 0 {
			return c
		}
		return rank(x.Server) - rank(y.Server)
	})
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
