package store

import (
	"bytes"
	"slices"
	"strings"
	"unicode/utf8"

	"ai-platform/internal/pricing"
	"ai-platform/internal/task"
)

// Text that PostgreSQL can hold. Its text columns refuse a NUL byte and bytes
// that are not UTF-8 (SQLSTATE 22021), and jsonb refuses the escape \u0000
// (22P05), yet command output and model output may carry either. A refused
// write used to fail the whole task with internal_error, so every string and
// JSON document the stores keep passes through the helpers below first. NUL
// becomes the four characters \x00, so it stays visible instead of vanishing;
// bytes that are not UTF-8 become U+FFFD (encoding/json does much the same
// for what it marshals). The memory store applies the same helpers, so both
// stores hand back the same thing. File contents are bytea and stay byte-exact.

// NULEscape is what a NUL character is stored as.
const NULEscape = `\x00`

// jsonNUL is NUL as JSON spells it; jsonNULEscape is NULEscape as a JSON
// string spells it.
var (
	jsonNUL       = []byte(`\u0000`)
	jsonNULEscape = []byte(`\\x00`)
)

// CleanText returns s as both stores keep it: every NUL replaced by NULEscape
// and every byte that is not UTF-8 by U+FFFD. Callers that keep their own
// copy of text they also store (the workflow's questions) use it so the two
// copies agree.
func CleanText(s string) string {
	if !textNeedsClean(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", NULEscape)
}

// textNeedsClean reports whether CleanText would change s.
func textNeedsClean(s string) bool {
	return strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s)
}

// cleanJSON returns a valid JSON document as both stores keep it: \u0000
// inside strings (keys included) becomes the JSON spelling of NULEscape and
// bytes that are not UTF-8 become U+FFFD. doc must already be valid JSON
// (checkJSON), which is what lets a single pass tell strings apart: a raw NUL
// cannot occur in valid JSON, only its escape. It returns doc itself when
// nothing changes.
func cleanJSON(doc []byte) []byte {
	if !bytes.Contains(doc, jsonNUL) {
		if utf8.Valid(doc) {
			return doc
		}
		return bytes.ToValidUTF8(doc, []byte("\uFFFD"))
	}
	doc = bytes.ToValidUTF8(doc, []byte("\uFFFD"))
	out := make([]byte, 0, len(doc)+8)
	last := 0
	inString := false
	for i := 0; i < len(doc); i++ {
		switch c := doc[i]; {
		case !inString:
			inString = c == '"'
		case c == '"':
			inString = false
		case c == '\\':
			// An escape: \u0000 is the one jsonb refuses. Anything else
			// (\\ and \" above all) is skipped whole, so an escaped
			// backslash followed by the text u0000 is left alone.
			if bytes.HasPrefix(doc[i:], jsonNUL) {
				out = append(append(out, doc[last:i]...), jsonNULEscape...)
				last = i + len(jsonNUL)
				i = last - 1
				continue
			}
			i++
		}
	}
	return append(out, doc[last:]...)
}

// cleanQuestions returns qs with CleanText applied to every text field: qs
// itself when nothing changes, else a new slice, so the caller's questions
// are never written into.
func cleanQuestions(qs []task.Question) []task.Question {
	if !slices.ContainsFunc(qs, func(q task.Question) bool {
		return textNeedsClean(q.ID) || textNeedsClean(q.Text) || textNeedsClean(q.Type) ||
			textNeedsClean(q.Rationale) || slices.ContainsFunc(q.Choices, textNeedsClean)
	}) {
		return qs
	}
	out := make([]task.Question, len(qs))
	for i, q := range qs {
		q.ID, q.Text, q.Type, q.Rationale = CleanText(q.ID), CleanText(q.Text), CleanText(q.Type), CleanText(q.Rationale)
		if q.Choices != nil {
			choices := make([]string, len(q.Choices))
			for j, c := range q.Choices {
				choices[j] = CleanText(c)
			}
			q.Choices = choices
		}
		out[i] = q
	}
	return out
}

// cleanTask applies CleanText to every text column of t and to its pending
// questions, and cleanJSON to its result, in place; slices are replaced,
// never written into. ProvidedAnswers hold arbitrary decoded JSON: each store
// cleans them as JSON where it encodes them.
func cleanTask(t *Task) {
	for _, s := range []*string{&t.UserID, &t.OwnerUserID, &t.OwnerKeyHash, &t.ClientIP, &t.RequestID,
		&t.IdempotencyKey, &t.Description, &t.CurrentStage, &t.CodexVersion, &t.CodexHash, &t.TemplateID,
		&t.TemplateHash, &t.ResumeFromStage, &t.Error, &t.FailureReason} {
		*s = CleanText(*s)
	}
	t.Status = task.Status(CleanText(string(t.Status)))
	t.PendingQuestions = cleanQuestions(t.PendingQuestions)
	if t.Result != nil {
		t.Result = cleanJSON(t.Result)
	}
	// Money columns are numeric(20,6): both stores keep dollars to the
	// micro-dollar, so a sum of charges is exact in either.
	t.CostUSD, t.BudgetUSD = pricing.Round(t.CostUSD), pricing.Round(t.BudgetUSD)
}

// cleanFilter applies CleanText to the fields a task list filters on, so a
// filter matches the text as it was stored.
func cleanFilter(f TaskFilter) TaskFilter {
	f.OwnerKeyHash, f.OwnerUserID, f.UserID = CleanText(f.OwnerKeyHash), CleanText(f.OwnerUserID), CleanText(f.UserID)
	f.Status = task.Status(CleanText(string(f.Status)))
	return f
}

// cleanFiles applies CleanText to the metadata of files (contents are bytea
// and stay byte-exact) and to the paths in remove, copying both lists only
// when something changes.
func cleanFiles(files []File, remove []string) ([]File, []string) {
	if slices.ContainsFunc(files, func(f File) bool {
		return textNeedsClean(f.Path) || textNeedsClean(f.MimeType) || textNeedsClean(f.SHA256)
	}) {
		clean := make([]File, len(files))
		for i, f := range files {
			f.Path, f.MimeType, f.SHA256 = CleanText(f.Path), CleanText(f.MimeType), CleanText(f.SHA256)
			clean[i] = f
		}
		files = clean
	}
	if slices.ContainsFunc(remove, textNeedsClean) {
		clean := make([]string, len(remove))
		for i, r := range remove {
			clean[i] = CleanText(r)
		}
		remove = clean
	}
	return files, remove
}
