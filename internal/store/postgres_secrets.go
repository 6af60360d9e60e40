package store

import (
	"context"
	"errors"
	"fmt"
)

// SecretAPIKeyHash names the generated API_KEY_HASH_SECRET in
// platform_secrets.
const SecretAPIKeyHash = "api_key_hash_secret"

// minSecretLen is the shortest value the table accepts (its CHECK), the
// length production requires of API_KEY_HASH_SECRET.
const minSecretLen = 32

// GetOrCreateSecret returns the secret stored under name; when there is
// none yet, it stores candidate first. Concurrent callers with different
// candidates all get the one value that was stored first: the INSERT of
// the later ones waits for the first to commit and then does nothing, and
// the SELECT, a statement of its own, sees the committed row. created
// reports whether this call stored candidate.
func (p *Postgres) GetOrCreateSecret(ctx context.Context, name, candidate string) (value string, created bool, err error) {
	if name == "" {
		return "", false, errors.New("postgres: secret: empty name")
	}
	if len(candidate) < minSecretLen {
		return "", false, fmt.Errorf("postgres: secret %s: the candidate is shorter than %d bytes", name, minSecretLen)
	}
	tag, err := p.pool.Exec(ctx, `INSERT INTO platform_secrets (name, value, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO NOTHING`, name, candidate, p.now())
	if err != nil {
		return "", false, fail("store secret "+name, err)
	}
	if err := p.pool.QueryRow(ctx, `SELECT value FROM platform_secrets WHERE name = $1`, name).Scan(&value); err != nil {
		return "", false, fail("read secret "+name, err)
	}
	return value, tag.RowsAffected() == 1, nil
}
