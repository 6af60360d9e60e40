package openapicheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/oapi-codegen/oapi-codegen/v2/pkg/codegen"
	"github.com/oapi-codegen/oapi-codegen/v2/pkg/util"

	// The generated client imports the oapi-codegen runtime; importing it
	// here keeps it (and its go.sum lines) in go.mod, so the build below
	// works offline.
	_ "github.com/oapi-codegen/runtime"
)

// TestGeneratedClientCompiles generates a Go client from docs/openapi.yaml
// the way client authors do (oapi-codegen -generate types,client) and builds
// it inside this module: a document that generators choke on, or that yields
// Go that does not compile, fails here.
func TestGeneratedClientCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and compiles a client (-short)")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the generated client: %v", err)
	}
	_, file, _, _ := runtime.Caller(0)
	here := filepath.Dir(file)
	spec, err := util.LoadSwagger(filepath.Join(here, "..", "..", "docs", "openapi.yaml"))
	if err != nil {
		t.Fatalf("oapi-codegen could not load docs/openapi.yaml: %v", err)
	}
	src, err := codegen.Generate(spec, codegen.Configuration{
		PackageName: "client",
		Generate:    codegen.GenerateOptions{Models: true, Client: true},
	})
	if err != nil {
		t.Fatalf("oapi-codegen could not generate a client from docs/openapi.yaml: %v", err)
	}
	for _, want := range []string{"func (c *Client) CreateTask(", "func (c *ClientWithResponses) ListTaskFilesWithResponse(",
		"type EventType string", "type FailureReason string"} {
		if !strings.Contains(src, want) {
			t.Errorf("the generated client has no %q", want)
		}
	}
	// Inside the module (testdata is skipped by ./... patterns), so the
	// build uses this module's go.mod and go.sum.
	if err := os.MkdirAll(filepath.Join(here, "testdata"), 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp(filepath.Join(here, "testdata"), "client-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = os.RemoveAll(dir)
		_ = os.Remove(filepath.Dir(dir)) // testdata, unless something else is in it
	})
	if err := os.WriteFile(filepath.Join(dir, "client.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goBin, "build", ".")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the client generated from docs/openapi.yaml does not build: %v\n%s", err, out)
	}
}
