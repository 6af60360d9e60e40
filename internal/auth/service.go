package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"ai-platform/internal/store"
)

// Errors the HTTP layer maps to the statuses and messages clients of the
// earlier system expect.
var (
	ErrRegistrationDisabled = errors.New("registration is disabled")
	ErrEmailTaken           = errors.New("email already registered")
	ErrInvalidCredentials   = errors.New("invalid credentials")
	ErrRefreshMissing       = errors.New("missing refresh token")
	ErrRefreshInvalid       = errors.New("invalid refresh token")
	ErrRefreshRevoked       = errors.New("refresh token revoked")
	ErrRefreshExpired       = errors.New("refresh token expired")
	ErrUserNotFound         = errors.New("user not found")

	// ErrRefreshRotated: the token was rotated moments ago (within
	// RefreshReuseGrace), typically by another tab of the same browser
	// refreshing at the same instant. Nothing is revoked; the client should
	// retry once with the cookie the other request set.
	ErrRefreshRotated = errors.New("refresh token was just rotated by another request")
)

// refreshTokenBytes is the refresh token's randomness (256 bits).
const refreshTokenBytes = 32

// RefreshReuseGrace is how long after a rotation the rotated token may be
// presented again without being treated as reuse. Two tabs of one browser
// load at the same moment and both call /auth/refresh with the same cookie:
// one rotates it, the other arrives a few milliseconds later with the old
// token. Revoking the family then would sign the user out everywhere. Inside
// the window the late request gets ErrRefreshRotated (no token is issued for
// the rotated one, nothing is revoked) and retries with the browser's new
// cookie; outside it, a rotated token is reuse and revokes the family.
const RefreshReuseGrace = 10 * time.Second

// maxUserAgent bounds what a session row keeps of the User-Agent header.
const maxUserAgent = 512

// Settings configure the account service.
type Settings struct {
	// Store keeps the users and their refresh sessions; the service reads
	// and writes nothing else.
	Store  store.AuthStore
	Tokens TokenSettings
	// RefreshSecret keys the HMAC under which refresh tokens are stored.
	RefreshSecret string
	RefreshTTL    time.Duration
	// Registration opens POST /auth/register (PUBLIC_REGISTRATION_ENABLED).
	Registration bool
	// PasswordCost is the bcrypt cost; 0 means DefaultCost. Only tests
	// lower it, to keep suites fast.
	PasswordCost int
	Logger       *slog.Logger
	Now          func() time.Time
	// BcryptConcurrency bounds the bcrypt operations (register, login,
	// bootstrap admin, any future password change) running at once, so a
	// login flood cannot take every core; 0 means
	// DefaultBcryptConcurrency() (AUTH_BCRYPT_CONCURRENCY).
	BcryptConcurrency int
	// BcryptWait is how long an operation waits for a slot before ErrBusy;
	// 0 means DefaultBcryptWait.
	BcryptWait time.Duration
}

// Service registers and signs in users and manages their refresh sessions.
type Service struct {
	store         store.AuthStore
	tokens        *tokens
	passwords     *passwords
	refreshSecret []byte
	refreshTTL    time.Duration
	registration  bool
	log           *slog.Logger
	now           func() time.Time
}

// Client describes who is asking, recorded with each session.
type Client struct {
	UserAgent string
	IP        string
}

// Session is what a successful register, login or refresh hands back.
type Session struct {
	User           store.User
	AccessToken    string
	AccessTTL      time.Duration
	RefreshToken   string
	RefreshExpires time.Time
}

// New builds the service; it fails on a missing secret rather than at the
// first request.
func New(s Settings) (*Service, error) {
	if s.Store == nil {
		return nil, errors.New("auth: no store")
	}
	if s.Now == nil {
		s.Now = func() time.Time { return time.Now().UTC() }
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.RefreshSecret == "" {
		return nil, errors.New("auth: AUTH_REFRESH_TOKEN_SECRET is not configured")
	}
	if s.RefreshTTL <= 0 {
		return nil, errors.New("auth: refresh token TTL must be positive")
	}
	if s.PasswordCost != 0 && (s.PasswordCost < 4 || s.PasswordCost > 31) {
		return nil, fmt.Errorf("auth: bcrypt cost %d is outside 4..31", s.PasswordCost)
	}
	if s.BcryptConcurrency < 0 || s.BcryptWait < 0 {
		return nil, fmt.Errorf("auth: bcrypt concurrency %d and wait %v must not be negative", s.BcryptConcurrency, s.BcryptWait)
	}
	t, err := newTokens(s.Tokens, s.Now)
	if err != nil {
		return nil, err
	}
	return &Service{store: s.Store, tokens: t, passwords: newPasswords(s.PasswordCost, s.BcryptConcurrency, s.BcryptWait),
		refreshSecret: []byte(s.RefreshSecret), refreshTTL: s.RefreshTTL, registration: s.Registration,
		log: s.Logger, now: s.Now}, nil
}

// AccessTTL is the lifetime of access tokens.
func (s *Service) AccessTTL() time.Duration { return s.tokens.TTL }

// RefreshTTL is the lifetime of a refresh token (reset on each rotation).
func (s *Service) RefreshTTL() time.Duration { return s.refreshTTL }

// BcryptConcurrency is how many password hashes and comparisons may run at
// once (the resolved AUTH_BCRYPT_CONCURRENCY).
func (s *Service) BcryptConcurrency() int { return cap(s.passwords.slots) }

// Register creates a user and signs them in.
func (s *Service) Register(ctx context.Context, email, password string, cl Client) (Session, error) {
	if !s.registration {
		return Session{}, ErrRegistrationDisabled
	}
	email, err := NormalizeEmail(email)
	if err != nil {
		return Session{}, err
	}
	hash, err := s.passwords.hash(ctx, password)
	if err != nil {
		return Session{}, err
	}
	u, err := s.store.CreateUser(ctx, store.User{ID: uuid.NewString(), Email: email, PasswordHash: hash})
	if errors.Is(err, store.ErrConflict) {
		return Session{}, ErrEmailTaken
	}
	if err != nil {
		return Session{}, fmt.Errorf("creating user: %w", err)
	}
	s.log.InfoContext(ctx, "user registered", "user_id", u.ID)
	return s.startFamily(ctx, u, cl)
}

// Login checks the password and starts a new session family. An unknown
// email costs the same bcrypt comparison as a wrong password.
func (s *Service) Login(ctx context.Context, email, password string, cl Client) (Session, error) {
	norm, nerr := NormalizeEmail(email)
	var u store.User
	err := store.ErrNotFound
	if nerr == nil {
		u, err = s.store.GetUserByEmail(ctx, norm)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Session{}, fmt.Errorf("loading user: %w", err)
	}
	if err != nil {
		u = store.User{}
	}
	ok, err := s.passwords.verify(ctx, u.PasswordHash, password)
	if err != nil {
		return Session{}, fmt.Errorf("checking password: %w", err)
	}
	if !ok {
		return Session{}, ErrInvalidCredentials
	}
	return s.startFamily(ctx, u, cl)
}

// Refresh rotates a refresh token: the presented one is retired and a new
// one (same family, fresh expiry) is returned with a new access token. A
// token rotated within RefreshReuseGrace answers ErrRefreshRotated (a
// concurrent refresh of the same browser; nothing is revoked). A token
// rotated earlier than that means it leaked or was replayed: the whole
// family is revoked and the event is logged.
func (s *Service) Refresh(ctx context.Context, raw string, cl Client) (Session, error) {
	old, err := s.lookup(ctx, raw)
	if err != nil {
		return Session{}, err
	}
	now := s.now()
	switch {
	case old.RevokedAt != nil:
		return Session{}, ErrRefreshRevoked
	case old.RotatedAt != nil:
		return Session{}, s.rotated(ctx, old, now, cl)
	case !now.Before(old.ExpiresAt):
		return Session{}, ErrRefreshExpired
	}
	u, err := s.store.GetUserByID(ctx, old.UserID)
	if errors.Is(err, store.ErrNotFound) {
		if _, rerr := s.store.RevokeRefreshFamily(ctx, old.FamilyID, now); rerr != nil {
			s.log.ErrorContext(ctx, "revoking the sessions of a deleted user", "user_id", old.UserID, "error", rerr)
		}
		return Session{}, ErrUserNotFound
	}
	if err != nil {
		return Session{}, fmt.Errorf("loading user: %w", err)
	}
	next, token, err := s.newSession(u, old.FamilyID, cl)
	if err != nil {
		return Session{}, err
	}
	err = s.store.RotateRefreshSession(ctx, old.ID, next, now)
	if errors.Is(err, store.ErrConflict) {
		// Another request rotated (or revoked) this token between the
		// lookup and now: read it again to tell which.
		cur, lerr := s.store.GetRefreshSessionByHash(ctx, old.TokenHash)
		if lerr != nil {
			return Session{}, fmt.Errorf("loading refresh session: %w", lerr)
		}
		if cur.RevokedAt != nil || cur.RotatedAt == nil {
			return Session{}, ErrRefreshRevoked
		}
		return Session{}, s.rotated(ctx, cur, now, cl)
	}
	if err != nil {
		return Session{}, fmt.Errorf("rotating refresh session: %w", err)
	}
	return s.session(u, token, next.ExpiresAt)
}

// Logout revokes the family of the presented token; unknown or missing
// tokens are not an error (the cookie is cleared either way).
func (s *Service) Logout(ctx context.Context, raw string) error {
	old, err := s.lookup(ctx, raw)
	if errors.Is(err, ErrRefreshMissing) || errors.Is(err, ErrRefreshInvalid) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := s.store.RevokeRefreshFamily(ctx, old.FamilyID, s.now()); err != nil {
		return fmt.Errorf("revoking session family: %w", err)
	}
	s.log.InfoContext(ctx, "user logged out", "user_id", old.UserID, "family_id", old.FamilyID)
	return nil
}

// Authenticate verifies an access token and loads its user; a token of a
// user who no longer exists is invalid.
func (s *Service) Authenticate(ctx context.Context, raw string) (store.User, error) {
	c, err := s.tokens.verify(raw)
	if err != nil {
		return store.User{}, err
	}
	u, err := s.store.GetUserByID(ctx, c.Subject)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, fmt.Errorf("%w: unknown user", ErrInvalidToken)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("loading user: %w", err)
	}
	return u, nil
}

// BootstrapAdmin creates the admin user once; it is a no-op when the email
// already exists (a warning is logged if that user is not an admin).
func (s *Service) BootstrapAdmin(ctx context.Context, email, password string) error {
	norm, err := NormalizeEmail(email)
	if err != nil {
		return fmt.Errorf("BOOTSTRAP_ADMIN_EMAIL: %w", err)
	}
	existing, err := s.store.GetUserByEmail(ctx, norm)
	if err == nil {
		if !existing.IsAdmin {
			s.log.WarnContext(ctx, "BOOTSTRAP_ADMIN_EMAIL names an existing user who is not an admin; not promoted", "user_id", existing.ID)
		}
		return nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("bootstrap admin: loading user: %w", err)
	}
	hash, err := s.passwords.hash(ctx, password)
	if err != nil {
		return fmt.Errorf("BOOTSTRAP_ADMIN_PASSWORD: %w", err)
	}
	u, err := s.store.CreateUser(ctx, store.User{ID: uuid.NewString(), Email: norm, PasswordHash: hash, IsAdmin: true})
	if errors.Is(err, store.ErrConflict) {
		return nil // another API process created it at the same moment
	}
	if err != nil {
		return fmt.Errorf("bootstrap admin: creating user: %w", err)
	}
	s.log.InfoContext(ctx, "bootstrap admin created", "user_id", u.ID)
	return nil
}

// HashRefreshToken is the stored form of a refresh token.
func (s *Service) HashRefreshToken(raw string) string {
	m := hmac.New(sha256.New, s.refreshSecret)
	m.Write([]byte(raw))
	return hex.EncodeToString(m.Sum(nil))
}

func (s *Service) lookup(ctx context.Context, raw string) (store.RefreshSession, error) {
	if raw == "" {
		return store.RefreshSession{}, ErrRefreshMissing
	}
	if len(raw) > 256 {
		return store.RefreshSession{}, ErrRefreshInvalid
	}
	old, err := s.store.GetRefreshSessionByHash(ctx, s.HashRefreshToken(raw))
	if errors.Is(err, store.ErrNotFound) {
		return store.RefreshSession{}, ErrRefreshInvalid
	}
	if err != nil {
		return store.RefreshSession{}, fmt.Errorf("loading refresh session: %w", err)
	}
	return old, nil
}

// rotated answers a token that was already rotated: inside the grace
// window it is a concurrent refresh (logged, nothing revoked), after it
// reuse.
func (s *Service) rotated(ctx context.Context, old store.RefreshSession, now time.Time, cl Client) error {
	if now.Sub(*old.RotatedAt) < RefreshReuseGrace {
		s.log.InfoContext(ctx, "refresh token presented again right after its rotation; not treated as reuse",
			"event", "refresh_token_rotation_race", "user_id", old.UserID, "family_id", old.FamilyID,
			"session_id", old.ID, "rotated_ago", now.Sub(*old.RotatedAt).String(), "ip", cl.IP)
		return ErrRefreshRotated
	}
	s.reuse(ctx, old, cl)
	return ErrRefreshRevoked
}

// reuse revokes the family of a replayed token and records a security event.
func (s *Service) reuse(ctx context.Context, old store.RefreshSession, cl Client) {
	n, err := s.store.RevokeRefreshFamily(ctx, old.FamilyID, s.now())
	s.log.WarnContext(ctx, "security: refresh token reuse detected; session family revoked", "event", "refresh_token_reuse",
		"user_id", old.UserID, "family_id", old.FamilyID, "session_id", old.ID, "revoked", n, "ip", cl.IP, "error", err)
}

func (s *Service) startFamily(ctx context.Context, u store.User, cl Client) (Session, error) {
	next, token, err := s.newSession(u, uuid.NewString(), cl)
	if err != nil {
		return Session{}, err
	}
	if err := s.store.CreateRefreshSession(ctx, next); err != nil {
		return Session{}, fmt.Errorf("creating refresh session: %w", err)
	}
	return s.session(u, token, next.ExpiresAt)
}

func (s *Service) newSession(u store.User, family string, cl Client) (store.RefreshSession, string, error) {
	buf := make([]byte, refreshTokenBytes)
	if _, err := rand.Read(buf); err != nil {
		return store.RefreshSession{}, "", fmt.Errorf("generating refresh token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(buf)
	ua := cl.UserAgent
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
	}
	// Headers may carry bytes PostgreSQL text refuses.
	ua = strings.ReplaceAll(strings.ToValidUTF8(ua, ""), "\x00", "")
	now := s.now()
	return store.RefreshSession{ID: uuid.NewString(), FamilyID: family, UserID: u.ID, TokenHash: s.HashRefreshToken(token),
		CreatedAt: now, ExpiresAt: now.Add(s.refreshTTL), UserAgent: ua, IP: cl.IP}, token, nil
}

func (s *Service) session(u store.User, refresh string, expires time.Time) (Session, error) {
	access, err := s.tokens.issue(u)
	if err != nil {
		return Session{}, err
	}
	return Session{User: u, AccessToken: access, AccessTTL: s.tokens.TTL, RefreshToken: refresh, RefreshExpires: expires}, nil
}
