package searchattr

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"ai-platform/internal/task"
)

func TestTenantHash(t *testing.T) {
	for _, tc := range []struct{ owner, want string }{
		{"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "0123456789ab"},
		{"short", "short"},
		{"", ""},
	} {
		if got := TenantHash(tc.owner); got != tc.want {
			t.Errorf("TenantHash(%q) = %q, want %q", tc.owner, got, tc.want)
		}
	}
}

// describe renders updates applied to an empty set, so a test can compare them.
func describe(t *testing.T, cur temporal.SearchAttributes, ups []temporal.SearchAttributeUpdate) string {
	t.Helper()
	after := temporal.NewSearchAttributes(append(changesToSet(cur), ups...)...)
	var parts []string
	for _, k := range []temporal.SearchAttributeKeyKeyword{Status, Stage, Template, Tenant} {
		if v, ok := after.GetKeyword(k); ok {
			parts = append(parts, k.GetName()+"="+v)
		}
	}
	if v, ok := after.GetTime(WaitingSince); ok {
		parts = append(parts, NameWaitingSince+"="+v.UTC().Format(time.RFC3339))
	}
	return strings.Join(parts, " ")
}

// changesToSet turns a set of attributes back into the updates that make it.
func changesToSet(cur temporal.SearchAttributes) []temporal.SearchAttributeUpdate {
	var out []temporal.SearchAttributeUpdate
	for _, k := range []temporal.SearchAttributeKeyKeyword{Status, Stage, Template, Tenant} {
		if v, ok := cur.GetKeyword(k); ok {
			out = append(out, k.ValueSet(v))
		}
	}
	if v, ok := cur.GetTime(WaitingSince); ok {
		out = append(out, WaitingSince.ValueSet(v))
	}
	return out
}

func TestChanges(t *testing.T) {
	asked := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	initial := Initial("python-cli", "0123456789abcdef")
	waiting := initial
	waiting.Status, waiting.Stage, waiting.WaitingSince = task.StatusNeedsInput, task.StageNeedsInput, asked
	for _, tc := range []struct {
		name    string
		cur     Values
		want    Values
		updates int
		after   string
	}{
		{name: "start options from nothing", cur: Values{}, want: initial, updates: 4,
			after: "TaskStatus=queued TaskStage=initializing TaskTemplate=python-cli TenantHash=0123456789ab"},
		{name: "nothing changed, nothing upserted", cur: initial, want: initial, updates: 0,
			after: "TaskStatus=queued TaskStage=initializing TaskTemplate=python-cli TenantHash=0123456789ab"},
		{name: "status only", cur: initial, want: Values{Status: task.StatusProcessing, Stage: task.StageInitializing,
			Template: "python-cli", Tenant: "0123456789ab"}, updates: 1,
			after: "TaskStatus=processing TaskStage=initializing TaskTemplate=python-cli TenantHash=0123456789ab"},
		{name: "entering needs_input sets WaitingSince", cur: initial, want: waiting, updates: 3,
			after: "TaskStatus=needs_input TaskStage=needs_input TaskTemplate=python-cli TenantHash=0123456789ab WaitingSince=2026-03-01T12:00:00Z"},
		{name: "the same wait again is no change", cur: waiting, want: waiting, updates: 0,
			after: "TaskStatus=needs_input TaskStage=needs_input TaskTemplate=python-cli TenantHash=0123456789ab WaitingSince=2026-03-01T12:00:00Z"},
		{name: "the same instant in another zone is no change", cur: waiting,
			want: func() Values { v := waiting; v.WaitingSince = asked.In(time.FixedZone("x", 3600)); return v }(), updates: 0,
			after: "TaskStatus=needs_input TaskStage=needs_input TaskTemplate=python-cli TenantHash=0123456789ab WaitingSince=2026-03-01T12:00:00Z"},
		{name: "leaving needs_input unsets WaitingSince", cur: waiting, want: Values{Status: task.StatusQueued,
			Stage: task.StageResume, Template: "python-cli", Tenant: "0123456789ab"}, updates: 3,
			after: "TaskStatus=queued TaskStage=clarification_resume TaskTemplate=python-cli TenantHash=0123456789ab"},
		{name: "no template unsets it", cur: initial, want: Initial("", "0123456789abcdef"), updates: 1,
			after: "TaskStatus=queued TaskStage=initializing TenantHash=0123456789ab"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur := tc.cur.Attributes()
			ups := tc.want.Changes(cur)
			if len(ups) != tc.updates {
				t.Errorf("%d updates, want %d", len(ups), tc.updates)
			}
			if got := describe(t, cur, ups); got != tc.after {
				t.Errorf("after the updates:\n got %s\nwant %s", got, tc.after)
			}
		})
	}
}

func TestDefinitionsMatchTheKeys(t *testing.T) {
	keys := map[string]enumspb.IndexedValueType{}
	for _, k := range []temporal.SearchAttributeKey{Status, Stage, Template, Tenant, WaitingSince} {
		keys[k.GetName()] = k.GetValueType()
	}
	defs := Definitions()
	if len(defs) != len(keys) {
		t.Fatalf("%d definitions for %d keys", len(defs), len(keys))
	}
	for _, d := range defs {
		if typ, ok := keys[d.Name]; !ok || typ != d.Type {
			t.Errorf("definition %s %s does not match its key (%v)", d.Name, d.Type, typ)
		}
	}
}

// The compose set-up job registers the attributes with the CLI before the
// API and workers start; its list must be this package's.
func TestComposeSetUpRegistersEveryAttribute(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("..", "..", "temporal-config", "scripts", "create-namespace.sh"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^\s*([A-Za-z]+)\s+([A-Za-z]+)\s*\\?$`)
	block := string(script)
	start := strings.Index(block, "SEARCH_ATTRIBUTES=")
	if start < 0 {
		t.Fatal("create-namespace.sh has no SEARCH_ATTRIBUTES list")
	}
	block = block[start:]
	block = block[strings.Index(block, "\n")+1:]
	block = block[:strings.Index(block, "'")]
	got := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(block, -1) {
		got[m[1]] = m[2]
	}
	want := map[string]string{}
	for _, d := range Definitions() {
		want[d.Name] = typeName(d.Type)
	}
	for name, typ := range want {
		if got[name] != typ {
			t.Errorf("create-namespace.sh registers %s as %q, want %q", name, got[name], typ)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("create-namespace.sh registers %s, which the platform does not define", name)
		}
	}
}

// typeName is the CLI's name of a type (`--type Keyword`).
func typeName(t enumspb.IndexedValueType) string {
	return map[enumspb.IndexedValueType]string{
		enumspb.INDEXED_VALUE_TYPE_KEYWORD: "Keyword", enumspb.INDEXED_VALUE_TYPE_DATETIME: "Datetime",
	}[t]
}
