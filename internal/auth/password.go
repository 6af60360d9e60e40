// Package auth holds user accounts for AUTH_MODE auth/hybrid: bcrypt password
// hashes, HS256 access tokens, and rotating refresh tokens stored only as
// HMAC hashes, with reuse detection that revokes a whole session family.
package auth

import (
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Password rules. bcrypt reads at most 72 bytes; longer passwords are
// refused instead of being silently truncated.
const (
	DefaultCost      = 12
	MinPasswordChars = 8
	MaxPasswordBytes = 72
	maxEmailBytes    = 254
)

// InputError is a request the caller must fix; Message is safe to show.
type InputError struct {
	Field   string
	Message string
}

func (e *InputError) Error() string { return e.Message }

// ValidatePassword checks a new password against the rules above.
func ValidatePassword(pw string) error {
	if utf8.RuneCountInString(pw) < MinPasswordChars {
		return &InputError{Field: "password", Message: fmt.Sprintf("Password must be at least %d characters", MinPasswordChars)}
	}
	if len(pw) > MaxPasswordBytes {
		return &InputError{Field: "password", Message: fmt.Sprintf(
			"Password is %d bytes; the limit is %d bytes (bcrypt ignores anything longer), so choose a shorter one",
			len(pw), MaxPasswordBytes)}
	}
	return nil
}

// NormalizeEmail trims and lower-cases an address and checks it looks like
// one: a bare local@domain.tld, no display name, no spaces.
func NormalizeEmail(raw string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(raw))
	bad := &InputError{Field: "email", Message: "A valid email address is required"}
	if e == "" || len(e) > maxEmailBytes || strings.ContainsAny(e, " \t\r\n<>\"(),;:\\[]") {
		return "", bad
	}
	addr, err := mail.ParseAddress(e)
	if err != nil || addr.Address != e || addr.Name != "" {
		return "", bad
	}
	at := strings.LastIndexByte(e, '@')
	local, domain := e[:at], e[at+1:]
	if local == "" || strings.Count(e, "@") != 1 || !strings.Contains(domain, ".") ||
		strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", bad
	}
	return e, nil
}

// passwords hashes and verifies passwords at one cost.
type passwords struct {
	cost  int
	dummy func() []byte
}

func newPasswords(cost int) *passwords {
	if cost == 0 {
		cost = DefaultCost
	}
	p := &passwords{cost: cost}
	// The dummy hash makes a login for an unknown email cost one bcrypt
	// comparison, like a known one, so timing does not reveal existence.
	p.dummy = sync.OnceValue(func() []byte {
		h, err := bcrypt.GenerateFromPassword([]byte("dummy password for unknown users"), cost)
		if err != nil {
			panic(fmt.Sprintf("auth: bcrypt dummy hash: %v", err)) // only on an invalid cost, a programming error
		}
		return h
	})
	return p
}

func (p *passwords) hash(pw string) (string, error) {
	if err := ValidatePassword(pw); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), p.cost)
	if err != nil {
		return "", fmt.Errorf("hashing password: %w", err)
	}
	return string(h), nil
}

// verify compares pw with hash; an empty hash (unknown user) is compared
// against the dummy hash and never matches.
func (p *passwords) verify(hash, pw string) bool {
	if hash == "" || len(pw) > MaxPasswordBytes {
		_ = bcrypt.CompareHashAndPassword(p.dummy(), []byte(pw[:min(len(pw), MaxPasswordBytes)]))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}
