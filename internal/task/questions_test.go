package task_test

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"ai-platform/internal/task"
)

func TestAnswered(t *testing.T) {
	cases := []struct {
		name string
		v    any
		want bool
	}{
		{"absent (nil)", nil, false},
		{"empty string", "", false},
		{"blank string", " \t\n", false},
		{"text", "x", true},
		{"text with blanks around", "  x  ", true},
		{"empty list from JSON", []any{}, false},
		{"list from JSON", []any{"a"}, true},
		{"list of one empty string", []any{""}, true},
		{"empty string list", []string{}, false},
		{"string list", []string{"a"}, true},
		{"false", false, true},
		{"zero", float64(0), true},
		{"object", map[string]any{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := task.Answered(tc.v); got != tc.want {
				t.Errorf("Answered(%#v) = %v, want %v", tc.v, got, tc.want)
			}
		})
	}
}

var testQuestions = []task.Question{
	{ID: "name", Type: task.QuestionText, Required: true},
	{ID: "db", Type: task.QuestionChoice, Choices: []string{"sqlite", "postgres"}, Required: true},
	{ID: "extras", Type: task.QuestionMulti, Choices: []string{"tests", "docs"}},
	{ID: "notes", Type: task.QuestionText},
	{ID: "lang", Type: task.QuestionChoice, Required: true},
}

func TestMissingRequired(t *testing.T) {
	cases := []struct {
		name    string
		qs      []task.Question
		answers map[string]any
		want    []string
	}{
		{"no answers: required ones in question order", testQuestions, nil, []string{"name", "db", "lang"}},
		{"all required answered", testQuestions, map[string]any{"name": "x", "db": "sqlite", "lang": "go"}, []string{}},
		{"optional ones never missing", testQuestions,
			map[string]any{"name": "x", "db": "sqlite", "lang": "go", "extras": []any{}, "notes": ""}, []string{}},
		{"blank answer is missing", testQuestions, map[string]any{"name": "  ", "db": "sqlite", "lang": "go"},
			[]string{"name"}},
		{"null answer is missing", testQuestions, map[string]any{"name": "x", "db": nil, "lang": "go"}, []string{"db"}},
		{"answers to other ids do not count", testQuestions, map[string]any{"nom": "x", "db": "sqlite", "lang": "go"},
			[]string{"name"}},
		{"no questions", nil, map[string]any{"name": "x"}, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := task.MissingRequired(tc.qs, tc.answers)
			if !slices.Equal(got, tc.want) {
				t.Errorf("MissingRequired = %q, want %q", got, tc.want)
			}
			// The API writes the list as is: none missing is [], never null.
			if b, _ := json.Marshal(got); len(tc.want) == 0 && string(b) != "[]" {
				t.Errorf("nothing missing encodes as %s, want []", b)
			}
		})
	}
}

// decoded is answers as they arrive in a request or a signal: JSON decoded
// into map[string]any, so lists are []any and numbers float64.
func decoded(t *testing.T, doc string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatalf("decoding %s: %v", doc, err)
	}
	return m
}

func TestValidateAnswers(t *testing.T) {
	longest := strings.Repeat("é", task.MaxAnswerChars) // 2 bytes a character: the bound counts characters
	cases := []struct {
		name    string
		qs      []task.Question
		answers string
		// want maps each offending id to a part of its problem; nil means
		// ValidateAnswers returns nil.
		want map[string]string
	}{
		{"no answers", testQuestions, `{}`, nil},
		{"all valid", testQuestions,
			`{"name": "cli", "db": "postgres", "extras": ["tests", "docs"], "notes": "none", "lang": "go"}`, nil},
		{"unknown id", testQuestions, `{"nom": "x"}`, map[string]string{"nom": "unknown question id"}},
		{"unknown id with null", testQuestions, `{"nom": null}`, map[string]string{"nom": "unknown question id"}},
		{"unknown id without questions", nil, `{"name": "x"}`, map[string]string{"name": "unknown question id"}},
		{"null clears any known answer", testQuestions,
			`{"name": null, "db": null, "extras": null, "notes": null}`, nil},

		{"choice: one of the choices", testQuestions, `{"db": "sqlite"}`, nil},
		{"choice: empty string", testQuestions, `{"db": ""}`, nil},
		{"choice: not a choice", testQuestions, `{"db": "mysql"}`,
			map[string]string{"db": `"mysql" is not one of the choices [sqlite postgres]`}},
		{"choice: case matters", testQuestions, `{"db": "SQLite"}`, map[string]string{"db": "not one of the choices"}},
		{"choice: a number", testQuestions, `{"db": 1}`, map[string]string{"db": "must be one of the choices (a string)"}},
		{"choice: a list", testQuestions, `{"db": ["sqlite"]}`,
			map[string]string{"db": "must be one of the choices (a string)"}},
		{"choice without choices: any string", testQuestions, `{"lang": "anything"}`, nil},
		{"choice without choices: still a string", testQuestions, `{"lang": true}`,
			map[string]string{"lang": "(a string)"}},

		{"multi: empty list", testQuestions, `{"extras": []}`, nil},
		{"multi: one choice", testQuestions, `{"extras": ["docs"]}`, nil},
		{"multi: repeated choice", testQuestions, `{"extras": ["docs", "docs"]}`, nil},
		{"multi: one item not a choice", testQuestions, `{"extras": ["docs", "ci"]}`,
			map[string]string{"extras": "every item must be one of the choices [tests docs]"}},
		{"multi: an item not a string", testQuestions, `{"extras": ["docs", 2]}`,
			map[string]string{"extras": "every item must be one of the choices"}},
		{"multi: a string, not a list", testQuestions, `{"extras": "docs"}`,
			map[string]string{"extras": "must be a list of choices"}},
		{"multi without choices: any strings", []task.Question{{ID: "m", Type: task.QuestionMulti}},
			`{"m": ["a", "b"]}`, nil},
		{"multi without choices: strings only", []task.Question{{ID: "m", Type: task.QuestionMulti}},
			`{"m": ["a", null]}`, map[string]string{"m": "every item must be one of the choices []"}},

		{"text: empty", testQuestions, `{"notes": ""}`, nil},
		{"text: at the bound", testQuestions, `{"notes": "` + longest + `"}`, nil},
		{"text: one over the bound", testQuestions, `{"notes": "` + longest + `x"}`,
			map[string]string{"notes": "must be at most 4000 characters"}},
		{"text: a number", testQuestions, `{"name": 5}`, map[string]string{"name": "must be a string"}},
		{"text: a list", testQuestions, `{"name": ["a"]}`, map[string]string{"name": "must be a string"}},
		{"untyped question is text", []task.Question{{ID: "q"}}, `{"q": {}}`, map[string]string{"q": "must be a string"}},

		{"one problem per offending id", testQuestions, `{"nom": 1, "db": "mysql", "extras": "x", "name": "ok"}`,
			map[string]string{"nom": "unknown question id", "db": "not one of the choices", "extras": "list of choices"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := task.ValidateAnswers(tc.qs, decoded(t, tc.answers))
			if tc.want == nil {
				if got != nil {
					t.Fatalf("ValidateAnswers = %v, want nil", got)
				}
				return
			}
			if !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(tc.want))) {
				t.Fatalf("problems for %v, want for %v (%v)", slices.Sorted(maps.Keys(got)),
					slices.Sorted(maps.Keys(tc.want)), got)
			}
			for id, part := range tc.want {
				if !strings.Contains(got[id], part) {
					t.Errorf("problem of %s = %q, want it to contain %q", id, got[id], part)
				}
			}
		})
	}
}

func TestSortedKeys(t *testing.T) {
	cases := []struct {
		name string
		m    map[string]int
		want []string
	}{
		{"nil", nil, []string{}},
		{"empty", map[string]int{}, []string{}},
		{"byte order", map[string]int{"b": 1, "a": 2, "B": 3, "aa": 4, "": 5}, []string{"", "B", "a", "aa", "b"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Map order is random: the same map sorts the same every time.
			for range 20 {
				if got := task.SortedKeys(tc.m); !slices.Equal(got, tc.want) {
					t.Fatalf("SortedKeys = %q, want %q", got, tc.want)
				}
			}
		})
	}
}

func TestMergeAnswers(t *testing.T) {
	cases := []struct {
		name      string
		base, upd string
		want      string
	}{
		{"both empty", `{}`, `{}`, `{}`},
		{"new answers added", `{"a": "1"}`, `{"b": "2"}`, `{"a": "1", "b": "2"}`},
		{"new value wins", `{"a": "1", "b": "2"}`, `{"a": "one"}`, `{"a": "one", "b": "2"}`},
		{"null removes", `{"a": "1", "b": "2"}`, `{"a": null}`, `{"b": "2"}`},
		{"null for an absent answer", `{"a": "1"}`, `{"z": null}`, `{"a": "1"}`},
		{"an empty answer is kept, not removed", `{"a": "1"}`, `{"a": ""}`, `{"a": ""}`},
		{"lists replaced whole", `{"m": ["x", "y"]}`, `{"m": ["z"]}`, `{"m": ["z"]}`},
		{"nothing new", `{"a": "1"}`, `{}`, `{"a": "1"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base, upd := decoded(t, tc.base), decoded(t, tc.upd)
			baseBefore, updBefore := maps.Clone(base), maps.Clone(upd)
			got := task.MergeAnswers(base, upd)
			if want := decoded(t, tc.want); !reflect.DeepEqual(got, want) {
				t.Errorf("MergeAnswers = %v, want %v", got, want)
			}
			if !reflect.DeepEqual(base, baseBefore) || !reflect.DeepEqual(upd, updBefore) {
				t.Errorf("MergeAnswers changed its inputs: base %v, upd %v", base, upd)
			}
		})
	}
	// A task with no answers yet has a nil map: the merge is still a map
	// the store and the workflow's checkpoint can write.
	if got := task.MergeAnswers(nil, nil); got == nil || len(got) != 0 {
		t.Errorf("MergeAnswers(nil, nil) = %#v, want an empty map", got)
	}
}
