package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// reader parses variables and keeps the first error, so Load can read every
// variable (Names relies on that) and still report one clear line.
type reader struct {
	lookup Lookup
	err    error
}

func (r *reader) fail(name, value, allowed string) {
	if r.err == nil {
		r.err = fmt.Errorf("config: %s=%q is invalid: %s", name, value, allowed)
	}
}

// get returns the trimmed value; an empty value counts as unset.
func (r *reader) get(name string) (string, bool) {
	v, ok := r.lookup(name)
	v = strings.TrimSpace(v)
	if !ok || v == "" {
		return "", false
	}
	return v, true
}

func (r *reader) str(name, def string) string {
	if v, ok := r.get(name); ok {
		return v
	}
	return def
}

func (r *reader) choice(name, def string, allowed ...string) string {
	v, ok := r.get(name)
	if !ok {
		return def
	}
	lv := strings.ToLower(v)
	for _, a := range allowed {
		if lv == a {
			return a
		}
	}
	r.fail(name, v, "must be one of "+strings.Join(allowed, ", "))
	return def
}

func (r *reader) intRange(name string, def, lo, hi int) int {
	v, ok := r.get(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.fail(name, v, fmt.Sprintf("must be a whole number between %d and %d", lo, hi))
		return def
	}
	if n < lo || n > hi {
		r.fail(name, v, fmt.Sprintf("must be between %d and %d", lo, hi))
		return def
	}
	return n
}

func (r *reader) int64Min(name string, def, lo int64) int64 {
	v, ok := r.get(name)
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		r.fail(name, v, fmt.Sprintf("must be a whole number >= %d", lo))
		return def
	}
	if n < lo {
		r.fail(name, v, fmt.Sprintf("must be >= %d", lo))
		return def
	}
	return n
}

func (r *reader) floatRange(name string, def, lo, hi float64) float64 {
	v, ok := r.get(name)
	if !ok {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < lo || f > hi {
		r.fail(name, v, fmt.Sprintf("must be a number between %g and %g", lo, hi))
		return def
	}
	return f
}

func (r *reader) boolean(name string, def bool) bool {
	v, ok := r.get(name)
	if !ok {
		return def
	}
	switch strings.ToLower(v) {
	case "true", "1", "yes", "on":
		return true
	case "false", "0", "no", "off":
		return false
	}
	r.fail(name, v, "must be one of true, false, 1, 0, yes, no, on, off")
	return def
}

// addresses reads a list of IP addresses and CIDR ranges.
func (r *reader) addresses(name string) []string {
	out := r.list(name, nil)
	for _, a := range out {
		if net.ParseIP(a) == nil {
			if _, _, err := net.ParseCIDR(a); err != nil {
				r.fail(name, a, "must be a comma-separated list of IP addresses or CIDR ranges (e.g. 10.0.0.0/8)")
				return nil
			}
		}
	}
	return out
}

// list splits a comma-separated value, trimming entries and dropping empty ones.
func (r *reader) list(name string, def []string) []string {
	v, ok := r.get(name)
	if !ok {
		return def
	}
	var out []string
	for _, part := range strings.Split(v, ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}
