package codex

import (
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"ai-platform/internal/agents"
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

// maxPromptChars bounds a prompt override: it is sent with every request of
// its role, so a runaway file would cost tokens on every call.
const maxPromptChars = 32 << 10

// prompts reads the "prompts" object: role -> the prompt text itself, or
// {"file": "path"} with the path relative to the codex file (dir). A file's
// text is also written back into raw, so the codex hash changes when the
// prompt does.
func (p *parser) prompts(m map[string]any, dir string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, role := range slices.Sorted(maps.Keys(m)) {
		field := "prompts." + role
		if !slices.Contains(agents.Roles(), role) {
			p.fail(field, fmt.Sprintf("names an unknown role %q (known: %s)", role, strings.Join(agents.Roles(), ", ")))
			return nil
		}
		var text string
		switch v := m[role].(type) {
		case string:
			text = v
		case map[string]any:
			text = p.promptFile(field, v, dir)
			if p.err != nil {
				return nil
			}
			m[role] = map[string]any{"file": v["file"], "text": text}
		default:
			p.fail(field, `must be the prompt text or {"file": "path relative to the codex"}`)
			return nil
		}
		if strings.TrimSpace(text) == "" {
			p.fail(field, "must not be empty")
			return nil
		}
		if n := utf8.RuneCountInString(text); n > maxPromptChars {
			p.fail(field, fmt.Sprintf("is %d characters; the limit is %d", n, maxPromptChars))
			return nil
		}
		out[role] = text
	}
	return out
}

// promptFile reads {"file": "path"} relative to dir.
func (p *parser) promptFile(field string, v map[string]any, dir string) string {
	name, ok := v["file"].(string)
	if !ok || name == "" || len(v) != 1 {
		p.fail(field, `must be the prompt text or {"file": "path relative to the codex"}`)
		return ""
	}
	if dir == "" {
		p.fail(field+".file", "needs a codex read from a file (CODEX_PATH) to resolve against")
		return ""
	}
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, name)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		p.fail(field+".file", fmt.Sprintf("cannot be read: %v", err))
		return ""
	}
	if !utf8.Valid(b) {
		p.fail(field+".file", "is not UTF-8 text")
		return ""
	}
	return string(b)
}
