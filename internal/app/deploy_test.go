package app_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"ai-platform/internal/app/apptest"
	"ai-platform/internal/config"
)

// These tests keep docker-compose.yml, the Dockerfile, the Makefile and
// .env.example consistent with each other and with internal/config, since
// no Docker engine runs where the tests do (`make compose-check` validates
// the compose file against the compose loaders).

type composeFile struct {
	Platform map[string]string  `yaml:"x-platform-env"`
	Services map[string]service `yaml:"services"`
}

type service struct {
	Image         string `yaml:"image"`
	Build         *struct{ Target string }
	ContainerName string   `yaml:"container_name"`
	Ports         []string `yaml:"ports"`
	Restart       string   `yaml:"restart"`
	Profiles      []string `yaml:"profiles"`
	DependsOn     map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct{ Test []string } `yaml:"healthcheck"`
	Environment map[string]string        `yaml:"environment"`
	StopGrace   string                   `yaml:"stop_grace_period"`
}

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(apptest.RepoRoot(), name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	if err := yaml.Unmarshal([]byte(readRepoFile(t, "docker-compose.yml")), &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

// pinned accepts repo:tag where the tag names a version, never "latest".
var pinned = regexp.MustCompile(`^[a-z0-9./-]+:[A-Za-z0-9._-]*[0-9][A-Za-z0-9._-]*$`)

func TestComposeServices(t *testing.T) {
	c := loadCompose(t)
	for _, name := range []string{"postgres", "temporal", "temporal-ui", "api", "worker", "lb"} {
		if _, ok := c.Services[name]; !ok {
			t.Fatalf("service %s is missing", name)
		}
	}
	for name, s := range c.Services {
		if s.Build == nil && (!pinned.MatchString(s.Image) || strings.HasSuffix(s.Image, ":latest")) {
			t.Errorf("%s: image %q is not pinned to a version", name, s.Image)
		}
		if s.Restart == "" && len(s.Profiles) == 0 {
			t.Errorf("%s: no restart policy", name)
		}
		for dep, d := range s.DependsOn {
			if d.Condition == "" {
				t.Errorf("%s: depends_on %s has no condition", name, dep)
			}
		}
	}
	w := c.Services["worker"]
	if w.ContainerName != "" || len(w.Ports) > 0 {
		t.Errorf("worker must scale (no container_name, no host ports): %+v", w)
	}
	if w.Build == nil || w.Build.Target != "worker" || c.Services["api"].Build == nil || c.Services["api"].Build.Target != "api" {
		t.Error("api and worker must build the Dockerfile's api and worker targets")
	}
	// Clients reach the APIs through lb (nginx), so api scales like worker.
	if a := c.Services["api"]; a.ContainerName != "" || len(a.Ports) > 0 {
		t.Errorf("api must scale behind lb (no container_name, no host ports): %+v", a)
	}
	if p := c.Services["lb"].Ports; len(p) != 1 || !strings.HasSuffix(p[0], "-80}:8080") {
		t.Errorf("lb must publish host port 80 (HTTP_PORT) to 8080: %v", p)
	}
	if p := c.Services["temporal-ui"].Ports; len(p) != 1 || !strings.HasSuffix(p[0], "-8233}:8080") {
		t.Errorf("temporal-ui must publish 8233 to 8080: %v", p)
	}
	for _, name := range []string{"postgres", "temporal", "api", "worker", "lb"} {
		if c.Services[name].Healthcheck == nil {
			t.Errorf("%s has no healthcheck", name)
		}
	}
	for _, name := range []string{"api", "worker"} {
		for _, dep := range []string{"postgres", "temporal"} {
			if c.Services[name].DependsOn[dep].Condition != "service_healthy" {
				t.Errorf("%s must wait for %s to be healthy", name, dep)
			}
		}
		if c.Services[name].StopGrace == "" {
			t.Errorf("%s: set stop_grace_period above the drain/stop timeouts (Docker's default is 10s)", name)
		}
	}
}

// imageSets are variables the Dockerfile sets for containers, and those
// that only mean something to `aiplatform run` on a laptop.
var imageSets = []string{"PORT", "DATA_DIR", "WORKSPACE_ROOT", "METRICS_PORT", "TEMPORAL_DEV_PORT", "TEMPORAL_UI_PORT",
	"TEMPORAL_BIN"}

func TestComposePassesEveryVariable(t *testing.T) {
	env := loadCompose(t).Platform
	for _, name := range config.Names() {
		if _, ok := env[name]; !ok && !slices.Contains(imageSets, name) {
			t.Errorf("%s is read by the platform but docker-compose.yml does not pass it to api and worker", name)
		}
	}
	dockerfile := readRepoFile(t, "Dockerfile")
	for _, name := range imageSets[:4] {
		if !strings.Contains(dockerfile, name+"=") {
			t.Errorf("the Dockerfile does not set %s", name)
		}
	}
	// Every ${VAR} compose reads is explained in .env.example.
	example := readRepoFile(t, ".env.example")
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$\{([A-Z0-9_]+)`).FindAllStringSubmatch(readRepoFile(t, "docker-compose.yml"), -1) {
		if !seen[m[1]] && !regexp.MustCompile(`(?m)^#? ?`+m[1]+`=`).MatchString(example) {
			t.Errorf("docker-compose.yml reads %s, which .env.example does not list", m[1])
		}
		seen[m[1]] = true
	}
}

func TestDockerfile(t *testing.T) {
	d := readRepoFile(t, "Dockerfile")
	stages := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^FROM \S+ AS (\S+)$`).FindAllStringSubmatch(d, -1) {
		stages[m[1]] = true
	}
	for _, s := range []string{"build", "api", "worker"} {
		if !stages[s] {
			t.Errorf("no %s stage", s)
		}
	}
	for _, m := range regexp.MustCompile(`(?m)^ARG (\w+_IMAGE)=(\S+)$`).FindAllStringSubmatch(d, -1) {
		if !pinned.MatchString(m[2]) {
			t.Errorf("%s=%s is not pinned to a version", m[1], m[2])
		}
	}
	if strings.Contains(d, ":latest") {
		t.Error("the Dockerfile uses a latest tag")
	}
	// The final stages run as the unprivileged user and check their health.
	for _, stage := range []string{"worker", "api"} {
		body := d[strings.Index(d, " AS "+stage+"\n"):]
		if i := strings.Index(body[1:], "\nFROM "); i >= 0 {
			body = body[:i+1]
		}
		users := regexp.MustCompile(`(?m)^USER (\S+)`).FindAllStringSubmatch(body, -1)
		if len(users) > 0 && users[len(users)-1][1] == "root" {
			t.Errorf("%s stage ends as root", stage)
		}
		if !strings.Contains(body, "HEALTHCHECK") {
			t.Errorf("%s stage has no HEALTHCHECK", stage)
		}
	}
	// CI builds the binary with the very command of the build stage.
	build := regexp.MustCompile(`go build (.*) -o \S+ (\S+)\n`).FindStringSubmatch(d)
	want := ""
	if build != nil {
		want = "CGO_ENABLED=0 GOFLAGS=-buildvcs=false $(GO) build " + build[1] + " -o bin/aiplatform-image " + build[2]
	}
	if build == nil || !strings.Contains(readRepoFile(t, "Makefile"), want) {
		t.Errorf("the Makefile's image-binary does not build like the Dockerfile: want %q", want)
	}
	if !strings.Contains(d, "ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false\n") {
		t.Error("the build stage must build with CGO_ENABLED=0 GOFLAGS=-buildvcs=false")
	}
}
