package runner

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ai-platform/internal/config"
)

// The child sees only the allow-listed environment, never the server's.
func TestRunEnvironment(t *testing.T) {
	needDebianPytest(t)
	secrets := map[string]string{
		"LLM_API_KEY":     "sk-runner-test-llm-secret",
		"DATABASE_URL":    "postgres://u:runner-test-db-secret@h/db",
		"AUTH_JWT_SECRET": "runner-test-jwt-secret",
		"PYTHONPATH":      "/runner-test-pythonpath",
	}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	// A python3 earlier on the server's PATH (like the pyenv shim on our build
	// machines) must not be the one that runs.
	serverBin := t.TempDir()
	writeExec(t, filepath.Join(serverBin, "python3"), "#!/bin/sh\necho wrong python3\n")
	t.Setenv("PATH", serverBin+":"+os.Getenv("PATH"))

	code := `import json, os, sys, tempfile
import pytest  # installed for /usr/bin/python3 only
home = os.environ["HOME"]
open(os.path.join(home, "written"), "w").close()
tempfile.mkstemp()
print(json.dumps({"env": dict(os.environ), "exe": sys.executable}))`
	eachMode(t, nil, func(t *testing.T, r *Runner) {
		ws := workspace(t)
		res := run(t, r, ws, py(code)...)
		mustExit(t, res, 0)
		var got struct {
			Env map[string]string
			Exe string
		}
		if err := json.Unmarshal([]byte(res.Stdout), &got); err != nil {
			t.Fatalf("child output %q: %v", res.Stdout, err)
		}
		home := got.Env["HOME"]
		want := map[string]string{
			"PATH": DefaultPath, "HOME": home, "TMPDIR": home, "PWD": ws,
			"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
			"PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "PYTHONUNBUFFERED": "1",
		}
		if r.Sandbox() == config.SandboxNone {
			want["PWD"] = got.Env["PWD"] // the run's copy (see TestRunCwd)
		} else {
			want["PWD"] = warmDir
		}
		if !maps.Equal(got.Env, want) {
			t.Errorf("child environment:\n %v\nwant\n %v", got.Env, want)
		}
		if got.Exe != "/usr/bin/python3" {
			t.Errorf("ran %s, want /usr/bin/python3", got.Exe)
		}
		for k, v := range secrets {
			if strings.Contains(res.Stdout+res.Stderr, v) {
				t.Errorf("%s leaked into the child", k)
			}
		}
		if r.Sandbox() == config.SandboxBwrap {
			if home != "/tmp" {
				t.Errorf("HOME = %q inside bwrap, want /tmp", home)
			}
			return
		}
		if !filepath.IsAbs(home) || home == ws || strings.HasPrefix(home, ws+"/") {
			t.Errorf("HOME = %q, want a directory outside the workspace %q", home, ws)
		}
		if _, err := os.Stat(home); !os.IsNotExist(err) {
			t.Errorf("HOME %q still there after the run: %v", home, err)
		}
	})
}

// Each probe prints one word. The none-mode column is the control: it shows
// the probe can succeed, so the bwrap column is not passing by accident.
func TestSandboxIsolation(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	outside := workspace(t) // a sibling of the workspace, not inside it
	secret := filepath.Join(outside, "secret.txt")
	if err := os.WriteFile(secret, []byte("runner-test-secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	hostHas := func(path string) string {
		if _, err := os.Stat(path); err == nil {
			return "True"
		}
		return "False"
	}
	// What bwrap shows at /: the system dirs, private mounts, and the run's
	// copy of the workspace.
	rootEntries := []string{"dev", "etc", "proc", "tmp", "usr"}
	for _, d := range systemDirs {
		if _, err := os.Lstat(d); err == nil {
			rootEntries = append(rootEntries, d[1:])
		}
	}
	rootEntries = append(rootEntries, strings.TrimPrefix(warmDir, "/"))
	slices.Sort(rootEntries)
	try := func(body string) string {
		return "try:\n    " + body + "\n    print('yes')\nexcept OSError as e:\n    print('no', type(e).__name__)"
	}
	tests := []struct {
		name, code  string
		bwrap, none string // expected first word of stdout; "" = not checked
	}{
		{"tcp to host loopback", try(fmt.Sprintf("import socket; socket.create_connection(('127.0.0.1', %d), timeout=2)", ln.Addr().(*net.TCPAddr).Port)), "no", "yes"},
		{"read file outside workspace", try("open(" + pyStr(secret) + ").read()"), "no", ""},
		{"write file outside workspace", try("open(" + pyStr(filepath.Join(outside, "pwned")) + ", 'w').close()"), "no", ""},
		{"write into /usr", try("open('/usr/runner-test-pwned', 'w').close()"), "no", ""},
		{"write into /etc", try("open('/etc/runner-test-pwned', 'w').close()"), "no", ""},
		{"read /etc/shadow", try("open('/etc/shadow').read()"), "no", ""},
		{"/etc/ssl/private visible", "import os; print(os.path.exists('/etc/ssl/private'))", "False", ""},
		{"read /etc/passwd", try("open('/etc/passwd').read()"), "yes", "yes"},
		{"write into workspace", try("open('inside.txt', 'w').write('hi')"), "yes", "yes"},
		{"write to HOME and TMPDIR", try("import os, tempfile; tempfile.mkstemp(); open(os.path.expanduser('~/x'), 'w').close()"), "yes", "yes"},
		{"/root visible", "import os; print(os.path.exists('/root'))", "False", hostHas("/root")},
		{"/work visible", "import os; print(os.path.exists('/work'))", "False", hostHas("/work")},
		{"root directory listing", "import os; print(','.join(sorted(os.listdir('/'))))", strings.Join(rootEntries, ","), ""},
		{"capabilities", "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('CapEff')][0])", "0000000000000000", ""},
		{"other processes visible", "import os; print(len([p for p in os.listdir('/proc') if p.isdigit()]) > 5)", "False", ""},
	}
	eachMode(t, nil, func(t *testing.T, r *Runner) {
		ws := workspace(t)
		for _, tt := range tests {
			want := tt.none
			if r.Sandbox() == config.SandboxBwrap {
				want = tt.bwrap
			}
			if want == "" {
				continue
			}
			res := run(t, r, ws, py(tt.code)...)
			mustExit(t, res, 0)
			if got, _, _ := strings.Cut(strings.TrimSpace(res.Stdout), " "); got != want {
				t.Errorf("%s: got %q, want %q (stderr %q)", tt.name, strings.TrimSpace(res.Stdout), want, res.Stderr)
			}
		}
		// Commands write into the run's own copy: nothing reaches the task's workspace.
		if _, err := os.Stat(filepath.Join(ws, "inside.txt")); err == nil {
			t.Errorf("a write inside the sandbox reached the task's workspace")
		}
		_, err := os.Stat(filepath.Join(outside, "pwned"))
		if wrote := err == nil; wrote && r.Sandbox() == config.SandboxBwrap {
			t.Errorf("file outside the workspace written")
		}
		os.Remove(filepath.Join(outside, "pwned"))
	})
	for _, p := range []string{"/usr/runner-test-pwned", "/etc/runner-test-pwned"} {
		if _, err := os.Stat(p); err == nil {
			os.Remove(p)
			t.Errorf("%s was written from the sandbox", p)
		}
	}
}

// Inside bwrap even a process that left the group (setsid) dies with the
// command: it lives in the sandbox's PID namespace, which ends with it.
func TestSandboxKillsEscapedSession(t *testing.T) {
	r := newRunner(t, config.SandboxBwrap, nil)
	marker := fmt.Sprintf("40.%d", time.Now().UnixNano()%1e9)
	code := "import subprocess, sys\nsubprocess.Popen(['sleep', sys.argv[1]], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)"
	res := run(t, r, workspace(t), py(code, marker)...)
	mustExit(t, res, 0)
	if !eventually(2*time.Second, func() bool { return len(liveWithArg(marker)) == 0 }) {
		t.Errorf("setsid grandchild survived the sandbox: pids %v", liveWithArg(marker))
	}
}

// bwrap's own failures are errors, not exit codes of the command.
func TestBwrapError(t *testing.T) {
	tests := []struct {
		code   int
		stderr string
		want   string
	}{
		{1, "bwrap: execvp /x: No such file or directory\n", "bwrap: execvp /x: No such file or directory"},
		{1, "bwrap: Can't mount proc on /newroot/proc: Operation not permitted", "bwrap: Can't mount proc on /newroot/proc: Operation not permitted"},
		{1, "E501 line too long\n", ""},
		{2, "bwrap: looks like bwrap\n", ""},
		{1, "", ""},
	}
	for _, tt := range tests {
		got, ok := bwrapError(tt.code, tt.stderr)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("bwrapError(%d, %q) = %q, %v; want %q", tt.code, tt.stderr, got, ok, tt.want)
		}
	}
}

func TestBwrapBaseBindsOnlyMissingPathDirs(t *testing.T) {
	args := bwrapBase([]string{"/usr/local/bin", "/usr/bin", "/bin", "/opt/tools/bin"}, DefaultTmpBytes)
	var bound []string
	for i, a := range args {
		if a == "--ro-bind-try" && !strings.HasPrefix(args[i+1], "/etc/") {
			bound = append(bound, args[i+1])
		}
	}
	if !slices.Equal(bound, []string{"/opt/tools/bin"}) {
		t.Errorf("extra binds %v, want [/opt/tools/bin]", bound)
	}
	for _, must := range []string{"--unshare-all", "--die-with-parent", "--clearenv", "--cap-drop"} {
		if !slices.Contains(args, must) {
			t.Errorf("%s missing from %v", must, args)
		}
	}
	if slices.Contains(args, "--new-session") || slices.Contains(args, "--share-net") {
		t.Errorf("unwanted option in %v", args)
	}
}

// pyStr quotes s as a Python string literal.
func pyStr(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
