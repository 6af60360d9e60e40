package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

func staticFS(t *testing.T) fs.FS {
	t.Helper()
	sub, err := fs.Sub(assets, "static")
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// forbidden are constructs that would let server data become markup or
// code, or keep secrets where they outlive the tab. The UI builds every
// element with createElement and text nodes (see assets/js/dom.js).
var forbidden = []struct {
	name string
	re   *regexp.Regexp
}{
	{"innerHTML", regexp.MustCompile(`innerHTML`)},
	{"outerHTML", regexp.MustCompile(`outerHTML`)},
	{"insertAdjacentHTML", regexp.MustCompile(`insertAdjacentHTML`)},
	{"document.write", regexp.MustCompile(`document\.write`)},
	{"eval", regexp.MustCompile(`\beval\s*\(`)},
	{"new Function", regexp.MustCompile(`new\s+Function\s*\(`)},
	{"string timers", regexp.MustCompile(`set(?:Timeout|Interval)\s*\(\s*['"\x60]`)},
	{"createContextualFragment", regexp.MustCompile(`createContextualFragment`)},
	{"DOMParser", regexp.MustCompile(`DOMParser`)},
	{"srcdoc", regexp.MustCompile(`srcdoc`)},
	{"javascript: URLs", regexp.MustCompile(`javascript:`)},
	{"localStorage", regexp.MustCompile(`localStorage`)},
	{"credentials in a URL", regexp.MustCompile(`[?&](?:api_key|access_token)=`)},
	{"inline handler attribute", regexp.MustCompile(`setAttribute\(\s*['"]on`)},
}

func TestStaticJavaScriptHasNoUnsafeSinks(t *testing.T) {
	sub := staticFS(t)
	var checked int
	err := fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".js" {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		checked++
		for i, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "//") {
				continue
			}
			for _, f := range forbidden {
				if f.re.MatchString(line) {
					t.Errorf("%s:%d uses %s: %s", p, i+1, f.name, strings.TrimSpace(line))
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Fatalf("checked only %d JavaScript files; the UI has more", checked)
	}
}

func TestIndexHasNoInlineCodeOrStyle(t *testing.T) {
	b, err := fs.ReadFile(staticFS(t), "index.html")
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, m := range regexp.MustCompile(`(?s)<script\b([^>]*)>(.*?)</script>`).FindAllStringSubmatch(html, -1) {
		if !strings.Contains(m[1], "src=") || strings.TrimSpace(m[2]) != "" {
			t.Errorf("index.html has an inline script: %q", m[0])
		}
	}
	cases := []struct {
		name string
		re   *regexp.Regexp
	}{
		{"style element", regexp.MustCompile(`<style\b`)},
		{"style attribute", regexp.MustCompile(`\sstyle\s*=`)},
		{"event handler attribute", regexp.MustCompile(`\son[a-z]+\s*=`)},
		{"external resource", regexp.MustCompile(`(?:src|href)\s*=\s*["']?(?:https?:)?//`)},
	}
	for _, c := range cases {
		if m := c.re.FindString(html); m != "" {
			t.Errorf("index.html has %s: %q", c.name, m)
		}
	}
}

// TestAssetReferencesResolve checks that every module import, script and
// stylesheet the UI names is embedded, so nothing is fetched from elsewhere.
func TestAssetReferencesResolve(t *testing.T) {
	sub := staticFS(t)
	importRe := regexp.MustCompile(`(?m)^\s*import\s[^'"]*['"]([^'"]+)['"]`)
	refRe := regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`)
	exists := func(p string) bool {
		_, err := fs.Stat(sub, strings.TrimPrefix(p, "/"))
		return err == nil
	}
	index, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	refs := refRe.FindAllStringSubmatch(string(index), -1)
	if len(refs) < 2 {
		t.Fatalf("index.html references %d assets; expected the script and the stylesheet", len(refs))
	}
	for _, m := range refs {
		if !exists(m[1]) {
			t.Errorf("index.html references missing %s", m[1])
		}
	}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".js" {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		for _, m := range importRe.FindAllStringSubmatch(string(b), -1) {
			if !strings.HasPrefix(m[1], ".") {
				t.Errorf("%s imports %q: only relative imports of embedded modules are allowed", p, m[1])
				continue
			}
			if target := path.Join(path.Dir(p), m[1]); !exists(target) {
				t.Errorf("%s imports missing %s", p, target)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestHandlerServesPagesAndAssets(t *testing.T) {
	h := Handler()
	cases := []struct {
		path        string
		status      int
		contentType string
		contains    string
	}{
		{"/", 200, "text/html", `<script type="module" src="/assets/js/main.js">`},
		{"/app/tasks", 200, "text/html", `id="main"`},
		{"/app/tasks/0b5f9c1e-0000-4000-8000-000000000000", 200, "text/html", `id="main"`},
		{"/assets/js/main.js", 200, "text/javascript", "boot()"},
		{"/assets/app.css", 200, "text/css", ":root"},
		{"/assets/favicon.svg", 200, "image/svg+xml", "<svg"},
		{"/assets/missing.js", 404, "", ""},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, c.path, nil))
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d", rec.Code, c.status)
			}
			if c.contentType != "" && !strings.HasPrefix(rec.Header().Get("Content-Type"), c.contentType) {
				t.Errorf("Content-Type %q, want %s", rec.Header().Get("Content-Type"), c.contentType)
			}
			if !strings.Contains(rec.Body.String(), c.contains) {
				t.Errorf("body lacks %q", c.contains)
			}
		})
	}
}
