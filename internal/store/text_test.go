package store

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestCleanText(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain", "plain"},
		{"", ""},
		{"a\x00b", `a\x00b`},
		{"\x00\x00", `\x00\x00`},
		{`already \x00 escaped`, `already \x00 escaped`},
		{"bad \xff\xfe byte", "bad \uFFFD byte"},
		{"both \x00 and \xff", `both \x00 and ` + "\uFFFD"},
		{"ünïcödé ok", "ünïcödé ok"},
	}
	for _, c := range cases {
		if got := CleanText(c.in); got != c.want {
			t.Errorf("CleanText(%q) = %q, want %q", c.in, got, c.want)
		}
		if again := CleanText(c.want); again != c.want {
			t.Errorf("CleanText is not idempotent on %q: %q", c.want, again)
		}
	}
}

// TestCleanJSON: only \u0000 inside strings changes; escaped backslashes
// before the text u0000 are not a NUL, and the result always decodes to what
// CleanText makes of each decoded string.
func TestCleanJSON(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"a": 1}`, `{"a": 1}`},
		{`{"out": "x\u0000y"}`, `{"out": "x\\x00y"}`},
		{`{"k\u0000": "\u0000"}`, `{"k\\x00": "\\x00"}`},
		{`["\u0000\u0000", "\u0000"]`, `["\\x00\\x00", "\\x00"]`},
		{`{"lit": "C:\\u0000"}`, `{"lit": "C:\\u0000"}`},
		{`{"both": "\\\u0000"}`, `{"both": "\\\\x00"}`},
		{`{"q": "\"\u0000\""}`, `{"q": "\"\\x00\""}`},
		{`{"other": "\u0001\u00e9\n"}`, `{"other": "\u0001\u00e9\n"}`},
		{"{\"raw\": \"\xff\"}", "{\"raw\": \"\uFFFD\"}"},
		{`"\u0000"`, `"\\x00"`},
	}
	for _, c := range cases {
		got := cleanJSON([]byte(c.in))
		if string(got) != c.want {
			t.Errorf("cleanJSON(%s) = %s, want %s", c.in, got, c.want)
			continue
		}
		var before, after any
		if err := json.Unmarshal([]byte(c.in), &before); err != nil {
			t.Fatalf("test input %s: %v", c.in, err)
		}
		if err := json.Unmarshal(got, &after); err != nil {
			t.Errorf("cleanJSON(%s) is not valid JSON: %v", c.in, err)
			continue
		}
		if want := cleanDecoded(before); !reflect.DeepEqual(after, want) {
			t.Errorf("cleanJSON(%s) decodes to %#v, want %#v", c.in, after, want)
		}
	}
}

// cleanDecoded applies CleanText to every string of a decoded document.
func cleanDecoded(v any) any {
	switch x := v.(type) {
	case string:
		return CleanText(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cleanDecoded(e)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[CleanText(k)] = cleanDecoded(e)
		}
		return out
	}
	return v
}
