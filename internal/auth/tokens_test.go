package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"ai-platform/internal/store"
)

const testSecret = "0123456789abcdef0123456789abcdef"

var tokenNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testTokens(t *testing.T, iss, aud string) *tokens {
	t.Helper()
	tk, err := newTokens(TokenSettings{Secret: testSecret, Issuer: iss, Audience: aud, TTL: 15 * time.Minute},
		func() time.Time { return tokenNow })
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// claims returns valid claims for the test clock; tests break one thing.
func claims(mut func(*jwt.MapClaims)) jwt.MapClaims {
	c := jwt.MapClaims{"sub": "11111111-1111-4111-8111-111111111111", "email": "a@example.com",
		"iat": tokenNow.Unix(), "exp": tokenNow.Add(10 * time.Minute).Unix(), "iss": "aip", "aud": "aip-clients"}
	if mut != nil {
		mut(&c)
	}
	return c
}

func sign(t *testing.T, m jwt.SigningMethod, c jwt.MapClaims, key any) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAccessTokenVerification(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	hs := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodHS256, c, []byte(testSecret)) }
	valid := hs(claims(nil))
	parts := strings.Split(valid, ".")

	cases := []struct {
		name  string
		token string
		ok    bool
	}{
		{"valid", valid, true},
		{"exp inside the leeway", hs(claims(func(c *jwt.MapClaims) { (*c)["exp"] = tokenNow.Add(-5 * time.Second).Unix() })), true},
		{"alg none", sign(t, jwt.SigningMethodNone, claims(nil), jwt.UnsafeAllowNoneSignatureType), false},
		{"RS256", sign(t, jwt.SigningMethodRS256, claims(nil), rsaKey), false},
		{"HS256 keyed with the RSA public key", sign(t, jwt.SigningMethodHS256, claims(nil), pubPEM), false},
		{"HS512 with the right secret", sign(t, jwt.SigningMethodHS512, claims(nil), []byte(testSecret)), false},
		{"wrong signature", sign(t, jwt.SigningMethodHS256, claims(nil), []byte("another-secret-another-secret-xx")), false},
		{"tampered payload", parts[0] + "." + jwtSeg(t, `{"sub":"someone-else","iat":1,"exp":9999999999}`) + "." + parts[2], false},
		{"expired", hs(claims(func(c *jwt.MapClaims) { (*c)["exp"] = tokenNow.Add(-time.Minute).Unix() })), false},
		{"not yet valid (nbf)", hs(claims(func(c *jwt.MapClaims) { (*c)["nbf"] = tokenNow.Add(time.Minute).Unix() })), false},
		{"issued in the future", hs(claims(func(c *jwt.MapClaims) { (*c)["iat"] = tokenNow.Add(time.Minute).Unix() })), false},
		{"missing exp", hs(claims(func(c *jwt.MapClaims) { delete(*c, "exp") })), false},
		{"missing iat", hs(claims(func(c *jwt.MapClaims) { delete(*c, "iat") })), false},
		{"missing sub", hs(claims(func(c *jwt.MapClaims) { delete(*c, "sub") })), false},
		{"wrong iss", hs(claims(func(c *jwt.MapClaims) { (*c)["iss"] = "evil" })), false},
		{"missing iss", hs(claims(func(c *jwt.MapClaims) { delete(*c, "iss") })), false},
		{"wrong aud", hs(claims(func(c *jwt.MapClaims) { (*c)["aud"] = "other-clients" })), false},
		{"missing aud", hs(claims(func(c *jwt.MapClaims) { delete(*c, "aud") })), false},
		{"garbage", "not.a.jwt", false},
		{"empty", "", false},
	}
	tk := testTokens(t, "aip", "aip-clients")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tk.verify(tc.token)
			if tc.ok {
				if err != nil || c.Subject == "" || c.Email != "a@example.com" {
					t.Fatalf("verify = %+v, %v; want valid", c, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("verify = %+v, %v; want ErrInvalidToken", c, err)
			}
		})
	}
}

func jwtSeg(t *testing.T, s string) string {
	t.Helper()
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

func TestIssuedTokensCarryTheConfiguredClaims(t *testing.T) {
	u := store.User{ID: "22222222-2222-4222-8222-222222222222", Email: "bob@example.com"}
	for _, tc := range []struct{ iss, aud string }{{"", ""}, {"aip", ""}, {"", "clients"}, {"aip", "clients"}} {
		tk := testTokens(t, tc.iss, tc.aud)
		raw, err := tk.issue(u)
		if err != nil {
			t.Fatal(err)
		}
		c, err := tk.verify(raw)
		if err != nil {
			t.Fatalf("iss %q aud %q: own token refused: %v", tc.iss, tc.aud, err)
		}
		var aud []string
		if tc.aud != "" {
			aud = []string{tc.aud}
		}
		if c.Subject != u.ID || c.Email != u.Email || c.Issuer != tc.iss || strings.Join(c.Audience, ",") != strings.Join(aud, ",") ||
			!c.IssuedAt.Equal(tokenNow) || !c.ExpiresAt.Equal(tokenNow.Add(15*time.Minute)) || c.ID == "" {
			t.Errorf("claims %+v", c)
		}
		if h, _, _ := jwt.NewParser().ParseUnverified(raw, jwt.MapClaims{}); h.Method.Alg() != "HS256" {
			t.Errorf("alg %s", h.Method.Alg())
		}
	}
	// A token made without iss/aud is refused once they are required.
	plain, _ := testTokens(t, "", "").issue(u)
	if _, err := testTokens(t, "aip", "").verify(plain); !errors.Is(err, ErrInvalidToken) {
		t.Error("token without iss accepted when AUTH_JWT_ISSUER is set")
	}
	if _, err := testTokens(t, "", "clients").verify(plain); !errors.Is(err, ErrInvalidToken) {
		t.Error("token without aud accepted when AUTH_JWT_AUDIENCE is set")
	}
}
