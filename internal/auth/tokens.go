package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"ai-platform/internal/store"
)

// Leeway is the clock skew tolerated on exp, nbf and iat between API processes.
const Leeway = 15 * time.Second

// ErrInvalidToken is any access token that must be refused: bad signature,
// wrong algorithm, expired, wrong issuer or audience, or an unknown user.
var ErrInvalidToken = errors.New("invalid access token")

// Claims are the access token's claims.
type Claims struct {
	Email string `json:"email,omitempty"`
	jwt.RegisteredClaims
}

// Validate adds what jwt/v5 does not require by itself: a subject and iat.
func (c Claims) Validate() error {
	if c.Subject == "" {
		return errors.New("token has no subject")
	}
	if c.IssuedAt == nil {
		return errors.New("token has no iat")
	}
	return nil
}

// TokenSettings configure access tokens.
type TokenSettings struct {
	Secret   string
	Issuer   string
	Audience string
	TTL      time.Duration
}

// tokens issues and verifies HS256 access tokens.
type tokens struct {
	TokenSettings
	now func() time.Time
}

func newTokens(s TokenSettings, now func() time.Time) (*tokens, error) {
	if s.Secret == "" {
		return nil, errors.New("auth: AUTH_JWT_SECRET is not configured")
	}
	if s.TTL <= 0 {
		return nil, errors.New("auth: access token TTL must be positive")
	}
	return &tokens{TokenSettings: s, now: now}, nil
}

// issue signs a token for u, valid from now for the TTL.
func (t *tokens) issue(u store.User) (string, error) {
	now := t.now()
	c := Claims{Email: u.Email, RegisteredClaims: jwt.RegisteredClaims{
		Subject:   u.ID,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(t.TTL)),
		ID:        uuid.NewString(),
		Issuer:    t.Issuer,
	}}
	if t.Audience != "" {
		c.Audience = jwt.ClaimStrings{t.Audience}
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(t.Secret))
	if err != nil {
		return "", fmt.Errorf("signing access token: %w", err)
	}
	return s, nil
}

// verify checks raw and returns its claims. Only HS256 is accepted (no
// "none", no RS256 public key used as an HMAC secret), exp and iat are
// required, and iss/aud are required when configured.
func (t *tokens) verify(raw string) (Claims, error) {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(t.now),
	}
	if t.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(t.Issuer))
	}
	if t.Audience != "" {
		opts = append(opts, jwt.WithAudience(t.Audience))
	}
	var c Claims
	_, err := jwt.NewParser(opts...).ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) {
		return []byte(t.Secret), nil
	})
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return c, nil
}
