package config

import (
	"os"
	"strings"
	"testing"
)

// unsetForTest removes name from the environment for this test and restores
// it afterwards (t.Setenv registers the restore).
func unsetForTest(t *testing.T, name string) {
	t.Helper()
	t.Setenv(name, "")
	if err := os.Unsetenv(name); err != nil {
		t.Fatal(err)
	}
}

// TestDotEnvFillsInButTheRealEnvironmentWins: values in ./.env apply when the
// variable is not set; a variable set in the real environment keeps its value.
func TestDotEnvFillsInButTheRealEnvironmentWins(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile(".env", []byte("# comment\nPORT=9999\nLOG_LEVEL=debug\nTEMPORAL_TASK_QUEUE=\"from-dotenv\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PORT", "7777")
	unsetForTest(t, "LOG_LEVEL")
	unsetForTest(t, "TEMPORAL_TASK_QUEUE")
	c, err := FromEnvironment()
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 7777 || c.LogLevel != "debug" || c.TemporalTaskQueue != "from-dotenv" {
		t.Fatalf("port %d (want the real 7777), log level %q and queue %q (want .env's)", c.Port, c.LogLevel, c.TemporalTaskQueue)
	}
}

// TestDotEnvInvalidValueNamesTheVariable: a bad value in .env is reported like
// one in the environment, and a missing .env is no error.
func TestDotEnvInvalidValueNamesTheVariable(t *testing.T) {
	t.Chdir(t.TempDir())
	unsetForTest(t, "MAX_CONCURRENT_TASKS")
	if _, err := FromEnvironment(); err != nil {
		t.Fatalf("no .env: %v", err)
	}
	if err := os.WriteFile(".env", []byte("MAX_CONCURRENT_TASKS=abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := FromEnvironment()
	if err == nil || !strings.Contains(err.Error(), "MAX_CONCURRENT_TASKS") || !strings.Contains(err.Error(), `"abc"`) {
		t.Fatalf("error %v", err)
	}
}
