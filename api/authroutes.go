package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"ai-platform/internal/auth"
	"ai-platform/internal/config"
)

// credentialsRequest is the body of /auth/register and /auth/login.
type credentialsRequest struct {
	Email    *string `json:"email"`
	Password *string `json:"password"`
}

// authRoutes registers /auth/*. They answer in every mode, so that in apikey
// mode clients of the earlier system get the "Auth mode disabled" they
// expect. Register and login are limited per client address before the body
// is read, so a flood is turned away before any password work.
func (s *Server) authRoutes(e *gin.Engine) {
	g := e.Group("/auth", s.noStore())
	g.POST("/register", s.accountsOn(http.StatusForbidden), s.rateLimitByAddress(ScopeRegister, "registrations"), s.register)
	g.POST("/login", s.accountsOn(http.StatusForbidden), s.rateLimitByAddress(ScopeLogin, "login attempts"), s.login)
	g.POST("/refresh", s.accountsOn(http.StatusForbidden), s.refresh)
	g.POST("/logout", s.accountsOn(http.StatusForbidden), s.logout)
	g.GET("/me", s.accountsOn(http.StatusUnauthorized), s.me)
}

// noStore keeps tokens out of caches.
func (s *Server) noStore() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Cache-Control", "no-store")
		c.Next()
	}
}

// accountsOn refuses /auth routes in apikey mode.
func (s *Server) accountsOn(status int) gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.Config.AuthMode == config.AuthAPIKey || s.Accounts == nil {
			fail(c, status, "Auth mode disabled")
			return
		}
		c.Next()
	}
}

func (s *Server) register(c *gin.Context) {
	email, password, ok := credentials(c)
	if !ok {
		return
	}
	sess, err := s.Accounts.Register(c.Request.Context(), email, password, clientOf(c))
	s.answerSession(c, sess, err, "register")
}

func (s *Server) login(c *gin.Context) {
	email, password, ok := credentials(c)
	if !ok {
		return
	}
	pair, ok := s.admitLogin(c, email)
	if !ok {
		return
	}
	sess, err := s.Accounts.Login(c.Request.Context(), email, password, clientOf(c))
	if err == nil {
		s.clearLoginFailures(c, pair)
	}
	s.answerSession(c, sess, err, "login")
}

func (s *Server) refresh(c *gin.Context) {
	raw, _ := c.Cookie(s.Config.RefreshCookieName)
	sess, err := s.Accounts.Refresh(c.Request.Context(), raw, clientOf(c))
	// A dead token should not linger in the browser. A token another
	// request rotated a moment ago is not dead: the cookie jar may already
	// hold its successor, which clearing would delete.
	if err != nil && !errors.Is(err, auth.ErrRefreshMissing) && !errors.Is(err, auth.ErrRefreshRotated) {
		s.clearRefreshCookie(c)
	}
	s.answerSession(c, sess, err, "refresh")
}

func (s *Server) logout(c *gin.Context) {
	raw, _ := c.Cookie(s.Config.RefreshCookieName)
	if err := s.Accounts.Logout(c.Request.Context(), raw); err != nil {
		s.storeFailure(c, err, "logout")
		return
	}
	s.clearRefreshCookie(c)
	c.JSON(http.StatusOK, gin.H{"detail": "Logged out"})
}

func (s *Server) me(c *gin.Context) {
	token, ok := bearerToken(c.GetHeader("Authorization"))
	if !ok || token == "" {
		fail(c, http.StatusUnauthorized, "Missing access token")
		return
	}
	u, err := s.Accounts.Authenticate(c.Request.Context(), token)
	if errors.Is(err, auth.ErrInvalidToken) {
		fail(c, http.StatusUnauthorized, "Invalid access token")
		return
	}
	if err != nil {
		s.storeFailure(c, err, "load user")
		return
	}
	c.JSON(http.StatusOK, gin.H{"user": gin.H{"id": u.ID, "email": u.Email}})
}

// credentials reads {email, password}; both must be strings.
func credentials(c *gin.Context) (string, string, bool) {
	var req credentialsRequest
	if !bindJSON(c, &req) {
		return "", "", false
	}
	if req.Email == nil || req.Password == nil {
		fail(c, http.StatusUnprocessableEntity, "email and password are required")
		return "", "", false
	}
	return *req.Email, *req.Password, true
}

func clientOf(c *gin.Context) auth.Client {
	return auth.Client{UserAgent: c.GetHeader("User-Agent"), IP: c.ClientIP()}
}

// sessionErrors maps account errors to the statuses and texts clients of the
// earlier system expect.
var sessionErrors = []struct {
	err    error
	status int
	detail string
}{
	{auth.ErrRegistrationDisabled, http.StatusForbidden, "Registration is disabled"},
	{auth.ErrEmailTaken, http.StatusConflict, "Email already registered"},
	{auth.ErrInvalidCredentials, http.StatusUnauthorized, "Invalid credentials"},
	{auth.ErrRefreshMissing, http.StatusUnauthorized, "Missing refresh token"},
	{auth.ErrRefreshInvalid, http.StatusUnauthorized, "Invalid refresh token"},
	{auth.ErrRefreshRevoked, http.StatusUnauthorized, "Refresh token revoked"},
	{auth.ErrRefreshExpired, http.StatusUnauthorized, "Refresh token expired"},
	{auth.ErrUserNotFound, http.StatusUnauthorized, "User not found"},
}

// answerSession writes the TokenResponse and the refresh cookie, or the error.
func (s *Server) answerSession(c *gin.Context, sess auth.Session, err error, what string) {
	if err != nil {
		var input *auth.InputError
		if errors.As(err, &input) {
			fail(c, http.StatusUnprocessableEntity, input.Message)
			return
		}
		if errors.Is(err, auth.ErrBusy) {
			s.authBusy(c, what)
			return
		}
		if errors.Is(err, auth.ErrRefreshRotated) {
			// Two tabs refreshed with the same cookie at once; the other one
			// won. The web UI retries once with the cookie it was given.
			failCode(c, http.StatusUnauthorized, "refresh_token_rotated",
				"The refresh token was just rotated by another request; retry with the current cookie", nil)
			return
		}
		for _, m := range sessionErrors {
			if errors.Is(err, m.err) {
				fail(c, m.status, m.detail)
				return
			}
		}
		s.storeFailure(c, err, what)
		return
	}
	s.setRefreshCookie(c, sess.RefreshToken, s.Accounts.RefreshTTL())
	c.JSON(http.StatusOK, gin.H{
		"access_token": sess.AccessToken, "token_type": "bearer", "expires_in": int(sess.AccessTTL.Seconds()),
		"user": gin.H{"id": sess.User.ID, "email": sess.User.Email},
	})
}

func (s *Server) setRefreshCookie(c *gin.Context, value string, ttl time.Duration) {
	http.SetCookie(c.Writer, s.refreshCookie(c, value, max(1, int(ttl.Seconds()))))
}

func (s *Server) clearRefreshCookie(c *gin.Context) {
	http.SetCookie(c.Writer, s.refreshCookie(c, "", -1))
}

// refreshCookie builds the cookie from AUTH_REFRESH_COOKIE_*: HttpOnly
// always; Secure on HTTPS (direct or behind a proxy), in production, and
// whenever SameSite=None (browsers drop such cookies otherwise).
func (s *Server) refreshCookie(c *gin.Context, value string, maxAge int) *http.Cookie {
	cfg := s.Config
	sameSite := map[string]http.SameSite{"lax": http.SameSiteLaxMode, "strict": http.SameSiteStrictMode,
		"none": http.SameSiteNoneMode}[cfg.RefreshCookieSameSite]
	if sameSite == 0 {
		sameSite = http.SameSiteLaxMode
	}
	https := c.Request.TLS != nil || strings.EqualFold(strings.TrimSpace(strings.Split(c.GetHeader("X-Forwarded-Proto"), ",")[0]), "https")
	ck := &http.Cookie{
		Name: cfg.RefreshCookieName, Value: value, Path: cfg.RefreshCookiePath, Domain: cfg.RefreshCookieDomain,
		MaxAge: maxAge, HttpOnly: true, SameSite: sameSite,
		Secure: https || cfg.Production() || sameSite == http.SameSiteNoneMode,
	}
	if maxAge > 0 {
		ck.Expires = time.Now().Add(time.Duration(maxAge) * time.Second).UTC()
	} else {
		ck.Expires = time.Unix(0, 0)
	}
	return ck
}
