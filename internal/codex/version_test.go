package codex

import "testing"

// TestDefaultVersionIsTheEmbeddedCodexVersion keeps the version new tasks
// record before prepare in step with the embedded codex.
func TestDefaultVersionIsTheEmbeddedCodexVersion(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != DefaultVersion {
		t.Fatalf("embedded codex version %q, DefaultVersion %q", c.Version, DefaultVersion)
	}
}
