package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"ai-platform/internal/auth"
	"ai-platform/internal/config"
)

// NewAuthenticator returns the authenticator for AUTH_MODE: API keys only
// (apikey), or access tokens with (hybrid) or without (auth) API keys.
func NewAuthenticator(cfg config.Config, accounts *auth.Service) Authenticator {
	keys := NewKeyAuth(cfg)
	if cfg.AuthMode == config.AuthAPIKey {
		return keys
	}
	return &TokenAuth{hybrid: cfg.AuthMode == config.AuthHybrid, accounts: accounts, keys: keys}
}

// TokenAuth implements AUTH_MODE auth and hybrid. A bearer token, when
// present, is the only credential considered: an invalid one is refused,
// never answered by falling back to an API key.
type TokenAuth struct {
	hybrid   bool
	accounts *auth.Service
	keys     *KeyAuth
}

// Authenticate implements Authenticator.
func (a *TokenAuth) Authenticate(r *http.Request) (Principal, *AuthError) {
	bearer, ok := bearerToken(r.Header.Get("Authorization"))
	return a.check(r.Context(), r.Header.Get("X-API-Key"), bearer, ok, "Authentication required")
}

// Credentials implements Authenticator (WebSocket query or first message).
func (a *TokenAuth) Credentials(r *http.Request, apiKey, bearer string) (Principal, *AuthError) {
	return a.check(r.Context(), apiKey, bearer, bearer != "", "Access token required")
}

func (a *TokenAuth) check(ctx context.Context, apiKey, bearer string, hasBearer bool, missing string) (Principal, *AuthError) {
	switch {
	case hasBearer:
		return a.user(ctx, bearer)
	case a.hybrid:
		return a.keys.Key(apiKey)
	case apiKey != "" && a.keys.adminKey != "" && subtle.ConstantTimeCompare([]byte(apiKey), []byte(a.keys.adminKey)) == 1:
		// The operator key works in every mode; other API keys do not in auth mode.
		return a.keys.Key(apiKey)
	}
	return Principal{}, &AuthError{Status: http.StatusUnauthorized, Detail: missing}
}

func (a *TokenAuth) user(ctx context.Context, token string) (Principal, *AuthError) {
	if a.accounts == nil {
		return Principal{}, &AuthError{Status: http.StatusInternalServerError, Detail: "Authentication is not configured"}
	}
	u, err := a.accounts.Authenticate(ctx, token)
	if errors.Is(err, auth.ErrInvalidToken) {
		return Principal{}, &AuthError{Status: http.StatusUnauthorized, Detail: "Invalid access token"}
	}
	if err != nil {
		return Principal{}, &AuthError{Status: http.StatusServiceUnavailable, Detail: msgStoreDown}
	}
	return a.principal(u.ID, u.Email, u.IsAdmin), nil
}

// principal is a user's identity; its owner key (for tasks, quotas and rate
// limits) is the keyed hash of the user id.
func (a *TokenAuth) principal(id, email string, admin bool) Principal {
	return Principal{Kind: KindUser, UserID: id, Email: email, OwnerKey: a.keys.hasher.Hash("user", id), Admin: admin}
}

// bearerToken extracts the token of an "Authorization: Bearer ..." header;
// ok reports whether the header uses the Bearer scheme at all.
func bearerToken(h string) (token string, ok bool) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if !strings.EqualFold(scheme, "bearer") {
		return "", false
	}
	return strings.TrimSpace(rest), true
}
