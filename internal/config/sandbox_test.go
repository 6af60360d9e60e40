package config

import (
	"strings"
	"testing"
)

func TestCommandSandboxSettings(t *testing.T) {
	prod := map[string]string{"ENVIRONMENT": "production", "APP_API_KEY": "k", "API_KEY_HASH_SECRET": strings.Repeat("x", 32)}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"development may opt out", map[string]string{"COMMAND_SANDBOX": "none"}, ""},
		{"production refuses none", with(prod, "COMMAND_SANDBOX", "none"), "ALLOW_UNSANDBOXED_COMMANDS_IN_PRODUCTION"},
		{"production with the second opt-in", with(prod, "COMMAND_SANDBOX", "none", "ALLOW_UNSANDBOXED_COMMANDS_IN_PRODUCTION", "true"), ""},
		{"production sandboxed", with(prod, "COMMAND_SANDBOX", "bwrap"), ""},
		{"processes at the floor", map[string]string{"COMMAND_MAX_PROCESSES": "8"}, ""},
		{"processes below the floor", map[string]string{"COMMAND_MAX_PROCESSES": "7"}, "COMMAND_MAX_PROCESSES"},
		{"workspace quota of zero", map[string]string{"COMMAND_WORKSPACE_MAX_MB": "0"}, "COMMAND_WORKSPACE_MAX_MB"},
		{"root as the command uid", map[string]string{"COMMAND_UID": "0"}, "COMMAND_UID"},
		{"memory below 64 MiB", map[string]string{"COMMAND_MAX_MEMORY_MB": "63"}, "COMMAND_MAX_MEMORY_MB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(env(tt.env))
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Load: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Load = %v, want an error naming %s", err, tt.wantErr)
			}
		})
	}
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := CommandLimits{Processes: 256, MemoryBytes: 2048 << 20, WorkspaceBytes: 128 << 20, WorkspaceFiles: 20000,
		TmpBytes: 64 << 20, UID: 64000}
	if c.CommandLimits != want || c.CommandSandbox != SandboxAuto || c.CommandSandboxSocket != "" {
		t.Errorf("defaults: %+v %q %q", c.CommandLimits, c.CommandSandbox, c.CommandSandboxSocket)
	}
}

// The sandbox service reads only its own settings: no production rule about
// the platform's secrets applies, and the socket is required.
func TestLoadSandbox(t *testing.T) {
	if _, err := LoadSandbox(env(map[string]string{"ENVIRONMENT": "production", "COMMAND_SANDBOX_SOCKET": "/run/s.sock"})); err != nil {
		t.Errorf("production service without platform secrets: %v", err)
	}
	if _, err := LoadSandbox(env(nil)); err == nil || !strings.Contains(err.Error(), "COMMAND_SANDBOX_SOCKET") {
		t.Errorf("no socket: %v", err)
	}
	if _, err := LoadSandbox(env(map[string]string{"ENVIRONMENT": "production", "COMMAND_SANDBOX_SOCKET": "/s", "COMMAND_SANDBOX": "none"})); err == nil {
		t.Error("production service unsandboxed without the opt-in")
	}
}
