package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"

	"github.com/gin-gonic/gin"

	"ai-platform/internal/config"
)

// Principal kinds: how the caller authenticated.
const (
	// KindAPIKey is a caller with an API key (X-API-Key).
	KindAPIKey = "apikey"
	// KindUser is a signed-in user with an access token.
	KindUser = "user"
)

// Principal is the authenticated caller.
type Principal struct {
	// Kind is KindAPIKey or KindUser.
	Kind string `json:"kind"`
	// OwnerKey is the keyed hash that owns tasks and quotas; never a raw key.
	OwnerKey string `json:"-"`
	UserID   string `json:"user_id,omitempty"`
	Email    string `json:"email,omitempty"`
	Admin    bool   `json:"admin"`
}

// IsUser reports whether the caller is a signed-in user, who owns the tasks
// created under its user id; an API key owns the tasks created with it.
func (p Principal) IsUser() bool { return p.Kind == KindUser }

// AuthError is an authentication failure with the status and text clients
// of the earlier system expect.
type AuthError struct {
	Status int
	Detail string
}

// Authenticator authenticates HTTP requests and WebSocket credentials.
type Authenticator interface {
	// Authenticate checks the request's X-API-Key / Authorization headers.
	Authenticate(r *http.Request) (Principal, *AuthError)
	// Credentials checks explicit credentials (WebSocket query or first message).
	Credentials(r *http.Request, apiKey, bearer string) (Principal, *AuthError)
}

// KeyHasher turns API keys into keyed hashes (HMAC-SHA256), so a leaked task
// row or log line never reveals or confirms a key.
type KeyHasher struct {
	secret []byte
}

// NewKeyHasher returns a hasher keyed by secret.
func NewKeyHasher(secret string) KeyHasher { return KeyHasher{secret: []byte(secret)} }

// Hash returns the hex HMAC of kind and value.
func (h KeyHasher) Hash(kind, value string) string {
	m := hmac.New(sha256.New, h.secret)
	m.Write([]byte(kind + "\x00" + value))
	return hex.EncodeToString(m.Sum(nil))
}

// KeyAuth implements AUTH_MODE=apikey.
type KeyAuth struct {
	appKey   string
	adminKey string
	hasher   KeyHasher
}

// NewKeyAuth builds API-key authentication from the config. The hash key
// comes from API_KEY_HASH_SECRET (resolved by the caller into cfg).
func NewKeyAuth(cfg config.Config) *KeyAuth {
	return &KeyAuth{appKey: cfg.AppAPIKey, adminKey: cfg.AdminAPIKey, hasher: NewKeyHasher(cfg.APIKeyHashSecret)}
}

// Hasher exposes the key hasher (shared with the JWT authenticator).
func (k *KeyAuth) Hasher() KeyHasher { return k.hasher }

// Authenticate implements Authenticator.
func (k *KeyAuth) Authenticate(r *http.Request) (Principal, *AuthError) {
	return k.Key(r.Header.Get("X-API-Key"))
}

// Credentials implements Authenticator.
func (k *KeyAuth) Credentials(_ *http.Request, apiKey, _ string) (Principal, *AuthError) {
	return k.Key(apiKey)
}

// Key checks one API key. With APP_API_KEY set only that key (or the admin
// key) is valid, compared in constant time; unset, every key is its own tenant.
func (k *KeyAuth) Key(key string) (Principal, *AuthError) {
	if key == "" {
		return Principal{}, &AuthError{Status: http.StatusUnauthorized, Detail: "API key required"}
	}
	admin := k.adminKey != "" && subtle.ConstantTimeCompare([]byte(key), []byte(k.adminKey)) == 1
	if k.appKey != "" && !admin && subtle.ConstantTimeCompare([]byte(key), []byte(k.appKey)) != 1 {
		return Principal{}, &AuthError{Status: http.StatusUnauthorized, Detail: "Invalid API key"}
	}
	return Principal{Kind: KindAPIKey, OwnerKey: k.hasher.Hash("apikey", key), Admin: admin}, nil
}

// authenticate requires a principal for the rest of the chain.
func (s *Server) authenticate() gin.HandlerFunc {
	return func(c *gin.Context) {
		p, aerr := s.Auth.Authenticate(c.Request)
		if aerr != nil {
			if aerr.Status == http.StatusUnauthorized {
				c.Header("WWW-Authenticate", `Bearer realm="ai-platform"`)
			}
			fail(c, aerr.Status, aerr.Detail)
			return
		}
		c.Set(ctxPrincipal, p)
		c.Next()
	}
}

func principalOf(c *gin.Context) Principal {
	p, _ := c.Get(ctxPrincipal)
	pr, _ := p.(Principal)
	return pr
}

// requireAdmin lets only admin principals through (ADMIN_API_KEY or an
// admin user).
func (s *Server) requireAdmin() gin.HandlerFunc {
	return func(c *gin.Context) {
		if !principalOf(c).Admin {
			fail(c, http.StatusForbidden, "Admin access required")
			return
		}
		c.Next()
	}
}
