package mockproject

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Clean turns untrusted text (a task description, an answer, a purpose) into
// one line that is safe inside a Python docstring, a double-quoted Python
// string, Markdown and TOML comments: backslashes become "/", double quotes
// become "'", control and format characters (bidi overrides, zero-width
// joiners, NUL) are dropped, invalid UTF-8 becomes U+FFFD, whitespace runs
// collapse to one space, and the result is cut to at most max runes at a word
// boundary with "..." appended.
func Clean(s string, max int) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '\\':
			b.WriteRune('/')
		case r == '"':
			b.WriteRune('\'')
		case unicode.IsSpace(r):
			b.WriteRune(' ')
		case unicode.IsGraphic(r):
			b.WriteRune(r)
		}
	}
	return truncate(strings.Join(strings.Fields(b.String()), " "), max)
}

// truncate cuts s to at most max runes, preferring a word boundary.
func truncate(s string, max int) string {
	if max <= 0 || utf8.RuneCountInString(s) <= max {
		return s
	}
	runes := []rune(s)
	if max < 8 {
		return string(runes[:max])
	}
	cut := string(runes[:max-3])
	if i := strings.LastIndexByte(cut, ' '); i > len(cut)/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " .,;:") + "..."
}

// Wrap breaks clean one-line text into lines of at most width runes; words
// longer than width are split.
func Wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		for utf8.RuneCountInString(word) > width {
			if line != "" {
				lines = append(lines, line)
				line = ""
			}
			runes := []rune(word)
			lines = append(lines, string(runes[:width]))
			word = string(runes[width:])
		}
		switch {
		case line == "":
			line = word
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) <= width:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// pyString renders clean text (no backslash, no double quote) as a
// parenthesised Python string literal split into chunks that keep every line
// well under 100 columns.
func pyString(s string) string {
	const width = 70
	var chunks []string
	var cur []rune
	for _, r := range s {
		cur = append(cur, r)
		if len(cur) >= width && r == ' ' || len(cur) >= width+20 {
			chunks = append(chunks, string(cur))
			cur = nil
		}
	}
	if len(cur) > 0 || len(chunks) == 0 {
		chunks = append(chunks, string(cur))
	}
	var b strings.Builder
	b.WriteString("(\n")
	for _, c := range chunks {
		b.WriteString("    \"" + c + "\"\n")
	}
	b.WriteString(")")
	return b.String()
}

// Sentences splits clean text into sentences or clauses: at ".", "!" or "?"
// followed by a space, and at ";". Empty pieces are dropped.
func Sentences(s string) []string {
	var out []string
	start := 0
	runes := []rune(s)
	for i, r := range runes {
		end := r == ';' || (r == '.' || r == '!' || r == '?') && (i+1 == len(runes) || runes[i+1] == ' ')
		if !end {
			continue
		}
		if piece := strings.TrimSpace(string(runes[start:i])); piece != "" {
			out = append(out, piece)
		}
		start = i + 1
	}
	if piece := strings.TrimSpace(string(runes[start:])); piece != "" {
		out = append(out, piece)
	}
	return out
}

// Title derives a short project title (at most eight words, 60 runes) from
// clean text, or returns fallback when it has no letter or digit.
func Title(s, fallback string) string {
	first := ""
	if parts := Sentences(s); len(parts) > 0 {
		first = parts[0]
	}
	words := strings.Fields(first)
	if len(words) > 8 {
		words = words[:8]
	}
	title := strings.Trim(truncate(strings.Join(words, " "), 60), " ,:-'")
	if !strings.ContainsFunc(title, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
		return fallback
	}
	r, size := utf8.DecodeRuneInString(title)
	return string(unicode.ToUpper(r)) + title[size:]
}
