package api

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestAuthModes checks who gets in, in each AUTH_MODE, on a task endpoint.
func TestAuthModes(t *testing.T) {
	type want struct {
		code   int
		detail string
	}
	ok := want{200, ""}
	cases := []struct {
		name                string
		key, authz          string // authz "valid" and "garbage" are replaced below
		apikey, auth, hybri want
	}{
		{"nothing", "", "", want{401, "API key required"}, want{401, "Authentication required"}, want{401, "API key required"}},
		{"right key", "app-key", "", ok, want{401, "Authentication required"}, ok},
		{"wrong key", "nope", "", want{401, "Invalid API key"}, want{401, "Authentication required"}, want{401, "Invalid API key"}},
		{"admin key", "admin-key", "", ok, ok, ok},
		{"valid token", "", "valid", want{401, "API key required"}, ok, ok},
		{"valid token and key", "app-key", "valid", ok, ok, ok},
		{"bad token and right key (no fallback)", "app-key", "garbage", ok, want{401, "Invalid access token"}, want{401, "Invalid access token"}},
		{"empty bearer", "", "Bearer ", want{401, "API key required"}, want{401, "Invalid access token"}, want{401, "Invalid access token"}},
		{"basic auth is not a bearer", "app-key", "Basic dXNlcjpwdw==", ok, want{401, "Authentication required"}, ok},
	}
	for _, mode := range []string{"apikey", "auth", "hybrid"} {
		t.Run(mode, func(t *testing.T) {
			f := newAuthFixture(t, map[string]string{"AUTH_MODE": mode, "APP_API_KEY": "app-key", "ADMIN_API_KEY": "admin-key"})
			// In apikey mode there are no accounts: mint a token for a real user anyway.
			token := ""
			if mode != "apikey" {
				tr, _ := f.signup("mode-" + mode + "@example.com")
				token = tr.AccessToken
			} else {
				g := newAuthFixture(t, map[string]string{"AUTH_MODE": "auth"})
				tr, _ := g.signup("other@example.com")
				token = tr.AccessToken
			}
			for _, tc := range cases {
				authz := map[string]string{"valid": "Bearer " + token, "garbage": "Bearer not.a.token"}[tc.authz]
				if authz == "" {
					authz = tc.authz
				}
				var headers []string
				if authz != "" {
					headers = []string{"Authorization", authz}
				}
				w := f.do("GET", "/api/tasks", tc.key, nil, headers...)
				exp := map[string]want{"apikey": tc.apikey, "auth": tc.auth, "hybrid": tc.hybri}[mode]
				if w.Code != exp.code || (exp.detail != "" && detail(t, w) != exp.detail) {
					t.Errorf("%s: %d %s, want %d %q", tc.name, w.Code, w.Body, exp.code, exp.detail)
				}
				if w.Code == 401 && w.Header().Get("WWW-Authenticate") == "" {
					t.Errorf("%s: 401 without WWW-Authenticate", tc.name)
				}
			}
		})
	}
}

// TestAccessTokenAttacks: every malformed or forged token is a 401, on task
// routes and on /auth/me.
func TestAccessTokenAttacks(t *testing.T) {
	f := newAuthFixture(t, map[string]string{"AUTH_MODE": "hybrid", "AUTH_JWT_ISSUER": "aip", "AUTH_JWT_AUDIENCE": "aip-ui"})
	tr, _ := f.signup("victim@example.com")
	now := f.clock.now()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	base := func() jwt.MapClaims {
		return jwt.MapClaims{"sub": tr.User.ID, "email": tr.User.Email, "iat": now.Unix(),
			"exp": now.Add(10 * time.Minute).Unix(), "iss": "aip", "aud": "aip-ui"}
	}
	with := func(mut func(jwt.MapClaims)) jwt.MapClaims { c := base(); mut(c); return c }
	mint := func(m jwt.SigningMethod, c jwt.MapClaims, key any) string {
		s, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	secret := []byte(jwtSecret)
	cases := []struct {
		name, token string
		ok          bool
	}{
		{"issued by the server", tr.AccessToken, true},
		{"hand-made, correct", mint(jwt.SigningMethodHS256, base(), secret), true},
		{"alg none", mint(jwt.SigningMethodNone, base(), jwt.UnsafeAllowNoneSignatureType), false},
		{"RS256", mint(jwt.SigningMethodRS256, base(), rsaKey), false},
		{"HS256 keyed with an RS256 public key", mint(jwt.SigningMethodHS256, base(), pubPEM), false},
		{"HS384", mint(jwt.SigningMethodHS384, base(), secret), false},
		{"expired", mint(jwt.SigningMethodHS256, with(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() }), secret), false},
		{"not yet valid", mint(jwt.SigningMethodHS256, with(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Minute).Unix() }), secret), false},
		{"wrong iss", mint(jwt.SigningMethodHS256, with(func(c jwt.MapClaims) { c["iss"] = "evil" }), secret), false},
		{"wrong aud", mint(jwt.SigningMethodHS256, with(func(c jwt.MapClaims) { c["aud"] = "other" }), secret), false},
		{"wrong signature", mint(jwt.SigningMethodHS256, base(), []byte("not-the-secret-not-the-secret-00")), false},
		{"missing exp", mint(jwt.SigningMethodHS256, with(func(c jwt.MapClaims) { delete(c, "exp") }), secret), false},
		{"unknown user", mint(jwt.SigningMethodHS256, with(func(c jwt.MapClaims) { c["sub"] = "44444444-4444-4444-8444-444444444444" }), secret), false},
	}
	for _, tc := range cases {
		for _, path := range []string{"/api/tasks", "/auth/me"} {
			w := f.do("GET", path, "", nil, bearer(tc.token)...)
			if tc.ok && w.Code != 200 {
				t.Errorf("%s on %s: %d %s", tc.name, path, w.Code, w.Body)
			}
			if !tc.ok && (w.Code != 401 || detail(t, w) != "Invalid access token") {
				t.Errorf("%s on %s: %d %s, want 401 Invalid access token", tc.name, path, w.Code, w.Body)
			}
		}
	}
}

// TestOpsStatusNeedsAnAdmin: ADMIN_API_KEY or an admin user, nobody else.
func TestOpsStatusNeedsAnAdmin(t *testing.T) {
	f := newAuthFixture(t, map[string]string{"AUTH_MODE": "hybrid", "ADMIN_API_KEY": "admin-key"})
	if err := f.accounts.BootstrapAdmin(t.Context(), "root@example.com", "root-password"); err != nil {
		t.Fatal(err)
	}
	admin := f.do("POST", "/auth/login", "", map[string]any{"email": "root@example.com", "password": "root-password"})
	if admin.Code != 200 {
		t.Fatalf("admin login %d %s", admin.Code, admin.Body)
	}
	user, _ := f.signup("plain@example.com")
	cases := []struct {
		name    string
		key     string
		headers []string
		code    int
	}{
		{"nobody", "", nil, 401},
		{"an API key", "some-key", nil, 403},
		{"a user", "", bearer(user.AccessToken), 403},
		{"ADMIN_API_KEY", "admin-key", nil, 200},
		{"the bootstrap admin", "", bearer(decodeToken(t, admin).AccessToken), 200},
	}
	for _, tc := range cases {
		if w := f.do("GET", "/ops/status", tc.key, nil, tc.headers...); w.Code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.name, w.Code, w.Body, tc.code)
		}
	}
}

// TestUserTaskListRules pins GET /api/users/{id}/tasks as clients of the
// earlier system use it.
func TestUserTaskListRules(t *testing.T) {
	f := newAuthFixture(t, map[string]string{"AUTH_MODE": "hybrid"})
	f.expectStart()
	alice, _ := f.signup("alice@example.com")
	bob, _ := f.signup("bob@example.com")
	f.createAs(bearer(alice.AccessToken)...)
	keyTask := f.createAs("X-API-Key", "k1")
	type list struct {
		Tasks []map[string]any `json:"tasks"`
	}
	cases := []struct {
		name    string
		path    string
		key     string
		headers []string
		code    int
		count   int
	}{
		{"own id", "/api/users/" + alice.User.ID + "/tasks", "", bearer(alice.AccessToken), 200, 1},
		{"someone else's id", "/api/users/" + alice.User.ID + "/tasks", "", bearer(bob.AccessToken), 403, 0},
		{"a free-form id", "/api/users/anonymous/tasks", "", bearer(alice.AccessToken), 403, 0},
		{"API key, its user_id", "/api/users/anonymous/tasks", "k1", nil, 200, 1},
		{"API key, a user's id", "/api/users/" + alice.User.ID + "/tasks", "k1", nil, 200, 0},
		{"another API key", "/api/users/anonymous/tasks", "k2", nil, 200, 0},
	}
	for _, tc := range cases {
		w := f.do("GET", tc.path, tc.key, nil, tc.headers...)
		if w.Code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.name, w.Code, w.Body, tc.code)
			continue
		}
		if tc.code == 403 && detail(t, w) != "Forbidden" {
			t.Errorf("%s: %s", tc.name, w.Body)
		}
		if tc.code == 200 {
			var l list
			decodeJSON(t, w.Body.Bytes(), &l)
			if len(l.Tasks) != tc.count {
				t.Errorf("%s: %d tasks, want %d", tc.name, len(l.Tasks), tc.count)
			}
		}
	}
	// GET /api/tasks: each caller sees only their own.
	for _, c := range []struct {
		key     string
		headers []string
		id      string
	}{{"k1", nil, keyTask}, {"", bearer(bob.AccessToken), ""}} {
		var l list
		decodeJSON(t, f.do("GET", "/api/tasks", c.key, nil, c.headers...).Body.Bytes(), &l)
		if (c.id == "" && len(l.Tasks) != 0) || (c.id != "" && (len(l.Tasks) != 1 || l.Tasks[0]["id"] != c.id)) {
			t.Errorf("GET /api/tasks = %v, want only %q", l.Tasks, c.id)
		}
	}
}

// TestCORSNeverWildcardWithCredentials: only listed origins are echoed.
func TestCORSNeverWildcardWithCredentials(t *testing.T) {
	cases := []struct {
		origins, origin, want string
	}{
		{"*", "https://evil.example", ""},
		{"*", "*", ""},
		{" https://ui.example , ,https://b.example/", "https://b.example", "https://b.example"},
		{"https://ui.example", "https://ui.example.evil", ""},
		{"https://ui.example", "null", ""},
		{"https://ui.example", "https://ui.example", "https://ui.example"},
	}
	for _, tc := range cases {
		f := newFixture(t, map[string]string{"ALLOWED_ORIGINS": tc.origins})
		for _, method := range []string{"GET", "OPTIONS"} {
			w := f.do(method, "/auth/me", "", nil, "Origin", tc.origin, "Access-Control-Request-Method", "GET")
			h := w.Header()
			if got := h.Get("Access-Control-Allow-Origin"); got != tc.want || got == "*" {
				t.Errorf("%q from %q (%s): allow-origin %q, want %q", tc.origins, tc.origin, method, got, tc.want)
			}
			if tc.want == "" && h.Get("Access-Control-Allow-Credentials") != "" {
				t.Errorf("%q from %q: credentials allowed for an unlisted origin", tc.origins, tc.origin)
			}
			if tc.want != "" && (h.Get("Access-Control-Allow-Credentials") != "true" ||
				!strings.Contains(h.Get("Access-Control-Expose-Headers"), "X-RateLimit-Remaining")) {
				t.Errorf("%q from %q: headers %v", tc.origins, tc.origin, h)
			}
		}
	}
}
