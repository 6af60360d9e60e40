package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// tokenResponse is the server's TokenResponse.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	User        struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	} `json:"user"`
}

// refreshMargin renews access tokens this long before they expire.
const refreshMargin = 30 * time.Second

// defaultCookieName is the server's default AUTH_REFRESH_COOKIE_NAME.
const defaultCookieName = "refresh_token"

// session authenticates with a stored login: a bearer access token,
// renewed through /auth/refresh with the refresh cookie, which rotates on
// every refresh and is saved again.
type session struct {
	env    Env
	client *client
	mu     sync.Mutex
	creds  *storedCredentials
	// refreshed is set once this process renewed the token; a second 401
	// is then final.
	refreshed bool
}

func (s *session) apply(ctx context.Context, req *http.Request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.creds.AccessToken == "" || time.Now().Add(refreshMargin).After(s.creds.AccessExpires) {
		if err := s.refreshLocked(ctx); err != nil {
			return err
		}
	}
	req.Header.Set("Authorization", "Bearer "+s.creds.AccessToken)
	return nil
}

func (s *session) renew(ctx context.Context) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refreshed {
		return false, nil
	}
	if err := s.refreshLocked(ctx); err != nil {
		return false, err
	}
	return true, nil
}

func (s *session) hint() string {
	return "Your login for " + s.creds.URL + " is no longer accepted; run `aiplatform login` again."
}

// rotationRaceWait is how long to wait for the process that won a refresh
// race to save the new cookie before reading it back.
const rotationRaceWait = 300 * time.Millisecond

// refreshLocked trades the refresh cookie for a new access token and cookie.
func (s *session) refreshLocked(ctx context.Context) error {
	r, err := s.client.post(ctx, "/auth/refresh", nil, cookieHeader(s.creds))
	var ae *APIError
	if errors.As(err, &ae) && ae.Code == "refresh_token_rotated" {
		// Another aiplatform process refreshed the same login a moment ago:
		// the server kept the session and the winner saves the new cookie.
		// Take it from the credentials file and go on with that.
		if s.adoptSavedLogin(ctx) {
			s.refreshed = true
			return nil
		}
	}
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
			ae.Message = "your login has expired (" + ae.Message + ")"
			ae.Hint = "Run `aiplatform login` again."
			// The access token is dead too; keep the file so the email is remembered.
			s.creds.AccessToken, s.creds.AccessExpires = "", time.Time{}
		}
		return err
	}
	var tok tokenResponse
	if err := json.Unmarshal(r.body, &tok); err != nil || tok.AccessToken == "" {
		return fmt.Errorf("the server's answer to /auth/refresh has no access token")
	}
	applyToken(s.creds, tok, r.header)
	s.refreshed = true
	if _, err := saveCredentials(s.env, s.creds); err != nil {
		return fmt.Errorf("saving the renewed login: %w", err)
	}
	return nil
}

// adoptSavedLogin reloads the credentials file after a lost refresh race and
// uses the login saved there when it is newer than ours: its access token if
// still fresh, else one refresh with its cookie.
func (s *session) adoptSavedLogin(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(rotationRaceWait):
	}
	saved, err := loadCredentials(s.env)
	if err != nil || saved == nil || saved.URL != s.creds.URL || saved.RefreshToken == s.creds.RefreshToken {
		return false
	}
	s.creds = saved
	if saved.AccessToken != "" && time.Now().Add(refreshMargin).Before(saved.AccessExpires) {
		return true
	}
	r, err := s.client.post(ctx, "/auth/refresh", nil, cookieHeader(s.creds))
	if err != nil {
		return false
	}
	var tok tokenResponse
	if json.Unmarshal(r.body, &tok) != nil || tok.AccessToken == "" {
		return false
	}
	applyToken(s.creds, tok, r.header)
	_, err = saveCredentials(s.env, s.creds)
	return err == nil
}

// post sends a JSON POST with extra headers and no retry (auth endpoints).
func (c *client) post(ctx context.Context, path string, body any, header http.Header) (*response, error) {
	hc := *c
	hc.creds = headerCreds(header)
	return hc.call(ctx, http.MethodPost, path, nil, body)
}

// headerCreds adds fixed headers (the refresh cookie) to a request.
type headerCreds http.Header

func (h headerCreds) apply(_ context.Context, req *http.Request) error {
	for k, v := range h {
		req.Header[k] = v
	}
	return nil
}
func (headerCreds) renew(context.Context) (bool, error) { return false, nil }
func (headerCreds) hint() string                        { return "" }

func cookieHeader(c *storedCredentials) http.Header {
	h := http.Header{}
	name := c.CookieName
	if name == "" {
		name = defaultCookieName
	}
	if c.RefreshToken != "" {
		h.Set("Cookie", (&http.Cookie{Name: name, Value: c.RefreshToken}).String())
	}
	return h
}

// applyToken stores a TokenResponse and the refresh cookie it came with.
func applyToken(c *storedCredentials, tok tokenResponse, header http.Header) {
	c.AccessToken = tok.AccessToken
	ttl := time.Duration(tok.ExpiresIn) * time.Second
	if ttl <= 0 {
		ttl = time.Minute
	}
	c.AccessExpires = time.Now().Add(ttl).UTC()
	if tok.User.ID != "" {
		c.UserID = tok.User.ID
	}
	if tok.User.Email != "" {
		c.Email = tok.User.Email
	}
	if ck := refreshCookie((&http.Response{Header: header}).Cookies(), c.CookieName); ck != nil {
		c.CookieName, c.RefreshToken = ck.Name, ck.Value
	}
}

// refreshCookie picks the refresh cookie: the known name, else the only
// non-empty cookie the auth endpoint set.
func refreshCookie(cookies []*http.Cookie, known string) *http.Cookie {
	var candidates []*http.Cookie
	for _, ck := range cookies {
		if ck.Value == "" || ck.MaxAge < 0 {
			continue
		}
		if ck.Name == known || ck.Name == defaultCookieName {
			return ck
		}
		candidates = append(candidates, ck)
	}
	if len(candidates) == 1 {
		return candidates[0]
	}
	return nil
}

// login asks for email and password, signs in and stores the session.
func (a *app) login(ctx context.Context, args []string) error {
	fs := a.flags("login")
	email := fs.String("email", "", "account email (asked when not given)")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	base, err := a.loginURL()
	if err != nil {
		return err
	}
	ui := a.ui()
	if strings.TrimSpace(*email) == "" {
		line, err := a.prompt(ctx, ui, "Email: ")
		if err != nil {
			return loginInputErr(err)
		}
		*email = strings.TrimSpace(line)
	}
	if *email == "" {
		return usageErr("an email is required")
	}
	password, err := a.readPassword(ctx, ui, "Password: ")
	if err != nil {
		return loginInputErr(err)
	}
	c := &client{base: base, http: newHTTPClient(), creds: noCredentials{}}
	r, err := c.post(ctx, "/auth/login", map[string]string{"email": *email, "password": password}, nil)
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) {
			switch {
			case ae.Status == http.StatusUnauthorized:
				ae.Message, ae.Hint = "login failed: "+ae.Message, ""
			case ae.Status == http.StatusForbidden || ae.Status == http.StatusNotFound:
				ae.Hint = "This server has no user logins (AUTH_MODE=apikey?); use AIPLATFORM_API_KEY instead."
			}
		}
		return err
	}
	var tok tokenResponse
	if err := json.Unmarshal(r.body, &tok); err != nil || tok.AccessToken == "" {
		return fmt.Errorf("the server's answer to /auth/login has no access token")
	}
	creds := &storedCredentials{URL: base, Email: *email}
	applyToken(creds, tok, r.header)
	if creds.RefreshToken == "" {
		return fmt.Errorf("the server did not set a refresh cookie; cannot stay logged in")
	}
	path, err := saveCredentials(a.env, creds)
	if err != nil {
		return err
	}
	if a.json {
		return writeJSON(a.stdout, map[string]any{"url": base, "user": map[string]string{"id": creds.UserID, "email": creds.Email},
			"credentials_file": path})
	}
	fmt.Fprintf(a.stdout, "Logged in to %s as %s.\nCredentials saved in %s (readable by you only).\n", base, creds.Email, path)
	return nil
}

// loginURL is AIPLATFORM_URL, else the server of the stored login, else the default.
func (a *app) loginURL() (string, error) {
	if v, _ := a.env("AIPLATFORM_URL"); strings.TrimSpace(v) != "" {
		return normalizeURL(strings.TrimSpace(v))
	}
	if stored, _ := loadCredentials(a.env); stored != nil && stored.URL != "" {
		return stored.URL, nil
	}
	return DefaultURL, nil
}

func loginInputErr(err error) error {
	if errors.Is(err, errNoInput) {
		return usageErr("login needs an email and a password on standard input")
	}
	return err
}

// logout revokes the session on the server and deletes the stored login.
func (a *app) logout(ctx context.Context, args []string) error {
	fs := a.flags("logout")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	stored, err := loadCredentials(a.env)
	if err != nil {
		// An unreadable file is removed all the same.
		if _, rerr := removeCredentials(a.env); rerr != nil {
			return rerr
		}
		return a.loggedOut("", "")
	}
	if stored == nil {
		if a.json {
			return writeJSON(a.stdout, map[string]any{"logged_out": false})
		}
		fmt.Fprintln(a.stdout, "Not logged in.")
		return nil
	}
	warning := ""
	c := &client{base: stored.URL, http: newHTTPClient(), creds: noCredentials{}}
	h := cookieHeader(stored)
	if stored.AccessToken != "" && time.Now().Before(stored.AccessExpires) {
		h.Set("Authorization", "Bearer "+stored.AccessToken)
	}
	if _, err := c.post(ctx, "/auth/logout", nil, h); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		warning = "the server could not revoke the session (" + firstLine(err.Error()) + "); the local login is removed anyway"
	}
	if _, err := removeCredentials(a.env); err != nil {
		return err
	}
	return a.loggedOut(stored.URL, warning)
}

func (a *app) loggedOut(url, warning string) error {
	if warning != "" {
		fmt.Fprintln(a.stderr, "aiplatform: warning:", warning)
	}
	if a.json {
		return writeJSON(a.stdout, map[string]any{"logged_out": true, "url": url})
	}
	if url == "" {
		fmt.Fprintln(a.stdout, "Logged out.")
		return nil
	}
	fmt.Fprintf(a.stdout, "Logged out of %s.\n", url)
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
