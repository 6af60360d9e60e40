// Package pricing turns LLM token usage into US dollars: a price table of
// input and output prices per million tokens per model (LLM_PRICES over a
// built-in table) and the rounding every cost figure of the platform uses.
//
// Costs are whole micro-dollars (6 decimals). A call's cost is computed
// exactly in integers from prices of at most 6 decimals and rounded once
// (half up) to the micro-dollar; stage, task and daily totals are sums of
// those rounded call costs, so the per-call figures a client sees add up
// exactly to the totals it sees.
package pricing

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Price is one model's price in US dollars per million tokens.
type Price struct {
	InputPerM, OutputPerM float64
}

// micro is a price in micro-dollars per million tokens, kept beside the
// float Price so Cost computes in exact integers.
type micro struct{ in, out int64 }

// Table is a price table; immutable after Parse (it is safe to share).
type Table struct {
	prices map[string]micro
}

// MaxPricePerM bounds a price (US dollars per million tokens): far above
// any model's, and low enough that Cost cannot overflow int64.
const MaxPricePerM = 100_000

// builtin are the default prices (US dollars per million tokens, OpenAI's
// list prices): the default LLM_MODEL (which the mock reports too) and a few
// common OpenAI models. LLM_PRICES replaces or extends them.
var builtin = map[string]string{
	"gpt-4o-mini":  "0.15/0.60",
	"gpt-4o":       "2.50/10.00",
	"gpt-4.1":      "2.00/8.00",
	"gpt-4.1-mini": "0.40/1.60",
	"gpt-4.1-nano": "0.10/0.40",
}

// Default is the built-in table alone (Parse of an empty spec).
func Default() Table {
	t, err := Parse("")
	if err != nil {
		// The built-in entries are constants checked by the tests.
		panic("pricing: built-in table: " + err.Error())
	}
	return t
}

// Parse reads "model=IN/OUT,model2=IN/OUT" (prices in US dollars per million
// tokens, at most 6 decimals) over the built-in table: an entry replaces the
// built-in price of the same model. Spaces around names and numbers are
// ignored; an empty spec is the built-in table. An error names the bad entry.
func Parse(spec string) (Table, error) {
	t := Table{prices: make(map[string]micro, len(builtin))}
	for model, p := range builtin {
		m, err := parsePair(p)
		if err != nil {
			return Table{}, fmt.Errorf("built-in price of %s: %w", model, err)
		}
		t.prices[model] = m
	}
	if strings.TrimSpace(spec) == "" {
		return t, nil
	}
	seen := map[string]bool{}
	for i, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			return Table{}, fmt.Errorf("entry %d is empty (entries are model=INPUT/OUTPUT separated by commas)", i+1)
		}
		model, pair, ok := strings.Cut(entry, "=")
		model = strings.TrimSpace(model)
		if !ok || model == "" {
			return Table{}, fmt.Errorf("entry %q: want model=INPUT/OUTPUT (US dollars per million tokens)", entry)
		}
		if strings.ContainsAny(model, " \t/") {
			return Table{}, fmt.Errorf("entry %q: model name %q must not contain spaces or '/'", entry, model)
		}
		if seen[model] {
			return Table{}, fmt.Errorf("entry %q: model %s is priced twice", entry, model)
		}
		seen[model] = true
		m, err := parsePair(pair)
		if err != nil {
			return Table{}, fmt.Errorf("entry %q: %w", entry, err)
		}
		t.prices[model] = m
	}
	return t, nil
}

// parsePair reads "IN/OUT".
func parsePair(s string) (micro, error) {
	in, out, ok := strings.Cut(s, "/")
	if !ok {
		return micro{}, fmt.Errorf("price %q: want INPUT/OUTPUT, e.g. 0.15/0.60", strings.TrimSpace(s))
	}
	var m micro
	var err error
	if m.in, err = parseMicros(in); err != nil {
		return micro{}, fmt.Errorf("input price: %w", err)
	}
	if m.out, err = parseMicros(out); err != nil {
		return micro{}, fmt.Errorf("output price: %w", err)
	}
	return m, nil
}

// parseMicros reads a plain decimal number of US dollars (digits, an
// optional point and at most 6 decimals) as micro-dollars. Exponents, signs,
// NaN and infinities are refused: a price is written as a person reads it.
func parseMicros(s string) (int64, error) {
	s = strings.TrimSpace(s)
	whole, frac, _ := strings.Cut(s, ".")
	if s == "" || (whole == "" && frac == "") || !digits(whole) || !digits(frac) {
		return 0, fmt.Errorf("%q is not a number of US dollars (like 0.15 or 10)", s)
	}
	if len(frac) > 6 {
		return 0, fmt.Errorf("%q has more than 6 decimals", s)
	}
	if whole == "" {
		whole = "0"
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > MaxPricePerM {
		return 0, fmt.Errorf("%q is above %d US dollars per million tokens", s, MaxPricePerM)
	}
	f := int64(0)
	if frac != "" {
		f, _ = strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64)
	}
	if w == MaxPricePerM && f > 0 {
		return 0, fmt.Errorf("%q is above %d US dollars per million tokens", s, MaxPricePerM)
	}
	return w*1_000_000 + f, nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// lookup finds model's prices: its own entry, else the entry of the model
// it is a dated snapshot of. OpenAI answers with the snapshot it served
// ("gpt-4o-mini-2024-07-18", "gpt-4-0613") when asked for the alias, and
// that name is what the usage records; a snapshot priced in the table on
// its own keeps its own price.
func (t Table) lookup(model string) (micro, bool) {
	if m, ok := t.prices[model]; ok {
		return m, true
	}
	if base, ok := snapshotOf(model); ok {
		m, ok := t.prices[base]
		return m, ok
	}
	return micro{}, false
}

// snapshotOf strips a snapshot suffix: "-YYYY-MM-DD" or "-MMDD"/"-YYMM"
// (four digits).
func snapshotOf(model string) (string, bool) {
	if i := len(model) - len("-2006-01-02"); i > 0 && model[i] == '-' {
		d := model[i+1:]
		if digits(d[:4]) && d[4] == '-' && digits(d[5:7]) && d[7] == '-' && digits(d[8:]) {
			return model[:i], true
		}
	}
	if i := len(model) - len("-0613"); i > 0 && model[i] == '-' && digits(model[i+1:]) {
		return model[:i], true
	}
	return "", false
}

// Price is the model's price; false when the table has none.
func (t Table) Price(model string) (Price, bool) {
	m, ok := t.lookup(model)
	if !ok {
		return Price{}, false
	}
	return Price{InputPerM: float64(m.in) / 1e6, OutputPerM: float64(m.out) / 1e6}, true
}

// Models are the priced models, sorted.
func (t Table) Models() []string {
	return slices.Sorted(maps.Keys(t.prices))
}

// Cost is the cost in US dollars of in input and out output tokens on
// model, rounded half up to the micro-dollar; known is false (and the cost
// 0) for a model the table does not price. Negative counts count as 0.
func (t Table) Cost(model string, in, out int64) (usd float64, known bool) {
	micros, known := t.CostMicros(model, in, out)
	return FromMicros(micros), known
}

// CostMicros is Cost in whole micro-dollars, the unit totals are summed in.
func (t Table) CostMicros(model string, in, out int64) (int64, bool) {
	m, ok := t.lookup(model)
	if !ok {
		return 0, false
	}
	in, out = max(in, 0), max(out, 0)
	// tokens × (micro-dollars per million tokens) / 1e6, split into the
	// whole-dollar and fractional parts of each price so no product
	// overflows for any realistic count (below 10^12 tokens per call).
	const m6 = 1_000_000
	whole := in*(m.in/m6) + out*(m.out/m6) // micro-dollars
	frac := in*(m.in%m6) + out*(m.out%m6)  // 1e-12 dollars
	return whole + (frac+m6/2)/m6, true
}

// FromMicros converts micro-dollars to US dollars (the nearest float64,
// which prints with at most 6 decimals).
func FromMicros(micros int64) float64 { return float64(micros) / 1e6 }

// Micros is usd in whole micro-dollars, rounded half away from zero.
func Micros(usd float64) int64 { return int64(math.Round(usd * 1e6)) }

// Round rounds usd to 6 decimals, the precision of every cost figure: a
// sum of rounded costs passed through Round is exactly the sum in
// micro-dollars, free of binary floating-point residue.
func Round(usd float64) float64 { return FromMicros(Micros(usd)) }

// Add is a + b in micro-dollars, as a rounded dollar figure.
func Add(a, b float64) float64 { return FromMicros(Micros(a) + Micros(b)) }
