package workspace

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// applyEdits rebuilds b from a and the script, failing on any inconsistency.
func applyEdits(t *testing.T, a, b []string, script []edit) []string {
	t.Helper()
	var out []string
	ai, bi := 0, 0
	for _, e := range script {
		switch e.kind {
		case editEqual:
			if e.a != ai || e.b != bi || a[e.a] != b[e.b] {
				t.Fatalf("bad equal %+v at a=%d b=%d", e, ai, bi)
			}
			out = append(out, a[e.a])
			ai++
			bi++
		case editDelete:
			if e.a != ai {
				t.Fatalf("bad delete %+v at a=%d", e, ai)
			}
			ai++
		case editInsert:
			if e.b != bi {
				t.Fatalf("bad insert %+v at b=%d", e, bi)
			}
			out = append(out, b[e.b])
			bi++
		}
	}
	if ai != len(a) || bi != len(b) {
		t.Fatalf("script consumed a=%d/%d b=%d/%d", ai, len(a), bi, len(b))
	}
	return out
}

// lcsLen is the textbook O(NM) longest common subsequence length.
func lcsLen(a, b []string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			switch {
			case a[i-1] == b[j-1]:
				cur[j] = prev[j-1] + 1
			case prev[j] >= cur[j-1]:
				cur[j] = prev[j]
			default:
				cur[j] = cur[j-1]
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func countEqual(script []edit) int {
	n := 0
	for _, e := range script {
		if e.kind == editEqual {
			n++
		}
	}
	return n
}

func TestDiffLinesTable(t *testing.T) {
	tests := []struct {
		name string
		a, b string // one character per line
	}{
		{"both empty", "", ""},
		{"insert all", "", "abc"},
		{"delete all", "abc", ""},
		{"same", "abc", "abc"},
		{"single replace", "a", "b"},
		{"middle change", "abcdef", "abXdef"},
		{"myers paper", "abcabba", "cbabac"},
		{"swap", "ab", "ba"},
		{"prefix insert", "bc", "abc"},
		{"suffix delete", "abc", "ab"},
		{"interleaved", "axbxcx", "ybycy"},
		{"repeated", "aaaaab", "baaaaa"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := chars(tt.a), chars(tt.b)
			script := diffLines(a, b)
			if got := applyEdits(t, a, b, script); !slices.Equal(got, b) {
				t.Fatalf("applied = %v, want %v", got, b)
			}
			if got, want := countEqual(script), lcsLen(a, b); got != want {
				t.Fatalf("kept %d lines, LCS is %d: not minimal", got, want)
			}
		})
	}
}

func TestDiffLinesRandomIsValidAndMinimal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		alpha := 2 + r.IntN(6)
		a := randLines(r, r.IntN(40), alpha)
		b := mutate(r, a, alpha)
		script := diffLines(a, b)
		if got := applyEdits(t, a, b, script); !slices.Equal(got, b) {
			t.Fatalf("case %d: applied = %v, want %v", i, got, b)
		}
		if got, want := countEqual(script), lcsLen(a, b); got != want {
			t.Fatalf("case %d: kept %d lines, LCS is %d\na=%v\nb=%v", i, got, want, a, b)
		}
	}
}

func TestDiffLinesCostCapStaysCorrect(t *testing.T) {
	// Two long, entirely different files exceed maxBisectCost.
	n := 3 * maxBisectCost
	a, b := make([]string, n), make([]string, n)
	for i := range n {
		a[i] = "a" + strings.Repeat("x", i%7) + string(rune('0'+i%10))
		b[i] = "b" + string(rune('0'+i%10))
	}
	b[n/2] = a[n/2]
	script := diffLines(a, b)
	if got := applyEdits(t, a, b, script); !slices.Equal(got, b) {
		t.Fatal("capped diff does not rebuild b")
	}
}

func FuzzDiffLines(f *testing.F) {
	f.Add("abcabba", "cbabac")
	f.Add("", "x")
	f.Fuzz(func(t *testing.T, sa, sb string) {
		if len(sa) > 200 || len(sb) > 200 {
			return
		}
		a, b := chars(sa), chars(sb)
		script := diffLines(a, b)
		if got := applyEdits(t, a, b, script); !slices.Equal(got, b) {
			t.Fatalf("applied = %v, want %v", got, b)
		}
		if got, want := countEqual(script), lcsLen(a, b); got != want {
			t.Fatalf("kept %d lines, LCS is %d", got, want)
		}
	})
}

func chars(s string) []string {
	out := make([]string, 0, len(s))
	for _, r := range s {
		out = append(out, string(r))
	}
	return out
}

func randLines(r *rand.Rand, n, alpha int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = string(rune('a' + r.IntN(alpha)))
	}
	return out
}

// mutate applies a few random inserts, deletes and replacements.
func mutate(r *rand.Rand, a []string, alpha int) []string {
	b := slices.Clone(a)
	for range r.IntN(8) {
		pos := 0
		if len(b) > 0 {
			pos = r.IntN(len(b) + 1)
		}
		line := string(rune('a' + r.IntN(alpha)))
		switch op := r.IntN(3); {
		case op == 0 || len(b) == 0 || pos == len(b):
			b = slices.Insert(b, pos, line)
		case op == 1:
			b = slices.Delete(b, pos, pos+1)
		default:
			b[pos] = line
		}
	}
	if r.IntN(10) == 0 {
		return randLines(r, r.IntN(40), alpha)
	}
	return b
}
