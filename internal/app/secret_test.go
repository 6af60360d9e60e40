package app

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ai-platform/internal/config"
	"ai-platform/internal/store"
	"ai-platform/internal/store/pgtest"
)

const (
	fileSecret     = "file-secret-0123456789abcdef0123456789abcdef"
	dbSecret       = "db-secret-0123456789abcdef0123456789abcdef"
	explicitSecret = "explicit-secret-0123456789abcdef0123456789"
)

func openSecretStore(t *testing.T, url string) *store.Postgres {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pg, err := store.OpenPostgres(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Close() })
	return pg
}

// dataDirWith is a fresh DATA_DIR, holding secret in the file a previous
// release generated when secret is not "".
func dataDirWith(t *testing.T, secret string) string {
	t.Helper()
	dir := t.TempDir()
	if secret != "" {
		path := filepath.Join(dir, "secrets", apiKeyHashSecretFile)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestAPIKeyHashSecretSource: where API_KEY_HASH_SECRET comes from when
// it is not set, with and without PostgreSQL, and that the value survives
// a wiped DATA_DIR once it lives in the database.
func TestAPIKeyHashSecretSource(t *testing.T) {
	tests := []struct {
		name       string
		postgres   bool
		explicit   string
		file       string // in DATA_DIR before the start
		db         string // in platform_secrets before the start
		want       string // "" means a generated 64-hex-digit secret
		wantWarn   bool
		wantFileOK bool // DATA_DIR holds a secret file after the start
	}{
		{name: "explicit wins over the database and the file", postgres: true, explicit: explicitSecret,
			file: fileSecret, db: dbSecret, want: explicitSecret, wantFileOK: true},
		{name: "explicit without a database", explicit: explicitSecret, want: explicitSecret},
		{name: "postgres: generated into the database, not DATA_DIR", postgres: true},
		{name: "postgres: the DATA_DIR secret of an upgrade is imported", postgres: true, file: fileSecret,
			want: fileSecret, wantFileOK: true},
		{name: "postgres: the database's secret is used", postgres: true, db: dbSecret, want: dbSecret},
		{name: "postgres: the database wins over a differing file", postgres: true, file: fileSecret, db: dbSecret,
			want: dbSecret, wantWarn: true, wantFileOK: true},
		{name: "postgres: a file too short to be ours is not imported", postgres: true, file: "short"},
		{name: "no database: generated into DATA_DIR", wantFileOK: true},
		{name: "no database: DATA_DIR's secret is used", file: fileSecret, want: fileSecret, wantFileOK: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := dataDirWith(t, tc.file)
			cfg := config.Config{DataDir: dir, APIKeyHashSecret: tc.explicit}
			var st store.Store
			var pg *store.Postgres
			if tc.postgres {
				cfg.DatabaseURL = pgtest.Schema(t)
				pg = openSecretStore(t, cfg.DatabaseURL)
				st = pg
				if tc.db != "" {
					if _, _, err := pg.GetOrCreateSecret(t.Context(), store.SecretAPIKeyHash, tc.db); err != nil {
						t.Fatal(err)
					}
				}
			} else {
				m, err := store.NewMemory(nil)
				if err != nil {
					t.Fatal(err)
				}
				st = m
			}
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			got, err := apiKeyHashSecret(t.Context(), cfg, st, log)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.want != "" && got != tc.want:
				t.Errorf("secret %q, want %q", got, tc.want)
			case tc.want == "" && (len(got) != 64 || strings.Trim(got, "0123456789abcdef") != ""):
				t.Errorf("secret %q is not a generated one", got)
			}
			if strings.Contains(logs.String(), got) {
				t.Errorf("the secret is in the log:\n%s", logs.String())
			}
			if warned := strings.Contains(logs.String(), "level=WARN"); warned != tc.wantWarn {
				t.Errorf("warned = %v, want %v:\n%s", warned, tc.wantWarn, logs.String())
			}
			path := filepath.Join(dir, "secrets", apiKeyHashSecretFile)
			local, err := readLocalSecret(path)
			if err != nil {
				t.Fatal(err)
			}
			if (local != "") != tc.wantFileOK {
				t.Errorf("DATA_DIR holds a secret = %v, want %v", local != "", tc.wantFileOK)
			}

			// The next start: on another host, or after DATA_DIR was wiped.
			again, err := apiKeyHashSecret(t.Context(), config.Config{DataDir: t.TempDir(), DatabaseURL: cfg.DatabaseURL,
				APIKeyHashSecret: tc.explicit}, st, log)
			if err != nil {
				t.Fatal(err)
			}
			if tc.postgres && again != got {
				t.Errorf("after wiping DATA_DIR the secret changed")
			}
			if !tc.postgres && tc.explicit == "" && again == got {
				t.Errorf("without a database a fresh DATA_DIR kept the secret: it should be DATA_DIR's own")
			}
		})
	}
}

// TestAPIKeyHashSecretConcurrentStarts: API processes on two hosts (two
// pools, two DATA_DIRs) starting at once agree on one generated secret.
func TestAPIKeyHashSecretConcurrentStarts(t *testing.T) {
	url := pgtest.Schema(t)
	openSecretStore(t, url) // migrated once, before the race
	const hosts = 4
	got := make([]string, hosts)
	errs := make([]error, hosts)
	stores := make([]*store.Postgres, hosts)
	for i := range stores {
		stores[i] = openSecretStore(t, url)
	}
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range hosts {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			cfg := config.Config{DataDir: t.TempDir(), DatabaseURL: url}
			got[i], errs[i] = apiKeyHashSecret(t.Context(), cfg, stores[i], slog.New(slog.DiscardHandler))
		}()
	}
	start.Done()
	done.Wait()
	for i := range hosts {
		if errs[i] != nil {
			t.Fatalf("host %d: %v", i, errs[i])
		}
		if got[i] != got[0] {
			t.Fatalf("host %d got another secret than host 0", i)
		}
	}
}
