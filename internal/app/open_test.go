package app_test

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"ai-platform/internal/app"
	"ai-platform/internal/config"
)

// TestOpenWarnsAboutOpenAPIKeys: without APP_API_KEY every key is a tenant
// of its own, in apikey and in hybrid mode (which accepts keys too); only
// AUTH_MODE=auth, which takes no keys, starts quietly.
func TestOpenWarnsAboutOpenAPIKeys(t *testing.T) {
	cases := []struct {
		env  map[string]string
		warn bool
	}{
		{map[string]string{}, true},
		{map[string]string{"AUTH_MODE": "hybrid", "AUTH_JWT_SECRET": strings.Repeat("s", 32)}, true},
		{map[string]string{"AUTH_MODE": "auth", "AUTH_JWT_SECRET": strings.Repeat("s", 32)}, false},
		{map[string]string{"APP_API_KEY": "the-key"}, false},
	}
	for _, tc := range cases {
		dir := t.TempDir()
		env := map[string]string{"DATA_DIR": dir, "WORKSPACE_ROOT": filepath.Join(dir, "ws"), "TEMPLATES_ROOT": "../../templates"}
		for k, v := range tc.env {
			env[k] = v
		}
		cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		a, err := app.Open(t.Context(), cfg, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		_ = a.Close()
		if got := strings.Contains(logs.String(), "APP_API_KEY is unset"); got != tc.warn {
			t.Errorf("%v: warning logged %v, want %v; logs:\n%s", tc.env, got, tc.warn, logs.String())
		}
		if strings.Contains(logs.String(), "the-key") {
			t.Errorf("the API key reached the log")
		}
	}
}
