package config

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) Lookup {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

func TestDefaultsMatchENVmd(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"MAX_TASK_BYTES", c.MaxTaskBytes, int64(52428800)},
		{"MAX_TASK_FILES", c.MaxTaskFiles, 2000},
		{"MAX_CONCURRENT_TASKS", c.MaxConcurrentTasks, 4},
		{"RATE_LIMIT_CREATE_TASKS_PER_MIN", c.RateLimitCreatePerMin, 0},
		{"MAX_TOKENS_PER_DAY", c.MaxTokensPerDay, int64(0)},
		{"TASK_TTL_DAYS", c.TaskTTLDays, 30},
		{"WORKSPACE_ROOT", c.WorkspaceRoot, filepath.Join("data", "workspaces")},
		{"WORKSPACE_TTL_DAYS", c.WorkspaceTTLDays, 30},
		{"TEMPLATES_ROOT", c.TemplatesRoot, "templates"},
		{"ALLOWED_COMMANDS", strings.Join(c.AllowedCommands, ","), "ruff,pytest,python,python3"},
		{"COMMAND_TIMEOUT_SECONDS", c.CommandTimeout, 60 * time.Second},
		{"COMMAND_MAX_OUTPUT_BYTES", c.CommandMaxOutputBytes, 20000},
		{"LLM_PROVIDER", c.LLMProvider, "mock"},
		{"LLM_MODEL", c.LLMModel, "gpt-4o-mini"},
		{"LLM_MAX_TOKENS", c.LLMMaxTokens, 1024},
		{"LLM_TIMEOUT_SECONDS", c.LLMTimeout, 30 * time.Second},
		{"LLM_TEMPERATURE", c.LLMTemperature, 0.2},
		{"AUTH_MODE", c.AuthMode, "apikey"},
		{"AUTH_ACCESS_TOKEN_TTL_MINUTES", c.AccessTokenTTL, 15 * time.Minute},
		{"AUTH_REFRESH_TOKEN_TTL_DAYS", c.RefreshTokenTTL, 30 * 24 * time.Hour},
		{"AUTH_REFRESH_COOKIE_NAME", c.RefreshCookieName, "refresh_token"},
		{"AUTH_REFRESH_COOKIE_PATH", c.RefreshCookiePath, "/auth"},
		{"AUTH_REFRESH_COOKIE_SAMESITE", c.RefreshCookieSameSite, "lax"},
		{"ENABLE_FILE_PERSISTENCE", c.EnableFilePersistence, true},
		{"PORT", c.Port, 8080},
		{"DATA_DIR", c.DataDir, "data"},
		{"METRICS_PORT", c.MetricsPort, 9090},
		{"STARTUP_WAIT_SECONDS", c.StartupWait, 120 * time.Second},
		{"TEMPORAL_NAMESPACE", c.TemporalNamespace, "default"},
		{"TEMPORAL_TASK_QUEUE", c.TemporalTaskQueue, "ai-platform"},
		{"TEMPORAL_DEV_PORT", c.TemporalDevPort, 7233},
		{"TEMPORAL_UI_PORT", c.TemporalUIPort, 8233},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s default = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if !c.LocalTemporal() {
		t.Error("an unset TEMPORAL_ADDRESS must mean a local dev server")
	}
}

func TestDerivedDefaults(t *testing.T) {
	c, err := Load(env(map[string]string{"TASK_TTL_DAYS": "9", "AUTH_JWT_SECRET": "s3cret-s3cret", "AUTH_MODE": "hybrid"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.WorkspaceTTLDays != 9 {
		t.Errorf("WORKSPACE_TTL_DAYS should default to TASK_TTL_DAYS, got %d", c.WorkspaceTTLDays)
	}
	if c.RefreshTokenSecret != "s3cret-s3cret" {
		t.Error("AUTH_REFRESH_TOKEN_SECRET should default to AUTH_JWT_SECRET")
	}
	p, err := Load(env(map[string]string{"ENVIRONMENT": "production", "APP_API_KEY": "k", "API_KEY_HASH_SECRET": strings.Repeat("x", 32)}))
	if err != nil {
		t.Fatal(err)
	}
	if p.EnableFilePersistence || p.PublicRegistration || len(p.AllowedOrigins) != 0 {
		t.Errorf("production defaults wrong: %+v", p)
	}
	l, err := Load(env(map[string]string{"ALLOWED_ORIGINS": " https://a.example , ,http://b.example ", "ALLOWED_COMMANDS": "ruff, pytest"}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(l.AllowedOrigins, "|") != "https://a.example|http://b.example" || strings.Join(l.AllowedCommands, "|") != "ruff|pytest" {
		t.Errorf("lists not trimmed: %q %q", l.AllowedOrigins, l.AllowedCommands)
	}
}

func TestInvalidValuesNameVariableValueAndRule(t *testing.T) {
	cases := []struct {
		vars map[string]string
		want []string
	}{
		{map[string]string{"MAX_CONCURRENT_TASKS": "abc"}, []string{"MAX_CONCURRENT_TASKS", `"abc"`, "whole number"}},
		{map[string]string{"MAX_CONCURRENT_TASKS": "0"}, []string{"MAX_CONCURRENT_TASKS", "between 1"}},
		{map[string]string{"AUTH_MODE": "foo"}, []string{"AUTH_MODE", `"foo"`, "apikey, auth, hybrid"}},
		{map[string]string{"COMMAND_TIMEOUT_SECONDS": "-5"}, []string{"COMMAND_TIMEOUT_SECONDS", `"-5"`}},
		{map[string]string{"LLM_TIMEOUT_SECONDS": "-1"}, []string{"LLM_TIMEOUT_SECONDS"}},
		{map[string]string{"LLM_TEMPERATURE": "3"}, []string{"LLM_TEMPERATURE", "between 0 and 2"}},
		{map[string]string{"LLM_PRICES": "gpt-4o-mini=0.15"}, []string{"LLM_PRICES", `entry "gpt-4o-mini=0.15"`, "INPUT/OUTPUT"}},
		{map[string]string{"LLM_PRICES": "a=1/2,b=-1/2"}, []string{"LLM_PRICES", `entry "b=-1/2"`, "not a number"}},
		{map[string]string{"ENABLE_FILE_PERSISTENCE": "maybe"}, []string{"ENABLE_FILE_PERSISTENCE", "yes, no"}},
		{map[string]string{"LLM_PROVIDER": "anthropic"}, []string{"LLM_PROVIDER", "mock, openai"}},
		{map[string]string{"LLM_PROVIDER": "openai"}, []string{"LLM_API_KEY"}},
		{map[string]string{"AUTH_MODE": "auth"}, []string{"AUTH_JWT_SECRET"}},
		{map[string]string{"ALLOWED_COMMANDS": "/bin/sh"}, []string{"ALLOWED_COMMANDS", "bare executable"}},
		{map[string]string{"COMMAND_SANDBOX": "docker"}, []string{"COMMAND_SANDBOX"}},
		{map[string]string{"ENVIRONMENT": "production", "API_KEY_HASH_SECRET": strings.Repeat("x", 32)}, []string{"APP_API_KEY"}},
		{map[string]string{"ENVIRONMENT": "production", "APP_API_KEY": "k"}, []string{"API_KEY_HASH_SECRET"}},
		{map[string]string{"BOOTSTRAP_ADMIN_EMAIL": "a@b.c"}, []string{"BOOTSTRAP_ADMIN_PASSWORD"}},
		{map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8, proxy.example"}, []string{"TRUSTED_PROXIES", `"proxy.example"`, "CIDR"}},
		{map[string]string{"RATE_LIMIT_TASK_CONTROL_PER_MIN": "-1"}, []string{"RATE_LIMIT_TASK_CONTROL_PER_MIN"}},
		// A JWT secret one byte short of 32 in production.
		{prodAuth(map[string]string{"AUTH_JWT_SECRET": strings.Repeat("s", 31)}), []string{"AUTH_JWT_SECRET", "32 bytes"}},
		// Open API-key tenancy in production needs the explicit opt-in, in hybrid mode too.
		{map[string]string{"ENVIRONMENT": "production", "API_KEY_HASH_SECRET": strings.Repeat("x", 32), "AUTH_MODE": "hybrid",
			"AUTH_JWT_SECRET": strings.Repeat("s", 32), "DATABASE_URL": "postgres://db/x"}, []string{"APP_API_KEY", "ALLOW_OPEN_API_KEYS"}},
	}
	for _, tc := range cases {
		_, err := Load(env(tc.vars))
		if err == nil {
			t.Errorf("%v: expected an error", tc.vars)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error must be one line: %q", tc.vars, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q does not mention %q", tc.vars, err, w)
			}
		}
	}
}

// prodAuth is a production AUTH_MODE=auth environment that is valid except
// for what over overrides.
func prodAuth(over map[string]string) map[string]string {
	m := map[string]string{"ENVIRONMENT": "production", "AUTH_MODE": "auth", "AUTH_JWT_SECRET": strings.Repeat("s", 32),
		"API_KEY_HASH_SECRET": strings.Repeat("x", 32), "DATABASE_URL": "postgres://db/x"}
	for k, v := range over {
		m[k] = v
	}
	return m
}

// TestProductionSafetyRailsAtTheirEdges: the values just inside the rules
// start; the ones just outside are in TestInvalidValuesNameVariableValueAndRule.
func TestProductionSafetyRailsAtTheirEdges(t *testing.T) {
	if _, err := Load(env(prodAuth(nil))); err != nil {
		t.Errorf("a 32-byte JWT secret in production: %v", err)
	}
	open := map[string]string{"ENVIRONMENT": "production", "API_KEY_HASH_SECRET": strings.Repeat("x", 32), "ALLOW_OPEN_API_KEYS": "true"}
	c, err := Load(env(open))
	if err != nil || !c.AllowOpenAPIKeys || c.AppAPIKey != "" {
		t.Errorf("ALLOW_OPEN_API_KEYS=true must allow open keys in production: %v %+v", err, c.AllowOpenAPIKeys)
	}
	c, err = Load(env(map[string]string{"TRUSTED_PROXIES": " 10.0.0.0/8 , ,192.0.2.7,::1 "}))
	if err != nil || strings.Join(c.TrustedProxies, "|") != "10.0.0.0/8|192.0.2.7|::1" {
		t.Errorf("TRUSTED_PROXIES: %v %q", err, c.TrustedProxies)
	}
	if c, _ := Load(env(nil)); len(c.TrustedProxies) != 0 {
		t.Errorf("no proxy is trusted by default: %q", c.TrustedProxies)
	}
}

func TestEdgesAccepted(t *testing.T) {
	c, err := Load(env(map[string]string{"MAX_CONCURRENT_TASKS": "1", "LLM_TEMPERATURE": "0", "MAX_TASK_BYTES": "0",
		"MAX_TASK_FILES": "-1", "ENABLE_FILE_PERSISTENCE": "OFF", "WORKSPACE_TTL_DAYS": "0"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxConcurrentTasks != 1 || c.LLMTemperature != 0 || c.MaxTaskBytes != 0 || c.MaxTaskFiles != -1 ||
		c.EnableFilePersistence || c.WorkspaceTTLDays != 0 {
		t.Errorf("edge values not kept: %+v", c)
	}
}

// TestEveryVariableIsDocumented fails when the code reads a variable that
// docs/ENV.md or .env.example does not describe.
func TestEveryVariableIsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "ENV.md"))
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join("..", "..", ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	names := Names()
	if len(names) < 50 {
		t.Fatalf("Names() found only %d variables", len(names))
	}
	for _, n := range names {
		if !regexp.MustCompile(`(?m)^### .*\b` + n + `\b`).Match(doc) {
			t.Errorf("%s is read by the code but has no section in docs/ENV.md", n)
		}
		if !regexp.MustCompile(`(?m)^#? ?` + n + `=`).Match(example) {
			t.Errorf("%s is missing from .env.example", n)
		}
	}
}

// TestNoGetenvOutsideConfig keeps config the only reader of the environment
// in product code; test-support packages (CI, TEST_DATABASE_URL) may read it.
func TestNoGetenvOutsideConfig(t *testing.T) {
	out, err := exec.Command("git", "-C", filepath.Join("..", ".."), "grep", "-lE", `os\.(Getenv|LookupEnv)\(`, "--", "*.go").Output()
	if err != nil && len(out) == 0 {
		return // no match
	}
	for _, f := range strings.Fields(string(out)) {
		testSupport := strings.HasSuffix(f, "_test.go") || strings.Contains(f, "test/") || strings.HasPrefix(f, "bench/")
		if !strings.HasPrefix(f, "internal/config/") && !testSupport {
			t.Errorf("%s reads the environment directly; add the variable to internal/config", f)
		}
	}
}

func TestRedactedHidesSecrets(t *testing.T) {
	c, err := Load(env(map[string]string{"LLM_API_KEY": "sk-secret", "APP_API_KEY": "app", "AUTH_JWT_SECRET": "jwt",
		"DATABASE_URL": "postgres://u:pw@h/db"}))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Redacted()
	for _, s := range []string{r.LLMAPIKey, r.AppAPIKey, r.JWTSecret, r.DatabaseURL} {
		if s != "[set]" {
			t.Errorf("secret not redacted: %q", s)
		}
	}
}

func TestWorkflowCacheEntries(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want int
	}{
		{map[string]string{}, 48},
		{map[string]string{"MAX_CONCURRENT_TASKS": "64"}, 288},
		{map[string]string{"WORKFLOW_CACHE_SIZE": "2"}, 2},
		{map[string]string{"WORKFLOW_CACHE_SIZE": "0", "MAX_CONCURRENT_TASKS": "1"}, 36},
	}
	for _, c := range cases {
		cfg, err := Load(env(c.env))
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.WorkflowCacheEntries(); got != c.want {
			t.Errorf("%v: %d entries, want %d", c.env, got, c.want)
		}
	}
	if _, err := Load(env(map[string]string{"WORKFLOW_CACHE_SIZE": "-1"})); err == nil || !strings.Contains(err.Error(), "WORKFLOW_CACHE_SIZE") {
		t.Errorf("a negative WORKFLOW_CACHE_SIZE: %v", err)
	}
}
