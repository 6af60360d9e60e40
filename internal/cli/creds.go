package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// storedCredentials is credentials.json: the login of one server. The
// refresh token is what the server set as its refresh cookie; the access
// token is cached so every command does not rotate the refresh token.
type storedCredentials struct {
	URL           string    `json:"url"`
	Email         string    `json:"email,omitempty"`
	UserID        string    `json:"user_id,omitempty"`
	CookieName    string    `json:"refresh_cookie_name"`
	RefreshToken  string    `json:"refresh_token"`
	AccessToken   string    `json:"access_token,omitempty"`
	AccessExpires time.Time `json:"access_token_expires_at,omitzero"`
	SavedAt       time.Time `json:"saved_at"`
}

// userConfigDir is os.UserConfigDir evaluated through env, so tests (and
// anyone embedding the client) decide where credentials go.
func userConfigDir(env Env) (string, error) {
	get := func(k string) string { v, _ := env(k); return v }
	switch runtime.GOOS {
	case "windows":
		if d := get("AppData"); d != "" {
			return d, nil
		}
		return "", errors.New("%AppData% is not set")
	case "darwin", "ios":
		if h := get("HOME"); h != "" {
			return filepath.Join(h, "Library", "Application Support"), nil
		}
		return "", errors.New("$HOME is not set")
	case "plan9":
		if h := get("home"); h != "" {
			return filepath.Join(h, "lib"), nil
		}
		return "", errors.New("$home is not set")
	}
	if d := get("XDG_CONFIG_HOME"); d != "" {
		if !filepath.IsAbs(d) {
			return "", errors.New("$XDG_CONFIG_HOME must be an absolute path")
		}
		return d, nil
	}
	if h := get("HOME"); h != "" {
		return filepath.Join(h, ".config"), nil
	}
	return "", errors.New("neither $XDG_CONFIG_HOME nor $HOME is set")
}

// credentialsPath is <config dir>/aiplatform/credentials.json.
func credentialsPath(env Env) (string, error) {
	dir, err := userConfigDir(env)
	if err != nil {
		return "", fmt.Errorf("finding the user config directory: %w", err)
	}
	return filepath.Join(dir, "aiplatform", "credentials.json"), nil
}

// loadCredentials reads the stored login; (nil, nil) when there is none.
func loadCredentials(env Env) (*storedCredentials, error) {
	path, err := credentialsPath(env)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var c storedCredentials
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%s is not valid JSON; run `aiplatform login` again: %w", path, err)
	}
	return &c, nil
}

// saveCredentials writes the file atomically with mode 0600 in a 0700
// directory: a crash never leaves half a file, and no other user reads it.
func saveCredentials(env Env, c *storedCredentials) (string, error) {
	path, err := credentialsPath(env)
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("creating %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return "", fmt.Errorf("restricting %s: %w", dir, err)
	}
	c.SavedAt = time.Now().UTC()
	raw, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encoding credentials: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".credentials-*.json")
	if err != nil {
		return "", fmt.Errorf("writing credentials: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", fmt.Errorf("writing credentials: %w", err)
	}
	if _, err := tmp.Write(append(raw, '\n')); err != nil {
		tmp.Close()
		return "", fmt.Errorf("writing credentials: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", fmt.Errorf("writing credentials: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("writing credentials: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("writing credentials: %w", err)
	}
	return path, nil
}

// removeCredentials deletes the stored login; a missing file is fine.
func removeCredentials(env Env) (bool, error) {
	path, err := credentialsPath(env)
	if err != nil {
		return false, err
	}
	err = os.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("removing %s: %w", path, err)
	}
	return true, nil
}
