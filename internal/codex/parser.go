package codex

import (
	"fmt"
	"math"
)

// parser reads typed fields from the decoded JSON and keeps the first error,
// which names the field and says what was expected.
type parser struct {
	raw map[string]any
	err error
}

func (p *parser) fail(field, msg string) {
	if p.err == nil {
		p.err = fmt.Errorf("field %s %s", field, msg)
	}
}

func (p *parser) str(key string, required bool) string {
	v, ok := p.raw[key]
	if !ok {
		if required {
			p.fail(key, "is required (a string)")
		}
		return ""
	}
	s, ok := v.(string)
	if !ok || s == "" {
		p.fail(key, "must be a non-empty string")
	}
	return s
}

func (p *parser) object(parent map[string]any, key string, required bool) map[string]any {
	if parent == nil {
		return nil
	}
	v, ok := parent[key]
	if !ok {
		if required {
			p.fail(key, "is required (an object)")
		}
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		p.fail(key, "must be an object")
		return nil
	}
	return m
}

func (p *parser) strings(parent map[string]any, field, key string, required bool) []string {
	if parent == nil {
		if required {
			p.fail(field, "is required (a list of strings)")
		}
		return nil
	}
	v, ok := parent[key]
	if !ok {
		if required {
			p.fail(field, "is required (a list of strings)")
		}
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		p.fail(field, "must be a list of strings")
		return nil
	}
	out := make([]string, 0, len(list))
	for _, item := range list {
		s, ok := item.(string)
		if !ok {
			p.fail(field, "must contain only strings")
			return nil
		}
		out = append(out, s)
	}
	return out
}

func (p *parser) positiveInt(parent map[string]any, field, key string, def int) int {
	if parent == nil {
		return def
	}
	v, ok := parent[key]
	if !ok {
		return def
	}
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || f < 1 || f > 1e9 {
		p.fail(field, fmt.Sprintf("must be a positive whole number, got %v", v))
		return def
	}
	return int(f)
}

func (p *parser) boolean(parent map[string]any, field, key string, def bool) bool {
	if parent == nil {
		return def
	}
	v, ok := parent[key]
	if !ok {
		return def
	}
	b, ok := v.(bool)
	if !ok {
		p.fail(field, fmt.Sprintf("must be true or false, got %v", v))
		return def
	}
	return b
}
