package cluster_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"ai-platform/internal/app/apptest"
	"ai-platform/internal/cluster"
	"ai-platform/internal/devserver"
)

type composeService struct {
	Image       string            `yaml:"image"`
	EnvFile     any               `yaml:"env_file"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Entrypoint  []string          `yaml:"entrypoint"`
}

func loadCompose(t *testing.T, root string) (map[string]composeService, map[string]string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]composeService `yaml:"services"`
		DBEnv    map[string]string         `yaml:"x-temporal-db-env"`
	}
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c.Services, c.DBEnv
}

func envFiles(s composeService) []string {
	switch v := s.EnvFile.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// TestComposeAndClusterShareTemporalConfig fails when docker-compose.yml and
// `aiplatform cluster` stop running the same Temporal server the same way:
// image versions against the Makefile's build, the server environment file,
// the dynamic config file, the schema and namespace scripts, and the load
// balancer's template.
func TestComposeAndClusterShareTemporalConfig(t *testing.T) {
	root := apptest.RepoRoot()
	services, dbEnv := loadCompose(t, root)
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^TEMPORAL_SERVER_VERSION := v(\S+)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("Makefile: TEMPORAL_SERVER_VERSION not found")
	}
	version := string(m[1])
	for name, image := range map[string]string{"temporal": "temporalio/server:", "temporal-schema": "temporalio/admin-tools:",
		"temporal-namespace": "temporalio/admin-tools:"} {
		if got := services[name].Image; got != image+version {
			t.Errorf("%s runs %q; `make temporal-server` builds %s", name, got, version)
		}
	}

	env, err := cluster.ReadEnvFile(filepath.Join(root, "temporal-config", "server.env"))
	if err != nil {
		t.Fatal(err)
	}
	if env["NUM_HISTORY_SHARDS"] == "" || env["DB"] != "postgres12" {
		t.Errorf("server.env must choose the shard count and the postgres12 plugin: %v", env)
	}
	for _, name := range []string{"temporal", "temporal-schema"} {
		s := services[name]
		if f := envFiles(s); len(f) != 1 || filepath.Clean(f[0]) != "temporal-config/server.env" {
			t.Errorf("%s: env_file %v, want ./temporal-config/server.env", name, f)
		}
		for k := range s.Environment {
			if _, dup := env[k]; dup {
				t.Errorf("%s sets %s itself, shadowing temporal-config/server.env", name, k)
			}
		}
	}
	for k := range dbEnv {
		if _, dup := env[k]; dup {
			t.Errorf("x-temporal-db-env sets %s, shadowing temporal-config/server.env", k)
		}
	}

	// The same dynamic config file, mounted where DYNAMIC_CONFIG_FILE_PATH
	// points in the image (relative to /etc/temporal).
	tmp := services["temporal"]
	dc := tmp.Environment["DYNAMIC_CONFIG_FILE_PATH"]
	mounted := false
	for _, v := range tmp.Volumes {
		if strings.HasPrefix(v, "./temporal-config/dynamicconfig:/etc/temporal/config/dynamicconfig") {
			mounted = true
		}
	}
	if !mounted || dc != "config/dynamicconfig/development-sql.yaml" {
		t.Errorf("temporal: dynamic config %q with volumes %v; cluster reads temporal-config/dynamicconfig/development-sql.yaml", dc, tmp.Volumes)
	}
	c, err := cluster.New(cluster.Options{RepoRoot: root, BinDir: fakeBins(t), DataDir: t.TempDir(),
		PostgresURL: "postgres://u:p@db.example:6543/x", TemporalPort: 17233, APIs: 2, Workers: 1, APIPort: 18081,
		MetricsPort: 19091, Port: 8088})
	if err != nil {
		if _, lerr := exec.LookPath("nginx"); lerr != nil && os.Getenv("CI") != "true" {
			t.Skipf("cluster.New: %v", err)
		}
		t.Fatal(err)
	}
	senv, err := c.ServerEnv()
	if err != nil {
		t.Fatal(err)
	}
	if senv["DYNAMIC_CONFIG_FILE_PATH"] != filepath.Join(root, "temporal-config", "dynamicconfig", "development-sql.yaml") {
		t.Errorf("cluster dynamic config %q", senv["DYNAMIC_CONFIG_FILE_PATH"])
	}
	for k, v := range env {
		if k == "DBNAME" || k == "VISIBILITY_DBNAME" {
			continue // the cluster names its own (so tests can use fresh ones)
		}
		if senv[k] != v {
			t.Errorf("cluster server env %s=%q, server.env says %q", k, senv[k], v)
		}
	}
	if senv["POSTGRES_SEEDS"] != "db.example" || senv["DB_PORT"] != "6543" || senv["POSTGRES_USER"] != "u" ||
		senv["POSTGRES_PWD"] != "p" || senv["FRONTEND_GRPC_PORT"] != "17233" || senv["HISTORY_GRPC_PORT"] != "17234" {
		t.Errorf("cluster server env: %v", senv)
	}

	// The scripts compose's one-shot jobs run are the ones the cluster runs.
	for _, name := range []string{"temporal-schema", "temporal-namespace"} {
		s := services[name]
		if len(s.Volumes) == 0 || !strings.HasPrefix(s.Volumes[0], "./temporal-config/scripts:/scripts") ||
			len(s.Entrypoint) != 2 || !strings.HasPrefix(s.Entrypoint[1], "/scripts/") {
			t.Errorf("%s must run a script of temporal-config/scripts: %+v", name, s)
		}
	}

	// The load balancer: the same template, every ${...} it names set by
	// compose's lb service and by the cluster.
	tmpl, err := os.ReadFile(filepath.Join(root, "temporal-config", "nginx", "aiplatform.conf.template"))
	if err != nil {
		t.Fatal(err)
	}
	lb := services["lb"]
	found := false
	for _, v := range lb.Volumes {
		if strings.HasPrefix(v, "./temporal-config/nginx/aiplatform.conf.template:/etc/nginx/templates/") {
			found = true
		}
	}
	if !found {
		t.Errorf("lb must render temporal-config/nginx/aiplatform.conf.template: %v", lb.Volumes)
	}
	for _, m := range regexp.MustCompile(`\$\{([A-Z_]+)\}`).FindAllStringSubmatch(string(tmpl), -1) {
		if lb.Environment[m[1]] == "" {
			t.Errorf("the template uses ${%s}, which compose's lb does not set", m[1])
		}
	}
}

// TestDynamicConfigCarriesTheDevServerTuning: the settings the dev server
// needed (internal/devserver) are in the real server's dynamic config with
// the same values.
func TestDynamicConfigCarriesTheDevServerTuning(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(apptest.RepoRoot(), "temporal-config", "dynamicconfig", "development-sql.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var dc map[string][]struct {
		Value any `yaml:"value"`
	}
	if err := yaml.Unmarshal(raw, &dc); err != nil {
		t.Fatal(err)
	}
	for _, kv := range devserver.DynamicConfig() {
		k, v, _ := strings.Cut(kv, "=")
		vals := dc[k]
		if len(vals) != 1 || strings.TrimSpace(strings.ReplaceAll(yamlScalar(vals[0].Value), "\n", "")) != v {
			t.Errorf("development-sql.yaml: %s = %v, the dev server runs with %s", k, vals, v)
		}
	}
}

func yamlScalar(v any) string {
	b, _ := yaml.Marshal(v)
	return string(b)
}

// TestLBConfigIsValidNginx renders the load balancer's configuration as the
// cluster does and has nginx check it.
func TestLBConfigIsValidNginx(t *testing.T) {
	if _, err := exec.LookPath("nginx"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("nginx is not installed (CI installs it)")
		}
		t.Skip("nginx is not installed")
	}
	data := t.TempDir()
	c, err := cluster.New(cluster.Options{RepoRoot: apptest.RepoRoot(), BinDir: fakeBins(t), DataDir: data,
		PostgresURL: "postgres://postgres@127.0.0.1:5432/x", TemporalPort: 17233, APIs: 3, Workers: 1,
		APIPort: 18081, MetricsPort: 19091, Port: 18088})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteLBConfig(); err != nil {
		t.Fatal(err)
	}
	site, err := os.ReadFile(filepath.Join(data, "nginx", "aiplatform.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(site), "${") || strings.Count(string(site), "server 127.0.0.1:") != 3 {
		t.Errorf("rendered site:\n%s", site)
	}
	dir := filepath.Join(data, "nginx")
	out, err := exec.Command("nginx", "-t", "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log")).CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
}

// fakeBins is a directory with empty stand-ins for the binaries
// cluster.New checks, for tests that only render configuration.
func fakeBins(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, b := range []string{"temporal-server", "temporal-sql-tool", "temporal", "aiplatform"} {
		if err := os.WriteFile(filepath.Join(dir, b), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
