package workspace

// This file holds a line diff: Myers' O(ND) algorithm in its linear-space
// form (divide and conquer on the middle snake), the same approach as
// diff-match-patch's bisect. Lines are interned to ints first, so comparing
// two lines is one integer compare.

// maxBisectCost caps the edit distance one bisection explores. Past it the
// sub-range is reported as "delete all, insert all": still a correct diff,
// just not a minimal one, and it bounds the time an adversarial file (tens of
// thousands of distinct one-character lines) can take.
const maxBisectCost = 2048

type editKind uint8

const (
	editEqual editKind = iota
	editDelete
	editInsert
)

// edit is one line of an edit script: an equal line (a and b both set), a
// deleted line of a, or an inserted line of b.
type edit struct {
	kind editKind
	a, b int // line indexes; the one that does not apply is -1
}

// differ carries the interned middle of both sequences (after the common
// prefix and suffix), their offsets in the full sequences, and the output.
type differ struct {
	a, b       []int
	aOff, bOff int
	out        []edit
	v          []int // scratch for bisect: two V arrays back to back
}

// diffLines returns an edit script turning a into b. The common prefix and
// suffix are matched directly; a typical edit touches a few lines in the
// middle, so only those are interned and searched.
func diffLines(a, b []string) []edit {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	midA, midB := a[pre:len(a)-suf], b[pre:len(b)-suf]
	ids := make(map[string]int, len(midA)+len(midB))
	intern := func(lines []string) []int {
		out := make([]int, len(lines))
		for i, l := range lines {
			id, ok := ids[l]
			if !ok {
				id = len(ids)
				ids[l] = id
			}
			out[i] = id
		}
		return out
	}
	d := &differ{a: intern(midA), b: intern(midB), aOff: pre, bOff: pre, out: make([]edit, 0, max(len(a), len(b)))}
	for i := range pre {
		d.out = append(d.out, edit{editEqual, i, i})
	}
	d.diff(0, len(midA), 0, len(midB))
	for i := range suf {
		d.out = append(d.out, edit{editEqual, len(a) - suf + i, len(b) - suf + i})
	}
	return d.out
}

// diff appends the edit script for a[aLo:aHi] -> b[bLo:bHi].
func (d *differ) diff(aLo, aHi, bLo, bHi int) {
	for aLo < aHi && bLo < bHi && d.a[aLo] == d.b[bLo] {
		d.out = append(d.out, edit{editEqual, d.aOff + aLo, d.bOff + bLo})
		aLo++
		bLo++
	}
	suffix := 0
	for aHi-suffix > aLo && bHi-suffix > bLo && d.a[aHi-suffix-1] == d.b[bHi-suffix-1] {
		suffix++
	}
	aHi -= suffix
	bHi -= suffix
	switch {
	case aLo == aHi:
		d.inserts(bLo, bHi)
	case bLo == bHi:
		d.deletes(aLo, aHi)
	default:
		x, y, ok := d.bisect(aLo, aHi, bLo, bHi)
		if ok {
			d.diff(aLo, x, bLo, y)
			d.diff(x, aHi, y, bHi)
		} else {
			d.deletes(aLo, aHi)
			d.inserts(bLo, bHi)
		}
	}
	for i := range suffix {
		d.out = append(d.out, edit{editEqual, d.aOff + aHi + i, d.bOff + bHi + i})
	}
}

func (d *differ) deletes(lo, hi int) {
	for i := lo; i < hi; i++ {
		d.out = append(d.out, edit{editDelete, d.aOff + i, -1})
	}
}

func (d *differ) inserts(lo, hi int) {
	for i := lo; i < hi; i++ {
		d.out = append(d.out, edit{editInsert, -1, d.bOff + i})
	}
}

// bisect finds the middle snake of an optimal path through a[aLo:aHi] ->
// b[bLo:bHi] by running the forward and reverse searches towards each other,
// and returns the absolute split point after that snake. Both ranges are
// non-empty and differ in their first and last lines (diff trims those).
func (d *differ) bisect(aLo, aHi, bLo, bHi int) (x, y int, ok bool) {
	a, b := d.a[aLo:aHi], d.b[bLo:bHi]
	n, m := len(a), len(b)
	maxD := (n + m + 1) / 2
	off := maxD + 1
	vLen := 2*maxD + 2
	if cap(d.v) < 2*vLen {
		d.v = make([]int, 2*vLen)
	}
	v1, v2 := d.v[:vLen], d.v[vLen:2*vLen]
	for i := range v1 {
		v1[i], v2[i] = -1, -1
	}
	v1[off+1], v2[off+1] = 0, 0
	delta := n - m
	front := delta%2 != 0 // odd delta: the forward search detects the overlap
	k1start, k1end, k2start, k2end := 0, 0, 0, 0
	for D := 0; D < maxD && D <= maxBisectCost; D++ {
		// Forward search along diagonals k1 = x - y.
		for k1 := -D + k1start; k1 <= D-k1end; k1 += 2 {
			i := off + k1
			var x1 int
			if k1 == -D || (k1 != D && v1[i-1] < v1[i+1]) {
				x1 = v1[i+1]
			} else {
				x1 = v1[i-1] + 1
			}
			y1 := x1 - k1
			for x1 < n && y1 < m && a[x1] == b[y1] {
				x1++
				y1++
			}
			v1[i] = x1
			switch {
			case x1 > n:
				k1end += 2 // ran off the right edge
			case y1 > m:
				k1start += 2 // ran off the bottom edge
			case front:
				j := off + delta - k1
				// v2[j] is the reverse reach on the same diagonal; values past
				// the edge belong to paths that left the grid and never overlap.
				if j >= 0 && j < vLen && v2[j] != -1 && v2[j] <= n && x1 >= n-v2[j] {
					return d.split(aLo, aHi, bLo, bHi, x1, y1)
				}
			}
		}
		// Reverse search, counting from the ends of both sequences.
		for k2 := -D + k2start; k2 <= D-k2end; k2 += 2 {
			i := off + k2
			var x2 int
			if k2 == -D || (k2 != D && v2[i-1] < v2[i+1]) {
				x2 = v2[i+1]
			} else {
				x2 = v2[i-1] + 1
			}
			y2 := x2 - k2
			for x2 < n && y2 < m && a[n-x2-1] == b[m-y2-1] {
				x2++
				y2++
			}
			v2[i] = x2
			switch {
			case x2 > n:
				k2end += 2
			case y2 > m:
				k2start += 2
			case !front:
				j := off + delta - k2
				if j >= 0 && j < vLen && v1[j] != -1 {
					x1 := v1[j]
					y1 := x1 - (j - off)
					if x1 <= n && y1 >= 0 && y1 <= m && x1 >= n-x2 {
						return d.split(aLo, aHi, bLo, bHi, x1, y1)
					}
				}
			}
		}
	}
	return 0, 0, false
}

// split converts a relative split point to absolute indexes, refusing one
// that would not shrink the problem (it cannot happen for trimmed ranges, but
// a wrong split must never turn into endless recursion).
func (d *differ) split(aLo, aHi, bLo, bHi, x, y int) (int, int, bool) {
	if x < 0 || y < 0 || aLo+x > aHi || bLo+y > bHi ||
		(x == 0 && y == 0) || (aLo+x == aHi && bLo+y == bHi) {
		return 0, 0, false
	}
	return aLo + x, bLo + y, true
}
