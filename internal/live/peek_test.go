package live

import (
	"fmt"
	"strings"
	"testing"
)

// collect feeds chunks to a Peek and returns "path=value" for every
// string value, the value being the concatenation of its fragments.
func collect(t *testing.T, chunks []string) []string {
	t.Helper()
	var out []string
	var cur strings.Builder
	open := false
	p := newPeek(func(path []Frame, frag string, end bool) {
		cur.WriteString(frag)
		open = true
		if end {
			out = append(out, pathString(path)+"="+cur.String())
			cur.Reset()
			open = false
		}
	})
	for _, c := range chunks {
		p.Write(c)
	}
	p.Close()
	if open {
		out = append(out, pathString(nil)+"(open)="+cur.String())
	}
	return out
}

func pathString(path []Frame) string {
	var b strings.Builder
	for _, f := range path {
		if f.Array {
			fmt.Fprintf(&b, "[%d]", f.Index)
		} else {
			b.WriteString("." + f.Key)
		}
	}
	return b.String()
}

func TestPeekEverySplit(t *testing.T) {
	cases := []struct {
		name string
		doc  string
		want []string
	}{
		{"coder reply with escapes",
			`{"files":[{"path":"src/a.py","content":"def f():\n\treturn \"hi\" \\ \/ \u00e9\u65e5"},` +
				`{"path":"b\u002fc.py","content":"x = '\ud83d\ude00'"}],"summary":"two files"}`,
			[]string{".files[0].path=src/a.py", ".files[0].content=def f():\n\treturn \"hi\" \\ / é日",
				".files[1].path=b/c.py", ".files[1].content=x = '😀'", ".summary=two files"}},
		{"raw UTF-8 and numbers",
			`{"n": 12, "ok": true, "list": ["héllo", "日本語", null, 3.5], "nested": {"k": "v\r"}}`,
			[]string{".list[0]=héllo", ".list[1]=日本語", ".nested.k=v\r"}},
		{"escaped keys and lone surrogate",
			`{"a\"b": "\ud800x", "c": "\uDBFF\uDFFF"}`,
			[]string{".a\"b=\uFFFDx", ".c=\U0010FFFF"}},
		{"markdown fence", "```json\n{\"summary\": \"ok\"}\n```", []string{".summary=ok"}},
		{"not JSON", "Sorry, I can't.", []string{"=Sorry, I can't."}},
		{"top-level array", `[{"x":"1"},"2"]`, []string{"[0].x=1", "[1]=2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			whole := collect(t, []string{c.doc})
			if strings.Join(whole, "|") != strings.Join(c.want, "|") {
				t.Fatalf("whole document:\n got %q\nwant %q", whole, c.want)
			}
			// Every split point, and every split into three for short docs.
			for i := 0; i <= len(c.doc); i++ {
				got := collect(t, []string{c.doc[:i], c.doc[i:]})
				if strings.Join(got, "|") != strings.Join(c.want, "|") {
					t.Fatalf("split at %d (%q | %q):\n got %q\nwant %q", i, c.doc[:i], c.doc[i:], got, c.want)
				}
			}
			for i := 0; i <= len(c.doc); i++ {
				for j := i; j <= len(c.doc) && len(c.doc) <= 120; j++ {
					got := collect(t, []string{c.doc[:i], c.doc[i:j], c.doc[j:]})
					if strings.Join(got, "|") != strings.Join(c.want, "|") {
						t.Fatalf("split at %d,%d:\n got %q\nwant %q", i, j, got, c.want)
					}
				}
			}
			// One byte at a time.
			var bytes []string
			for i := 0; i < len(c.doc); i++ {
				bytes = append(bytes, c.doc[i:i+1])
			}
			if got := collect(t, bytes); strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Fatalf("byte by byte:\n got %q\nwant %q", got, c.want)
			}
		})
	}
}

// A fragment never ends inside a UTF-8 sequence, even when a chunk does.
func TestPeekFragmentsAreValidUTF8(t *testing.T) {
	doc := `{"content":"日本語😀é"}`
	for i := 0; i <= len(doc); i++ {
		p := newPeek(func(_ []Frame, frag string, _ bool) {
			if strings.ToValidUTF8(frag, "") != frag {
				t.Fatalf("split at %d: invalid fragment %q", i, frag)
			}
		})
		p.Write(doc[:i])
		p.Write(doc[i:])
		p.Close()
	}
}

// A reply cut off mid-string reports what it had on Close.
func TestPeekCloseInsideString(t *testing.T) {
	got := collect(t, []string{`{"files":[{"path":"a.py","content":"line1\nli`})
	want := []string{".files[0].path=a.py", ".files[0].content=line1\nli"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q, want %q", got, want)
	}
}
