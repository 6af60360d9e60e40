package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"ai-platform/internal/config"
	"ai-platform/internal/store"
)

// apiKeyHashSecretFile is the file under DATA_DIR/secrets that holds the
// generated API_KEY_HASH_SECRET without DATABASE_URL (and held it with
// one, before the database kept it).
const apiKeyHashSecretFile = "api_key_hash_secret"

// secretStore is the part of the PostgreSQL store that keeps the secrets
// the platform generates.
type secretStore interface {
	GetOrCreateSecret(ctx context.Context, name, candidate string) (value string, created bool, err error)
}

// apiKeyHashSecret is the key of the HMAC that turns API keys into owner
// hashes. API_KEY_HASH_SECRET wins when set. Otherwise, with DATABASE_URL,
// it lives in PostgreSQL: every API process, on any host, must hash a key
// to the same owner, and wiping a DATA_DIR must not orphan every task. A
// DATA_DIR that already holds one (a deployment from before) has it
// imported on the first start, so the upgrade re-keys nothing. Without
// DATABASE_URL it stays in DATA_DIR, next to the file store it keys.
// The value is never logged.
func apiKeyHashSecret(ctx context.Context, cfg config.Config, st store.Store, log *slog.Logger) (string, error) {
	if cfg.APIKeyHashSecret != "" {
		return cfg.APIKeyHashSecret, nil
	}
	if cfg.DatabaseURL == "" {
		return localSecret(cfg.DataDir, apiKeyHashSecretFile)
	}
	ss, ok := st.(secretStore)
	if !ok {
		return "", fmt.Errorf("API_KEY_HASH_SECRET: the %T store cannot keep a generated secret; set API_KEY_HASH_SECRET", st)
	}
	path := filepath.Join(cfg.DataDir, "secrets", apiKeyHashSecretFile)
	local, err := readLocalSecret(path)
	if err != nil {
		return "", err
	}
	candidate := local
	if candidate == "" {
		if candidate, err = randomSecret(); err != nil {
			return "", err
		}
	}
	value, created, err := ss.GetOrCreateSecret(ctx, store.SecretAPIKeyHash, candidate)
	if err != nil {
		return "", fmt.Errorf("API_KEY_HASH_SECRET: %w", err)
	}
	switch {
	case created && local != "":
		log.Info("API_KEY_HASH_SECRET is unset: imported the one generated earlier under DATA_DIR into PostgreSQL "+
			"(table platform_secrets), which every API process now uses; the file is no longer read", "path", path)
	case created:
		log.Info("API_KEY_HASH_SECRET is unset: generated one and stored it in PostgreSQL (table platform_secrets)")
	case local != "" && local != value:
		log.Warn("API_KEY_HASH_SECRET is unset and PostgreSQL already holds one that differs from the file under "+
			"DATA_DIR: using PostgreSQL's, so API keys used only against this host's earlier secret map to other tenants",
			"path", path)
	default:
		log.Info("API_KEY_HASH_SECRET is unset: using the one stored in PostgreSQL (table platform_secrets)")
	}
	return value, nil
}

// readLocalSecret returns the secret in path, or "" when there is no
// usable one (missing, or too short to be one we generated).
func readLocalSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	if s := strings.TrimSpace(string(b)); len(s) >= 32 {
		return s, nil
	}
	return "", nil
}

// randomSecret is 32 random bytes, hex-encoded.
func randomSecret() (string, error) {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("generating a secret: %w", err)
	}
	return hex.EncodeToString(buf), nil
}

// localSecret reads (or creates once) a random secret under DATA_DIR, for
// single-machine setups that did not configure one.
func localSecret(dataDir, name string) (string, error) {
	path := filepath.Join(dataDir, "secrets", name)
	if s, err := readLocalSecret(path); err != nil || s != "" {
		return s, err
	}
	secret, err := randomSecret()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
	}
	if err := store.WriteFileAtomic(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return secret, nil
}
