package workspace

import (
	"bytes"
	"crypto/sha1" // git blob ids, not security
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// diffContext is the number of unchanged lines around each hunk, as git uses.
const diffContext = 3

// Change types of Change.ChangeType.
const (
	ChangeAdded    = "added"
	ChangeRemoved  = "removed"
	ChangeModified = "modified"
)

// Change describes one file that differs between two file sets.
type Change struct {
	Path         string `json:"path"`
	ChangeType   string `json:"change_type"` // added | removed | modified
	SHA256Before string `json:"sha256_before"`
	SHA256After  string `json:"sha256_after"`
	SizeBefore   int64  `json:"size_before"`
	SizeAfter    int64  `json:"size_after"`
	IsBinary     bool   `json:"is_binary"`
}

// PatchStats counts what a Patch holds.
type PatchStats struct {
	ChangedTotal int `json:"changed_total"`
	Added        int `json:"added"`
	Removed      int `json:"removed"`
	Modified     int `json:"modified"`
	TextFiles    int `json:"text_files"`
	BinaryFiles  int `json:"binary_files"`
	DiffLines    int `json:"diff_lines"`
}

// Patch is the difference between two file sets: a git-style unified diff of
// the text files plus a record of every changed file (binary ones included).
type Patch struct {
	Diff    string     `json:"diff"`
	Changes []Change   `json:"changed_files"`
	Stats   PatchStats `json:"stats"`
}

// Diff compares two file sets and returns a patch that `git apply` accepts:
// for each changed text file, in path order, a `diff --git` header with file
// modes and full blob ids (so `git apply --3way` can fall back to a merge),
// `---`/`+++` lines (/dev/null for added or removed files) and hunks with
// three lines of context; a missing final newline is marked the way git marks
// it. Binary files (containing NUL or not valid UTF-8) are listed in Changes
// but left out of the diff text, so applying it never fails on them. Paths
// are expected clean (as Dir.Files and templates give them); if a path occurs
// twice in one set, the later file wins.
func Diff(before, after []File) Patch {
	old, cur := indexFiles(before), indexFiles(after)
	paths := make([]string, 0, len(cur))
	for p := range cur {
		paths = append(paths, p)
	}
	for p := range old {
		if _, ok := cur[p]; !ok {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)

	patch := Patch{Changes: []Change{}}
	var sb strings.Builder
	for _, p := range paths {
		a, inOld := old[p]
		b, inNew := cur[p]
		if inOld && inNew && bytes.Equal(a, b) {
			continue
		}
		ch := Change{Path: p, ChangeType: ChangeModified}
		switch {
		case !inOld:
			ch.ChangeType = ChangeAdded
			patch.Stats.Added++
		case !inNew:
			ch.ChangeType = ChangeRemoved
			patch.Stats.Removed++
		default:
			patch.Stats.Modified++
		}
		if inOld {
			ch.SHA256Before, ch.SizeBefore = sha256Hex(a), int64(len(a))
		}
		if inNew {
			ch.SHA256After, ch.SizeAfter = sha256Hex(b), int64(len(b))
		}
		ch.IsBinary = (inOld && isBinary(a)) || (inNew && isBinary(b))
		if ch.IsBinary {
			patch.Stats.BinaryFiles++
		} else {
			patch.Stats.TextFiles++
			writeFileDiff(&sb, ch, a, b)
		}
		patch.Changes = append(patch.Changes, ch)
	}
	patch.Diff = sb.String()
	patch.Stats.ChangedTotal = len(patch.Changes)
	patch.Stats.DiffLines = strings.Count(patch.Diff, "\n")
	return patch
}

func indexFiles(files []File) map[string][]byte {
	m := make(map[string][]byte, len(files))
	for _, f := range files {
		m[f.Path] = f.Content
	}
	return m
}

// isBinary reports content that cannot be shown as a text diff.
func isBinary(b []byte) bool {
	return bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(b)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// gitBlobID is the object id git gives content: SHA-1 of "blob <len>\0" + content.
func gitBlobID(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

const nullBlobID = "0000000000000000000000000000000000000000"

// writeFileDiff writes the git-style diff of one text file.
func writeFileDiff(sb *strings.Builder, ch Change, a, b []byte) {
	aName, bName := quotePath("a/"+ch.Path), quotePath("b/"+ch.Path)
	fmt.Fprintf(sb, "diff --git %s %s\n", aName, bName)
	switch ch.ChangeType {
	case ChangeAdded:
		fmt.Fprintf(sb, "new file mode 100644\nindex %s..%s\n", nullBlobID, gitBlobID(b))
		aName = "/dev/null"
	case ChangeRemoved:
		fmt.Fprintf(sb, "deleted file mode 100644\nindex %s..%s\n", gitBlobID(a), nullBlobID)
		bName = "/dev/null"
	default:
		fmt.Fprintf(sb, "index %s..%s 100644\n", gitBlobID(a), gitBlobID(b))
	}
	if len(a) == 0 && len(b) == 0 {
		return // an empty file added or removed: git writes no hunk
	}
	fmt.Fprintf(sb, "--- %s\n+++ %s\n", aName, bName)
	writeHunks(sb, splitLines(a), splitLines(b))
}

// splitLines splits after each '\n'; a last line without one is kept as
// is, so "x" and "x\n" are different lines, as they are to git. The lines
// share one string, so there is one copy of the content, not one per line.
func splitLines(b []byte) []string {
	s := string(b)
	lines := make([]string, 0, strings.Count(s, "\n")+1)
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i+1])
		s = s[i+1:]
	}
	return lines
}

// writeHunks renders the edit script of a -> b as unified-diff hunks.
func writeHunks(sb *strings.Builder, a, b []string) {
	script := diffLines(a, b)
	// aPos[i], bPos[i]: lines of a and b consumed before script[i].
	aPos, bPos := make([]int, len(script)+1), make([]int, len(script)+1)
	for i, e := range script {
		aPos[i+1], bPos[i+1] = aPos[i], bPos[i]
		if e.kind != editInsert {
			aPos[i+1]++
		}
		if e.kind != editDelete {
			bPos[i+1]++
		}
	}
	for i := 0; i < len(script); {
		if script[i].kind == editEqual {
			i++
			continue
		}
		start := max(0, i-diffContext)
		// Extend over changes separated by at most 2*context equal lines.
		end, equalRun := i, 0
		for j := i; j < len(script) && equalRun <= 2*diffContext; j++ {
			if script[j].kind == editEqual {
				equalRun++
				continue
			}
			equalRun = 0
			end = j + 1
		}
		end = min(len(script), end+diffContext)
		fmt.Fprintf(sb, "@@ -%s +%s @@\n",
			hunkRange(aPos[start], aPos[end]-aPos[start]), hunkRange(bPos[start], bPos[end]-bPos[start]))
		for _, e := range script[start:end] {
			switch e.kind {
			case editEqual:
				writeLine(sb, ' ', a[e.a])
			case editDelete:
				writeLine(sb, '-', a[e.a])
			case editInsert:
				writeLine(sb, '+', b[e.b])
			}
		}
		i = end
	}
}

// hunkRange formats one side of a hunk header the way GNU diff and git do:
// "l" for one line, "l,n" otherwise, and the line before for an empty side.
func hunkRange(start, count int) string {
	switch count {
	case 0:
		return strconv.Itoa(start) + ",0"
	case 1:
		return strconv.Itoa(start + 1)
	}
	return strconv.Itoa(start+1) + "," + strconv.Itoa(count)
}

func writeLine(sb *strings.Builder, prefix byte, line string) {
	sb.WriteByte(prefix)
	sb.WriteString(line)
	if !strings.HasSuffix(line, "\n") {
		sb.WriteString("\n\\ No newline at end of file\n")
	}
}

// quotePath quotes a name the way git does when it holds a double quote, a
// backslash, a control character or a non-ASCII byte (core.quotePath), so
// `git apply` reads the name back exactly.
func quotePath(name string) string {
	needs := false
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			needs = true
			break
		}
	}
	if !needs {
		return name
	}
	var sb strings.Builder
	sb.WriteByte('"')
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == '"' || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c == '\t':
			sb.WriteString(`\t`)
		case c == '\n':
			sb.WriteString(`\n`)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&sb, `\%03o`, c)
		default:
			sb.WriteByte(c)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}
