// Package mockproject is the embedded project catalog of the offline mock LLM
// provider: for each template id (and for free-form requests) a small design
// of components and files, and text/template sources that render every file
// as lint-clean, tested Python shaped by the request text.
package mockproject

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"text/template"
)

//go:embed all:catalog
var catalogFS embed.FS

// FreeForm is the id of the project used when no (known) template is given.
const FreeForm = "freeform"

// Planned file kinds.
const (
	KindSource = "source"
	KindTest   = "test"
	KindDocs   = "docs"
	KindConfig = "config"
)

// File is one planned file.
type File struct {
	Path    string `json:"path"`
	Kind    string `json:"kind"`
	Purpose string `json:"purpose"`
}

// Component is one part of a project, implemented by one code call.
type Component struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Files       []File `json:"files"`
}

// Project is one catalog entry: the design the mock proposes for a template.
type Project struct {
	ID          string      `json:"-"`
	Summary     string      `json:"summary"`
	Usage       []string    `json:"usage"`
	Packages    []string    `json:"packages"`
	Constraints []string    `json:"constraints"`
	Components  []Component `json:"components"`
}

// Dependencies returns the package names of the project's requirements.
func (p *Project) Dependencies() []string {
	out := make([]string, 0, len(p.Packages))
	for _, pkg := range p.Packages {
		if i := strings.IndexAny(pkg, "<>=!~[ ;"); i >= 0 {
			pkg = pkg[:i]
		}
		out = append(out, pkg)
	}
	return out
}

// Catalog holds the parsed projects and file templates; it is read-only and
// safe for concurrent use.
type Catalog struct {
	projects map[string]*Project
	tmpl     *template.Template
}

// Load parses the embedded catalog and checks that every planned file of
// every project has a template.
func Load() (*Catalog, error) {
	c := &Catalog{
		projects: map[string]*Project{},
		tmpl:     template.New("").Option("missingkey=error").Funcs(template.FuncMap{"pystr": pyString}),
	}
	err := fs.WalkDir(catalogFS, "catalog", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := catalogFS.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "catalog/")
		switch {
		case strings.HasSuffix(name, ".tmpl"):
			_, err = c.tmpl.New(name).Parse(string(raw))
		case path.Base(name) == "project.json":
			err = c.addProject(path.Dir(name), raw)
		default:
			err = fmt.Errorf("unexpected file")
		}
		if err != nil {
			return fmt.Errorf("mockproject: %s: %w", p, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if c.projects[FreeForm] == nil {
		return nil, fmt.Errorf("mockproject: no %s project", FreeForm)
	}
	for _, p := range c.projects {
		for _, comp := range p.Components {
			for _, f := range comp.Files {
				if c.lookup(p, f.Path) == nil {
					return nil, fmt.Errorf("mockproject: %s: no template for %s", p.ID, f.Path)
				}
			}
		}
	}
	return c, nil
}

func (c *Catalog) addProject(id string, raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	p := &Project{ID: id}
	if err := dec.Decode(p); err != nil {
		return err
	}
	if p.Summary == "" || len(p.Components) == 0 {
		return fmt.Errorf("summary and components are required")
	}
	for _, comp := range p.Components {
		for _, f := range comp.Files {
			if !slices.Contains([]string{KindSource, KindTest, KindDocs, KindConfig}, f.Kind) {
				return fmt.Errorf("%s: unknown kind %q", f.Path, f.Kind)
			}
		}
	}
	c.projects[id] = p
	return nil
}

// Project returns the project for a template id; unknown or empty ids get
// the free-form project.
func (c *Catalog) Project(templateID string) *Project {
	if p, ok := c.projects[templateID]; ok && templateID != FreeForm {
		return p
	}
	return c.projects[FreeForm]
}

// IDs lists the template ids the catalog has a project for, sorted.
func (c *Catalog) IDs() []string {
	var ids []string
	for id := range c.projects {
		if id != FreeForm {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// lookup finds the template of a file: the project's own, then the shared
// ones (README, config), then the marker extras.
func (c *Catalog) lookup(p *Project, filePath string) *template.Template {
	for _, name := range []string{p.ID + "/files/" + filePath, "shared/" + filePath, "extras/" + filePath} {
		if t := c.tmpl.Lookup(name + ".tmpl"); t != nil {
			return t
		}
	}
	return nil
}

// Has reports whether the project (or the shared and extra files) has a
// template for filePath.
func (c *Catalog) Has(p *Project, filePath string) bool { return c.lookup(p, filePath) != nil }

// Render returns the content of filePath for project p. Files the catalog
// does not know get generic but valid content chosen by extension.
func (c *Catalog) Render(p *Project, filePath string, d Data) (string, error) {
	d.Packages = p.Packages
	d.Usage = p.Usage
	if t := c.lookup(p, filePath); t != nil {
		return execute(t, d)
	}
	return c.generic(p, filePath, d)
}

func execute(t *template.Template, d Data) (string, error) {
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("mockproject: render %s: %w", t.Name(), err)
	}
	return b.String(), nil
}
