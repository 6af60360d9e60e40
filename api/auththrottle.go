package api

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/netip"
	"strings"

	"github.com/gin-gonic/gin"

	"ai-platform/internal/auth"
)

// clientAddress is the key of the per-address auth limits: the client IP as
// Gin resolves it (X-Forwarded-For / X-Real-IP only from TRUSTED_PROXIES).
// An IPv6 client counts by its /64: one host usually holds a whole /64 and
// could otherwise take a fresh address, and a fresh allowance, per request.
// IPv4-mapped IPv6 addresses count as the IPv4 address they carry.
func clientAddress(c *gin.Context) string {
	raw := c.ClientIP()
	a, err := netip.ParseAddr(raw)
	if err != nil {
		return raw
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a, 64).Masked().String()
}

// loginPairKey names one (email, client address) pair. The email is
// normalized when it is valid so that case and spaces do not make new
// pairs; an invalid one is keyed as typed, like an unknown account, so the
// counting never depends on whether the account exists. The pair is
// hashed so that the shared store holds no email addresses.
func loginPairKey(email, address string) string {
	norm, err := auth.NormalizeEmail(email)
	if err != nil {
		norm = strings.ToLower(strings.TrimSpace(email))
	}
	sum := sha256.Sum256([]byte(norm + "\x00" + address))
	return hex.EncodeToString(sum[:16])
}

// admitLogin counts one login attempt for the pair and refuses it (429 with
// Retry-After) when the pair already had AUTH_MAX_FAILED_LOGINS attempts
// without a success in the current window, whatever the password. It counts
// before the password is checked, so parallel requests cannot get more than
// the allowed number of guesses in; a success clears the count
// (clearLoginFailures), so what remains is the failures since the last
// success. It returns the pair's key and whether to go on.
func (s *Server) admitLogin(c *gin.Context, email string) (string, bool) {
	if s.Limiter == nil {
		return "", true
	}
	address := clientAddress(c)
	key := loginPairKey(email, address)
	d, err := s.Limiter.Allow(c.Request.Context(), ScopeLoginFailures, key)
	if err != nil {
		// As for every limit: an outage of the store must not lock every
		// user out; logged, and the attempt goes on.
		s.logger(c).Error("rate limiter unavailable; allowing login attempt", "scope", ScopeLoginFailures, "error", err)
		return key, true
	}
	if !d.Enabled || d.Allowed {
		return key, true
	}
	// The pair's hash, not the email, goes to the log: it lets an operator
	// follow one lockout without the log holding the addresses tried.
	s.logger(c).Warn("security: login refused after repeated failures for one account from one address",
		"event", "login_lockout", "pair", key, "ip", address, "limit", d.Limit, "until", d.Reset.UTC())
	s.refuseRate(c, ScopeLoginFailures, d.Reset, "failed logins for this account from your address")
	return key, false
}

// clearLoginFailures resets the pair after a successful login.
func (s *Server) clearLoginFailures(c *gin.Context, key string) {
	r, ok := s.Limiter.(RateResetter)
	if key == "" || !ok {
		return
	}
	if err := r.Reset(c.Request.Context(), ScopeLoginFailures, key); err != nil {
		// The login stands; the failures before it expire with their window.
		s.logger(c).Error("could not clear failed logins after a successful login", "scope", ScopeLoginFailures, "error", err)
	}
}

// authBusy answers a password operation that found every bcrypt slot taken
// for the whole wait. It is a 503, not a 429: the server is saturated, which
// is not this client's doing, and a second is about what a slot takes to
// free up.
func (s *Server) authBusy(c *gin.Context, what string) {
	s.logger(c).Warn("password check refused: every bcrypt slot stayed busy (AUTH_BCRYPT_CONCURRENCY)", "what", what)
	c.Header("Retry-After", "1")
	failCode(c, http.StatusServiceUnavailable, "auth_busy",
		"The server is checking too many passwords right now; retry in a second", gin.H{"retry_after": 1})
}
