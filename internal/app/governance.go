package app

import (
	"context"
	"fmt"
	"log/slog"

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
		// Lines the service logs with a request's context carry its request_id.
		Logger: slog.New(requestIDHandler{a.Log.Handler()}).With("component", "auth"),
	})
	if err != nil {
		return nil, err
	}
	if cfg.BootstrapAdminEmail != "" {
		if err := svc.BootstrapAdmin(ctx, cfg.BootstrapAdminEmail, cfg.BootstrapAdminPassword); err != nil {
			return nil, err
		}
	}
	return svc, nil
}

// rateLimiter builds the limiter for the RATE_LIMIT_* settings; with
// REDIS_URL every API process shares the counts.
func (a *App) rateLimiter(ctx context.Context) (*ratelimit.Limiter, error) {
	cfg := a.Config
	lim, err := ratelimit.New(ctx, ratelimit.Settings{RedisURL: cfg.RedisURL, Limits: map[string]int{
		api.ScopeCreate:      cfg.RateLimitCreatePerMin,
		api.ScopeRerunReview: cfg.RateLimitRerunReviewPerMin,
		api.ScopeDownload:    cfg.RateLimitDownloadsPerMin,
		api.ScopeTaskControl: cfg.RateLimitTaskControlPerMin,
	}})
	if err != nil {
		return nil, fmt.Errorf("rate limits: %w", err)
	}
	a.closers = append(a.closers, lim.Close)
	if cfg.RedisURL != "" && cfg.RateLimitCreatePerMin+cfg.RateLimitRerunReviewPerMin+cfg.RateLimitDownloadsPerMin+cfg.RateLimitTaskControlPerMin > 0 {
		a.Log.Info("rate limits: shared Redis store")
	}
	return lim, nil
}
