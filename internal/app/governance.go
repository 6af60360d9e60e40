package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"ai-platform/api"
	"ai-platform/internal/auth"
	"ai-platform/internal/config"
	"ai-platform/internal/ratelimit"
)

// accounts builds the account service for AUTH_MODE auth/hybrid (nil in
// apikey mode) and creates the bootstrap admin, once.
func (a *App) accounts(ctx context.Context) (*auth.Service, error) {
	cfg := a.Config
	if cfg.AuthMode == config.AuthAPIKey {
		if cfg.BootstrapAdminEmail != "" {
			a.Log.Warn("BOOTSTRAP_ADMIN_EMAIL is ignored with AUTH_MODE=apikey (there are no user accounts); use ADMIN_API_KEY")
		}
		return nil, nil
	}
	svc, err := auth.New(auth.Settings{
		Store: a.Store,
		Tokens: auth.TokenSettings{Secret: cfg.JWTSecret, Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience,
			TTL: cfg.AccessTokenTTL},
		RefreshSecret: cfg.RefreshTokenSecret, RefreshTTL: cfg.RefreshTokenTTL, Registration: cfg.PublicRegistration,
		BcryptConcurrency: cfg.AuthBcryptConcurrency,
		// Lines the service logs with a request's context carry its request_id.
		Logger: slog.New(requestIDHandler{a.Log.Handler()}).With("component", "auth"),
	})
	if err != nil {
		return nil, err
	}
	a.Log.Info("accounts: password checks bounded", "bcrypt_concurrency", svc.BcryptConcurrency(),
		"max_failed_logins", cfg.AuthMaxFailedLogins, "failed_login_window", cfg.AuthFailedLoginWindow.String())
	if cfg.BootstrapAdminEmail != "" {
		if err := svc.BootstrapAdmin(ctx, cfg.BootstrapAdminEmail, cfg.BootstrapAdminPassword); err != nil {
			return nil, err
		}
	}
	return svc, nil
}

// rateLimitScopes lists every scope the limiter counts, for the metrics.
var rateLimitScopes = []string{api.ScopeCreate, api.ScopeRerunReview, api.ScopeDownload, api.ScopeTaskControl,
	api.ScopeLogin, api.ScopeRegister, api.ScopeLoginFailures}

// rateLimiter builds the limiter for the RATE_LIMIT_* settings and the
// failed-login lockout (AUTH_MAX_FAILED_LOGINS over its own window); with
// REDIS_URL every API process shares the counts.
func (a *App) rateLimiter(ctx context.Context) (*ratelimit.Limiter, error) {
	cfg := a.Config
	limits := map[string]int{
		api.ScopeCreate:        cfg.RateLimitCreatePerMin,
		api.ScopeRerunReview:   cfg.RateLimitRerunReviewPerMin,
		api.ScopeDownload:      cfg.RateLimitDownloadsPerMin,
		api.ScopeTaskControl:   cfg.RateLimitTaskControlPerMin,
		api.ScopeLogin:         cfg.RateLimitLoginPerMin,
		api.ScopeRegister:      cfg.RateLimitRegisterPerMin,
		api.ScopeLoginFailures: cfg.AuthMaxFailedLogins,
	}
	lim, err := ratelimit.New(ctx, ratelimit.Settings{RedisURL: cfg.RedisURL, Limits: limits,
		Periods: map[string]time.Duration{api.ScopeLoginFailures: cfg.AuthFailedLoginWindow}})
	if err != nil {
		return nil, fmt.Errorf("rate limits: %w", err)
	}
	a.closers = append(a.closers, lim.Close)
	if lim.Backend() == "redis" {
		a.Log.Info("rate limits: shared Redis store")
	}
	return lim, nil
}
