package task_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"ai-platform/docs"
	"ai-platform/internal/task"
)

// nameList is one exported list of names.
type nameList struct {
	list   string // the variable in names.go
	schema string // components.schemas entry of docs/openapi.yaml that enumerates the same names
	names  []string
}

// nameLists are the lists clients see, each with its OpenAPI schema.
var nameLists = []nameList{
	{"EventTypes", "EventType", task.EventTypes},
	{"FailureReasons", "FailureReason", task.FailureReasons},
	{"ArtifactTypes", "ArtifactType", task.ArtifactTypes},
	{"Stages", "Stage", task.Stages},
	{"Roles", "Role", task.Roles},
}

func TestNameListsHaveNoDuplicatesOrBlanks(t *testing.T) {
	lists := append(slices.Clone(nameLists),
		nameList{"PipelineStages", "", task.PipelineStages}, nameList{"AnnouncedArtifacts", "", task.AnnouncedArtifacts})
	for _, l := range lists {
		t.Run(l.list, func(t *testing.T) {
			if len(l.names) == 0 {
				t.Fatal("empty list")
			}
			seen := map[string]bool{}
			for _, n := range l.names {
				if strings.TrimSpace(n) == "" || seen[n] {
					t.Errorf("%q is blank or listed twice", n)
				}
				seen[n] = true
			}
		})
	}
	for _, tc := range []struct {
		what      string
		sub, full []string
	}{
		{"PipelineStages within Stages", task.PipelineStages, task.Stages},
		{"AnnouncedArtifacts within ArtifactTypes", task.AnnouncedArtifacts, task.ArtifactTypes},
	} {
		for _, n := range tc.sub {
			if !slices.Contains(tc.full, n) {
				t.Errorf("%s: %q is missing", tc.what, n)
			}
		}
	}
}

func TestLLMStage(t *testing.T) {
	for _, tc := range []struct{ stage, want string }{
		{task.StageResearch, "research"},
		{task.StageDesign, "design"},
		{task.StageImplement, "code"},
		{task.StageReview, "review"},
	} {
		if got := task.LLMStage(tc.stage); got != tc.want {
			t.Errorf("LLMStage(%q) = %q, want %q", tc.stage, got, tc.want)
		}
	}
}

// TestOpenAPIListsEveryName checks each name list against docs/openapi.yaml:
// where the document has the list's schema with an enum, the two must hold
// the same names (a client generated from the document accepts exactly what
// the code emits); otherwise the document must at least mention every name.
func TestOpenAPIListsEveryName(t *testing.T) {
	raw := docs.OpenAPIYAML()
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Enum []any `yaml:"enum"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("parsing docs/openapi.yaml: %v", err)
	}
	for _, l := range nameLists {
		t.Run(l.list, func(t *testing.T) {
			schema, ok := doc.Components.Schemas[l.schema]
			if !ok || len(schema.Enum) == 0 {
				for _, n := range l.names {
					if !regexp.MustCompile(`\b` + regexp.QuoteMeta(n) + `\b`).Match(raw) {
						t.Errorf("docs/openapi.yaml never names %q (task.%s)", n, l.list)
					}
				}
				return
			}
			var documented []string
			for _, v := range schema.Enum {
				if v != nil { // a nullable enum lists null
					documented = append(documented, fmt.Sprint(v))
				}
			}
			for _, n := range l.names {
				if !slices.Contains(documented, n) {
					t.Errorf("schema %s does not list %q (task.%s)", l.schema, n, l.list)
				}
			}
			for _, d := range documented {
				if !slices.Contains(l.names, d) {
					t.Errorf("schema %s lists %q, which is not in task.%s", l.schema, d, l.list)
				}
			}
		})
	}
}

// nameScan is what TestProductionCodeUsesNameConstants learns from the
// production sources.
type nameScan struct {
	fset *token.FileSet
	// listed maps a list variable of names.go to the constants it lists.
	listed map[string][]string
	// used maps a list variable to the constants found where that kind of
	// name is written.
	used     map[string]map[string]bool
	problems []string
	// reported are the literals sites already reported.
	reported map[token.Pos]bool
}

// Where a value is an event type, an artifact type or a failure reason.
const (
	kindEvent    = "EventTypes"
	kindArtifact = "ArtifactTypes"
	kindReason   = "FailureReasons"
	kindListType = "EventTypes or ArtifactTypes" // store.ListOptions.Type filters either
)

// TestProductionCodeUsesNameConstants reads the production Go sources and
// finds every place that writes an event type (event(...), eventRow(...), task.EventSpec,
// store.Event), an artifact type (artifact(...), store.Artifact,
// LatestArtifact, latestPayload, store.ListOptions) or a failure reason
// (FailureReason fields): each must be a constant that names.go lists, not a
// string literal, and every listed event and artifact type must be written
// somewhere. A literal anywhere in the packages that write tasks whose value
// is an event type, artifact type or failure reason is reported too.
func TestProductionCodeUsesNameConstants(t *testing.T) {
	root := moduleRoot(t)
	s := &nameScan{fset: token.NewFileSet(), listed: listedConstants(t, filepath.Join(root, "internal/task/names.go")),
		used: map[string]map[string]bool{kindEvent: {}, kindArtifact: {}, kindReason: {}}, reported: map[token.Pos]bool{}}
	values := map[string]string{}
	for _, kind := range []string{kindEvent, kindArtifact, kindReason} {
		for _, l := range nameLists {
			if l.list == kind {
				for _, n := range l.names {
					values[n] = kind
				}
			}
		}
	}
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if skipDir(rel, d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(s.fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return fmt.Errorf("parsing %s: %w", rel, err)
		}
		files++
		s.sites(f)
		if writesTasks(rel) {
			s.literals(f, values)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("read only %d production files under %s", files, root)
	}
	for _, kind := range []string{kindEvent, kindArtifact} {
		for _, name := range s.listed[kind] {
			if !s.used[kind][name] {
				s.problems = append(s.problems, fmt.Sprintf("task.%s is listed in task.%s but written nowhere", name, kind))
			}
		}
	}
	for _, p := range s.problems {
		t.Error(p)
	}
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// skipDir leaves out what is not production code: test data, test-support
// packages (storetest, pgtest, apptest), benchmarks, tools and node modules.
// The task package itself defines the names.
func skipDir(rel, name string) bool {
	if rel == "." {
		return false
	}
	return strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules" || name == "tools" ||
		name == "bench" || name == "storetest" || name == "pgtest" || name == "apptest" ||
		filepath.ToSlash(rel) == "internal/task"
}

// writesTasks reports whether a file belongs to a package that writes task
// rows, events and artifacts; there a literal with a name's value is a
// second spelling of the name.
func writesTasks(rel string) bool {
	rel = filepath.ToSlash(rel)
	for _, dir := range []string{"api/", "activities/", "workflows/", "internal/store/", "internal/agents/", "internal/codex/"} {
		if strings.HasPrefix(rel, dir) {
			return true
		}
	}
	return false
}

// listedConstants reads the list variables of names.go: the constant names
// each one lists.
func listedConstants(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || len(vs.Values) != 1 {
			return true
		}
		if cl, ok := vs.Values[0].(*ast.CompositeLit); ok {
			for _, e := range cl.Elts {
				if id, ok := e.(*ast.Ident); ok {
					out[vs.Names[0].Name] = append(out[vs.Names[0].Name], id.Name)
				}
			}
		}
		return true
	})
	for _, l := range nameLists {
		if len(out[l.list]) != len(l.names) {
			t.Fatalf("names.go: %s lists %d constants by name, the package %d names", l.list, len(out[l.list]), len(l.names))
		}
	}
	return out
}

// sites checks every place of a file that writes a name.
func (s *nameScan) sites(f *ast.File) {
	for _, decl := range f.Decls {
		var body ast.Node = decl
		var fn *ast.FuncDecl
		if fd, ok := decl.(*ast.FuncDecl); ok {
			fn = fd
		}
		elided := map[*ast.CompositeLit]string{} // element literals of []T{{...}} and their T
		ast.Inspect(body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				switch {
				case sel.Sel.Name == "event" && len(n.Args) == 5:
					s.check(fn, n.Args[3], kindEvent, 0)
				case sel.Sel.Name == "eventRow" && len(n.Args) == 4:
					s.check(fn, n.Args[2], kindEvent, 0)
				case sel.Sel.Name == "artifact" && len(n.Args) == 6:
					s.check(fn, n.Args[3], kindArtifact, 0)
				case sel.Sel.Name == "LatestArtifact" && len(n.Args) == 3, sel.Sel.Name == "latestPayload" && len(n.Args) == 4:
					s.check(fn, n.Args[2], kindArtifact, 0)
				}
			case *ast.CompositeLit:
				typ := typeName(n.Type)
				if typ == "" {
					typ = elided[n]
				}
				if at, ok := n.Type.(*ast.ArrayType); ok {
					for _, e := range n.Elts {
						if cl, ok := e.(*ast.CompositeLit); ok && cl.Type == nil {
							elided[cl] = typeName(at.Elt)
						}
					}
				}
				for _, e := range n.Elts {
					kv, ok := e.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					key, _ := kv.Key.(*ast.Ident)
					switch {
					case key == nil:
					case key.Name == "FailureReason":
						s.check(fn, kv.Value, kindReason, 0)
					case key.Name == "Type" && (typ == "task.EventSpec" || typ == "store.Event"):
						s.check(fn, kv.Value, kindEvent, 0)
					case key.Name == "Type" && typ == "store.Artifact":
						s.check(fn, kv.Value, kindArtifact, 0)
					case key.Name == "Type" && typ == "store.ListOptions":
						s.check(fn, kv.Value, kindListType, 0)
					}
				}
			case *ast.AssignStmt:
				for i, lhs := range n.Lhs {
					if sel, ok := lhs.(*ast.SelectorExpr); ok && sel.Sel.Name == "FailureReason" && len(n.Rhs) == len(n.Lhs) {
						s.check(fn, n.Rhs[i], kindReason, 0)
					}
				}
			case *ast.BinaryExpr:
				if n.Op != token.EQL && n.Op != token.NEQ {
					return true
				}
				for _, pair := range [][2]ast.Expr{{n.X, n.Y}, {n.Y, n.X}} {
					if sel, ok := pair[0].(*ast.SelectorExpr); ok && sel.Sel.Name == "FailureReason" {
						s.check(fn, pair[1], kindReason, 0)
					}
				}
			}
			return true
		})
	}
}

func typeName(e ast.Expr) string {
	if sel, ok := e.(*ast.SelectorExpr); ok {
		if x, ok := sel.X.(*ast.Ident); ok {
			return x.Name + "." + sel.Sel.Name
		}
	}
	return ""
}

// check judges one expression written where a name of kind belongs: a
// string literal is a problem, task.X must be listed, a local variable is
// judged by what its function assigns to it, anything else (a parameter, a
// field passed along) carries a name checked where it was made.
func (s *nameScan) check(fn *ast.FuncDecl, e ast.Expr, kind string, depth int) {
	pos := s.fset.Position(e.Pos())
	where := fmt.Sprintf("%s:%d", filepath.Base(filepath.Dir(pos.Filename))+"/"+filepath.Base(pos.Filename), pos.Line)
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind == token.STRING {
			v, _ := strconv.Unquote(e.Value)
			if v != "" {
				s.reported[e.Pos()] = true
				s.problems = append(s.problems, fmt.Sprintf("%s: literal %s where a name of task.%s belongs; use its constant", where, e.Value, kind))
			}
		}
	case *ast.SelectorExpr:
		pkg, ok := e.X.(*ast.Ident)
		if !ok || pkg.Name != "task" {
			return
		}
		for _, k := range strings.Split(kind, " or ") {
			if slices.Contains(s.listed[k], e.Sel.Name) {
				if s.used[k] != nil {
					s.used[k][e.Sel.Name] = true
				}
				return
			}
		}
		s.problems = append(s.problems, fmt.Sprintf("%s: task.%s is written as a name of task.%s but not listed there", where, e.Sel.Name, kind))
	case *ast.Ident:
		if fn == nil || fn.Body == nil || depth > 3 {
			return
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.AssignStmt:
				for i, lhs := range n.Lhs {
					if id, ok := lhs.(*ast.Ident); ok && id.Name == e.Name && len(n.Rhs) == len(n.Lhs) {
						s.check(fn, n.Rhs[i], kind, depth+1)
					}
				}
			case *ast.ValueSpec:
				for i, id := range n.Names {
					if id.Name == e.Name && len(n.Values) == len(n.Names) {
						s.check(fn, n.Values[i], kind, depth+1)
					}
				}
			}
			return true
		})
	}
}

// literals reports string literals whose value is a name, except the id
// keys of event(...) and artifact(...) (their third argument, or a variable
// named sub), which only derive stable row ids, and the keys of composite
// literals, which are JSON field names.
func (s *nameScan) literals(f *ast.File, values map[string]string) {
	idKeys := map[ast.Expr]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok &&
				(sel.Sel.Name == "event" && len(n.Args) == 5 || sel.Sel.Name == "artifact" && len(n.Args) == 6) {
				idKeys[n.Args[2]] = true
			}
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "eventRow" && len(n.Args) == 4 {
				idKeys[n.Args[1]] = true
			}
		case *ast.KeyValueExpr:
			idKeys[n.Key] = true
		case *ast.AssignStmt:
			for i, lhs := range n.Lhs {
				if id, ok := lhs.(*ast.Ident); ok && id.Name == "sub" && len(n.Rhs) == len(n.Lhs) {
					idKeys[n.Rhs[i]] = true
				}
			}
		}
		return true
	})
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ImportSpec, *ast.Field: // import paths and struct tags
			return false
		case *ast.BasicLit:
			if n.Kind != token.STRING || idKeys[n] || s.reported[n.Pos()] {
				return true
			}
			v, err := strconv.Unquote(n.Value)
			if kind, ok := values[v]; ok && err == nil {
				pos := s.fset.Position(n.Pos())
				s.problems = append(s.problems, fmt.Sprintf("%s:%d: literal %s spells a name of task.%s; use its constant",
					filepath.Base(filepath.Dir(pos.Filename))+"/"+filepath.Base(pos.Filename), pos.Line, n.Value, kind))
			}
		}
		return true
	})
}
