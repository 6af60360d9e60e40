// Package config turns the process environment into one typed, validated Config.
// It is the only package that reads environment variables.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/joho/godotenv"

	"ai-platform/internal/pricing"
)

// Auth modes.
const (
	AuthAPIKey = "apikey"
	AuthJWT    = "auth"
	AuthHybrid = "hybrid"
)

// Command sandbox modes.
const (
	SandboxAuto  = "auto"
	SandboxBwrap = "bwrap"
	SandboxNone  = "none"
)

// Config is the whole runtime configuration.
type Config struct {
	Environment string
	Port        int
	DataDir     string
	LogLevel    string
	LogFormat   string
	// MetricsPort is where `aiplatform worker` serves /metrics and /health.
	MetricsPort int
	// StartupWait bounds how long api and worker wait for PostgreSQL and
	// Temporal at start before giving up.
	StartupWait time.Duration

	AllowedOrigins []string
	// TrustedProxies are the proxies whose X-Forwarded-For / X-Real-IP the
	// API believes when it records a client's IP; empty trusts none.
	TrustedProxies []string

	DatabaseURL           string
	EnableFilePersistence bool
	MaxTaskBytes          int64
	MaxTaskFiles          int
	TaskTTLDays           int
	WorkspaceRoot         string
	WorkspaceTTLDays      int
	TemplatesRoot         string
	// TemplatesRootSet is false when TEMPLATES_ROOT was not given, so the
	// embedded templates may stand in when ./templates is absent.
	TemplatesRootSet bool
	CodexPath        string
	MaxDescription   int

	MaxConcurrentTasks int
	// WorkflowCacheSize bounds the workflows a worker process keeps in
	// memory between their steps (WORKFLOW_CACHE_SIZE); 0 derives it from
	// MaxConcurrentTasks (WorkflowCacheEntries).
	WorkflowCacheSize          int
	RateLimitCreatePerMin      int
	RateLimitRerunReviewPerMin int
	RateLimitDownloadsPerMin   int
	RateLimitTaskControlPerMin int
	RateLimitLoginPerMin       int // per client IP (an IPv6 client's /64): nobody is signed in yet
	RateLimitRegisterPerMin    int // per client IP, as above
	MaxTokensPerDay            int64
	MaxCommandRunsPerDay       int64
	RedisURL                   string
	AllowedCommands            []string
	CommandTimeout             time.Duration
	CommandMaxOutputBytes      int
	CommandSandbox             string
	// CommandSandboxSocket: the worker sends commands to the sandbox service
	// listening on this Unix socket (`aiplatform sandbox` listens on it).
	CommandSandboxSocket string
	// AllowUnsandboxedInProduction is the second opt-in that COMMAND_SANDBOX=none
	// needs when ENVIRONMENT=production.
	AllowUnsandboxedInProduction bool
	CommandLimits                CommandLimits

	// Tracing (package tracing): spans are exported over OTLP to
	// OTelEndpoint (OTEL_EXPORTER_OTLP_ENDPOINT, a base URL); empty turns
	// tracing off. OTelProtocol is "http/protobuf" or "grpc"; an empty
	// OTelServiceName takes the process role's default.
	OTelEndpoint    string
	OTelProtocol    string
	OTelServiceName string

	LLMProvider    string
	LLMModel       string
	LLMAPIKey      string
	LLMBaseURL     string
	LLMMaxTokens   int
	LLMTimeout     time.Duration
	LLMTemperature float64
	// LLMStream streams replies from the OpenAI provider (LLM_STREAM).
	LLMStream bool
	// LLMMockStreamDelay paces the mock's streamed chunks.
	LLMMockStreamDelay time.Duration
	// LLMFallbackModels are tried in order for a call whose retries on the
	// primary model ran out on rate limits, unavailability or timeouts.
	LLMFallbackModels []string
	// LLMPrices is the raw LLM_PRICES table (package pricing parses it).
	LLMPrices string
	// TaskBudgetUSD and TaskBudgetTokens are the per-task budget defaults
	// for tasks created without one; 0 means no budget.
	TaskBudgetUSD    float64
	TaskBudgetTokens int64

	AppAPIKey              string
	APIKeyHashSecret       string
	AllowOpenAPIKeys       bool
	AdminAPIKey            string
	AuthMode               string
	JWTSecret              string
	RefreshTokenSecret     string
	AccessTokenTTL         time.Duration
	RefreshTokenTTL        time.Duration
	RefreshCookieName      string
	RefreshCookiePath      string
	RefreshCookieDomain    string
	RefreshCookieSameSite  string
	JWTIssuer              string
	JWTAudience            string
	PublicRegistration     bool
	BootstrapAdminEmail    string
	BootstrapAdminPassword string
	// AuthMaxFailedLogins failed logins for one (account, client IP) pair
	// within AuthFailedLoginWindow lock that pair out until the window
	// ends; 0 turns it off.
	AuthMaxFailedLogins   int
	AuthFailedLoginWindow time.Duration
	// AuthBcryptConcurrency bounds bcrypt operations at once; 0 means half
	// the CPUs (auth.DefaultBcryptConcurrency).
	AuthBcryptConcurrency int

	TemporalAddress   string
	TemporalNamespace string
	TemporalTaskQueue string
	TemporalDevPort   int
	TemporalUIPort    int
	TemporalUIURL     string
	TemporalBin       string
}

// CommandLimits bound each command the runner starts (COMMAND_MAX_*,
// COMMAND_WORKSPACE_*, COMMAND_TMP_MAX_MB, COMMAND_UID, COMMAND_SCRATCH_DIR).
type CommandLimits struct {
	Processes      int
	MemoryBytes    int64
	WorkspaceBytes int64
	WorkspaceFiles int
	TmpBytes       int64
	UID            int
	ScratchDir     string
}

// Production reports whether ENVIRONMENT is production.
func (c Config) Production() bool { return c.Environment == "production" }

// WorkflowCacheEntries is the worker's workflow cache size: WORKFLOW_CACHE_SIZE,
// or by default 4 per processing slot plus 32. Running tasks, those queued
// for a slot and the slots workflow stay cached; tasks parked for days
// (needs_input, paused) fall out and are rebuilt by replaying their history
// when they resume, so thousands of them cost the worker no memory.
func (c Config) WorkflowCacheEntries() int {
	if c.WorkflowCacheSize > 0 {
		return c.WorkflowCacheSize
	}
	return 4*c.MaxConcurrentTasks + 32
}

// LocalTemporal reports whether `run` must start its own dev server.
func (c Config) LocalTemporal() bool { return c.TemporalAddress == "" }

// Lookup reads one variable; the second result says whether it is set.
type Lookup func(name string) (string, bool)

// Environ is the process environment as a map. It is for a supervisor that
// hands the environment on to the processes it starts (`aiplatform cluster`
// passes PATH, HOME and the platform's settings to its children); settings
// this process uses are read with Load, so config stays their one reader.
func Environ() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// FromEnvironment loads .env (if present, never overriding the real
// environment) and then the process environment.
func FromEnvironment() (Config, error) {
	if _, err := os.Stat(".env"); err == nil {
		if err := godotenv.Load(".env"); err != nil {
			return Config{}, fmt.Errorf("config: reading .env: %w", err)
		}
	}
	return Load(os.LookupEnv)
}

// Load builds a Config from lookup. The error, if any, is one line naming the
// variable, the value and what is allowed.
func Load(lookup Lookup) (Config, error) {
	r := &reader{lookup: lookup}
	var c Config

	c.Environment = r.choice("ENVIRONMENT", "development", "development", "production", "test")
	prod := c.Environment == "production"
	c.Port = r.intRange("PORT", 8080, 0, 65535)
	c.DataDir = r.str("DATA_DIR", "data")
	c.LogLevel = r.choice("LOG_LEVEL", "info", "debug", "info", "warn", "error")
	c.LogFormat = r.choice("LOG_FORMAT", "json", "json", "text")
	c.MetricsPort = r.intRange("METRICS_PORT", 9090, 0, 65535)
	c.StartupWait = time.Duration(r.intRange("STARTUP_WAIT_SECONDS", 120, 1, 3600)) * time.Second

	c.AllowedOrigins = r.list("ALLOWED_ORIGINS", nil)
	if len(c.AllowedOrigins) == 0 && !prod {
		c.AllowedOrigins = []string{"http://localhost", "http://127.0.0.1", "http://localhost:3000", "http://localhost:8000", "http://localhost:8080", "http://127.0.0.1:8080"}
	}
	c.TrustedProxies = r.addresses("TRUSTED_PROXIES")

	c.DatabaseURL = r.str("DATABASE_URL", "")
	c.EnableFilePersistence = r.boolean("ENABLE_FILE_PERSISTENCE", !prod)
	c.MaxTaskBytes = r.int64Min("MAX_TASK_BYTES", 52428800, -1<<62)
	c.MaxTaskFiles = r.intRange("MAX_TASK_FILES", 2000, -1<<31, 1<<31-1)
	c.TaskTTLDays = r.intRange("TASK_TTL_DAYS", 30, -1<<31, 36500)
	c.WorkspaceRoot = r.str("WORKSPACE_ROOT", filepath.Join("data", "workspaces"))
	c.WorkspaceTTLDays = r.intRange("WORKSPACE_TTL_DAYS", c.TaskTTLDays, -1<<31, 36500)
	c.TemplatesRoot = r.str("TEMPLATES_ROOT", "templates")
	_, c.TemplatesRootSet = lookup("TEMPLATES_ROOT")
	c.CodexPath = r.str("CODEX_PATH", "")
	c.MaxDescription = r.intRange("MAX_DESCRIPTION_CHARS", 10000, 1, 1_000_000)

	c.MaxConcurrentTasks = r.intRange("MAX_CONCURRENT_TASKS", 4, 1, 10000)
	c.WorkflowCacheSize = r.intRange("WORKFLOW_CACHE_SIZE", 0, 0, 1_000_000)
	c.RateLimitCreatePerMin = r.intRange("RATE_LIMIT_CREATE_TASKS_PER_MIN", 0, 0, 1_000_000)
	c.RateLimitRerunReviewPerMin = r.intRange("RATE_LIMIT_RERUN_REVIEW_PER_MIN", 0, 0, 1_000_000)
	c.RateLimitDownloadsPerMin = r.intRange("RATE_LIMIT_DOWNLOADS_PER_MIN", 0, 0, 1_000_000)
	c.RateLimitTaskControlPerMin = r.intRange("RATE_LIMIT_TASK_CONTROL_PER_MIN", 0, 0, 1_000_000)
	c.RateLimitLoginPerMin = r.intRange("RATE_LIMIT_LOGIN_PER_MIN", 10, 0, 1_000_000)
	c.RateLimitRegisterPerMin = r.intRange("RATE_LIMIT_REGISTER_PER_MIN", 5, 0, 1_000_000)
	c.MaxTokensPerDay = r.int64Min("MAX_TOKENS_PER_DAY", 0, 0)
	c.MaxCommandRunsPerDay = r.int64Min("MAX_COMMAND_RUNS_PER_DAY", 0, 0)
	c.RedisURL = r.str("REDIS_URL", "")
	readCommands(r, &c)
	readTracing(r, &c)

	c.LLMProvider = r.choice("LLM_PROVIDER", "mock", "mock", "openai")
	c.LLMModel = r.str("LLM_MODEL", "gpt-4o-mini")
	c.LLMAPIKey = r.str("LLM_API_KEY", "")
	c.LLMBaseURL = r.str("LLM_BASE_URL", "")
	c.LLMMaxTokens = r.intRange("LLM_MAX_TOKENS", 1024, 1, 1_000_000)
	c.LLMTimeout = time.Duration(r.intRange("LLM_TIMEOUT_SECONDS", 30, 1, 3600)) * time.Second
	c.LLMTemperature = r.floatRange("LLM_TEMPERATURE", 0.2, 0, 2)
	c.LLMStream = r.boolean("LLM_STREAM", true)
	c.LLMMockStreamDelay = time.Duration(r.intRange("LLM_MOCK_STREAM_DELAY_MS", 0, 0, 5000)) * time.Millisecond
	c.LLMFallbackModels = r.list("LLM_FALLBACK_MODELS", nil)
	c.LLMPrices = r.str("LLM_PRICES", "")
	if _, err := pricing.Parse(c.LLMPrices); err != nil {
		r.fail("LLM_PRICES", c.LLMPrices, err.Error()+" (prices are US dollars per million tokens, e.g. gpt-4o-mini=0.15/0.60)")
	}
	c.TaskBudgetUSD = r.floatRange("TASK_BUDGET_USD", 0, 0, 1_000_000)
	c.TaskBudgetTokens = r.int64Min("TASK_BUDGET_TOKENS", 0, 0)

	c.AppAPIKey = r.str("APP_API_KEY", "")
	c.APIKeyHashSecret = r.str("API_KEY_HASH_SECRET", "")
	c.AllowOpenAPIKeys = r.boolean("ALLOW_OPEN_API_KEYS", false)
	c.AdminAPIKey = r.str("ADMIN_API_KEY", "")
	c.AuthMode = r.choice("AUTH_MODE", AuthAPIKey, AuthAPIKey, AuthJWT, AuthHybrid)
	c.JWTSecret = r.str("AUTH_JWT_SECRET", "")
	c.RefreshTokenSecret = r.str("AUTH_REFRESH_TOKEN_SECRET", c.JWTSecret)
	c.AccessTokenTTL = time.Duration(r.intRange("AUTH_ACCESS_TOKEN_TTL_MINUTES", 15, 1, 7*24*60)) * time.Minute
	c.RefreshTokenTTL = time.Duration(r.intRange("AUTH_REFRESH_TOKEN_TTL_DAYS", 30, 1, 3650)) * 24 * time.Hour
	c.RefreshCookieName = r.str("AUTH_REFRESH_COOKIE_NAME", "refresh_token")
	c.RefreshCookiePath = r.str("AUTH_REFRESH_COOKIE_PATH", "/auth")
	c.RefreshCookieDomain = r.str("AUTH_REFRESH_COOKIE_DOMAIN", "")
	c.RefreshCookieSameSite = r.choice("AUTH_REFRESH_COOKIE_SAMESITE", "lax", "lax", "strict", "none")
	c.JWTIssuer = r.str("AUTH_JWT_ISSUER", "")
	c.JWTAudience = r.str("AUTH_JWT_AUDIENCE", "")
	c.PublicRegistration = r.boolean("PUBLIC_REGISTRATION_ENABLED", !prod)
	c.BootstrapAdminEmail = r.str("BOOTSTRAP_ADMIN_EMAIL", "")
	c.BootstrapAdminPassword = r.str("BOOTSTRAP_ADMIN_PASSWORD", "")
	c.AuthMaxFailedLogins = r.intRange("AUTH_MAX_FAILED_LOGINS", 5, 0, 1_000_000)
	c.AuthFailedLoginWindow = time.Duration(r.intRange("AUTH_FAILED_LOGIN_WINDOW_MINUTES", 15, 1, 24*60)) * time.Minute
	c.AuthBcryptConcurrency = r.intRange("AUTH_BCRYPT_CONCURRENCY", 0, 0, 1024)

	c.TemporalAddress = r.str("TEMPORAL_ADDRESS", "")
	c.TemporalNamespace = r.str("TEMPORAL_NAMESPACE", "default")
	c.TemporalTaskQueue = r.str("TEMPORAL_TASK_QUEUE", "ai-platform")
	c.TemporalDevPort = r.intRange("TEMPORAL_DEV_PORT", 7233, 1, 65535)
	c.TemporalUIPort = r.intRange("TEMPORAL_UI_PORT", 8233, 1, 65535)
	c.TemporalUIURL = r.str("TEMPORAL_UI_URL", "")
	c.TemporalBin = r.str("TEMPORAL_BIN", filepath.Join("bin", "temporal"))

	if r.err != nil {
		return Config{}, r.err
	}
	if err := c.validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// readCommands reads the command runner's settings, which both the worker and
// the sandbox service use.
func readCommands(r *reader, c *Config) {
	c.AllowedCommands = r.list("ALLOWED_COMMANDS", []string{"ruff", "pytest", "python", "python3"})
	c.CommandTimeout = time.Duration(r.intRange("COMMAND_TIMEOUT_SECONDS", 60, 1, 86400)) * time.Second
	c.CommandMaxOutputBytes = r.intRange("COMMAND_MAX_OUTPUT_BYTES", 20000, 1, 100<<20)
	c.CommandSandbox = r.choice("COMMAND_SANDBOX", SandboxAuto, SandboxAuto, SandboxBwrap, SandboxNone)
	c.CommandSandboxSocket = r.str("COMMAND_SANDBOX_SOCKET", "")
	c.AllowUnsandboxedInProduction = r.boolean("ALLOW_UNSANDBOXED_COMMANDS_IN_PRODUCTION", false)
	const mb = 1 << 20
	c.CommandLimits = CommandLimits{
		Processes:      r.intRange("COMMAND_MAX_PROCESSES", 256, 8, 1_000_000),
		MemoryBytes:    int64(r.intRange("COMMAND_MAX_MEMORY_MB", 2048, 64, 1<<20)) * mb,
		WorkspaceBytes: int64(r.intRange("COMMAND_WORKSPACE_MAX_MB", 128, 1, 1<<20)) * mb,
		WorkspaceFiles: r.intRange("COMMAND_WORKSPACE_MAX_FILES", 20000, 16, 10_000_000),
		TmpBytes:       int64(r.intRange("COMMAND_TMP_MAX_MB", 64, 1, 1<<20)) * mb,
		UID:            r.intRange("COMMAND_UID", 64000, 1, 1<<31-1024),
		ScratchDir:     r.str("COMMAND_SCRATCH_DIR", ""),
	}
}

// OTLP protocols the exporter speaks (OTEL_EXPORTER_OTLP_PROTOCOL).
const (
	OTLPHTTP = "http/protobuf"
	OTLPGRPC = "grpc"
)

// readTracing reads the standard OpenTelemetry variables the platform acts
// on; the api, the worker and the sandbox service each export their own
// spans.
func readTracing(r *reader, c *Config) {
	c.OTelEndpoint = r.str("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	if c.OTelEndpoint != "" {
		u, err := url.Parse(c.OTelEndpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			r.fail("OTEL_EXPORTER_OTLP_ENDPOINT", c.OTelEndpoint, "must be an http:// or https:// URL with a host, e.g. http://localhost:4318")
		}
	}
	c.OTelProtocol = r.choice("OTEL_EXPORTER_OTLP_PROTOCOL", OTLPHTTP, OTLPHTTP, OTLPGRPC)
	c.OTelServiceName = r.str("OTEL_SERVICE_NAME", "")
}

// LoadSandbox builds the configuration of `aiplatform sandbox`: only what
// running commands needs, so the service's environment holds no platform
// secret and no production rule about secrets applies to it.
func LoadSandbox(lookup Lookup) (Config, error) {
	r := &reader{lookup: lookup}
	var c Config
	c.Environment = r.choice("ENVIRONMENT", "development", "development", "production", "test")
	c.LogLevel = r.choice("LOG_LEVEL", "info", "debug", "info", "warn", "error")
	c.LogFormat = r.choice("LOG_FORMAT", "json", "json", "text")
	c.WorkspaceRoot = r.str("WORKSPACE_ROOT", filepath.Join("data", "workspaces"))
	readCommands(r, &c)
	readTracing(r, &c)
	if r.err != nil {
		return Config{}, r.err
	}
	if c.CommandSandboxSocket == "" {
		return Config{}, errors.New("config: COMMAND_SANDBOX_SOCKET must name the Unix socket `aiplatform sandbox` listens on")
	}
	if err := c.validateSandbox(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func (c Config) validateSandbox() error {
	if c.CommandSandbox == SandboxNone && c.Production() && !c.AllowUnsandboxedInProduction {
		return errors.New("config: COMMAND_SANDBOX=none with ENVIRONMENT=production would run generated code unconfined on the worker's host; " +
			"give the worker a sandbox (bubblewrap, or COMMAND_SANDBOX_SOCKET to a sandbox service), or set ALLOW_UNSANDBOXED_COMMANDS_IN_PRODUCTION=true to accept that")
	}
	if len(c.AllowedCommands) == 0 {
		return errors.New(`config: ALLOWED_COMMANDS="" must name at least one executable`)
	}
	return nil
}

// validate checks rules that involve more than one variable.
func (c Config) validate() error {
	if c.LLMProvider == "openai" && c.LLMAPIKey == "" && c.LLMBaseURL == "" {
		return errors.New(`config: LLM_API_KEY is required when LLM_PROVIDER="openai" (or set LLM_BASE_URL for a local server that needs no key)`)
	}
	if c.AuthMode != AuthAPIKey {
		if c.JWTSecret == "" {
			return fmt.Errorf("config: AUTH_JWT_SECRET is required when AUTH_MODE=%q", c.AuthMode)
		}
		if c.Production() && len(c.JWTSecret) < 32 {
			return errors.New("config: AUTH_JWT_SECRET must be at least 32 bytes when ENVIRONMENT=production")
		}
		if c.DatabaseURL == "" && c.Production() {
			return fmt.Errorf("config: AUTH_MODE=%q needs DATABASE_URL in production (users and sessions must be durable)", c.AuthMode)
		}
	}
	if c.AuthMode != AuthJWT && c.AppAPIKey == "" && c.Production() && !c.AllowOpenAPIKeys {
		return errors.New("config: APP_API_KEY is unset with ENVIRONMENT=production, which would make every distinct key its own tenant; set APP_API_KEY, or ALLOW_OPEN_API_KEYS=true to accept that")
	}
	if c.Production() && len(c.APIKeyHashSecret) < 32 {
		return errors.New("config: API_KEY_HASH_SECRET must be set (at least 32 bytes) when ENVIRONMENT=production, so every API process hashes keys the same way")
	}
	if err := c.validateSandbox(); err != nil {
		return err
	}
	if (c.BootstrapAdminEmail == "") != (c.BootstrapAdminPassword == "") {
		return errors.New("config: BOOTSTRAP_ADMIN_EMAIL and BOOTSTRAP_ADMIN_PASSWORD must be set together")
	}
	if len(c.AllowedCommands) == 0 {
		return errors.New(`config: ALLOWED_COMMANDS="" must name at least one executable`)
	}
	for _, cmd := range c.AllowedCommands {
		if strings.ContainsAny(cmd, `/\`) {
			return fmt.Errorf("config: ALLOWED_COMMANDS entry %q must be a bare executable name, not a path", cmd)
		}
	}
	return nil
}

// Names lists every variable Load reads, in the order it reads them.
func Names() []string {
	var names []string
	seen := map[string]bool{}
	_, _ = Load(func(name string) (string, bool) {
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
		return "", false
	})
	return names
}

// Redacted returns a copy of c safe to log: secrets are replaced by "set"/"".
func (c Config) Redacted() Config {
	mask := func(s string) string {
		if s == "" {
			return ""
		}
		return "[set]"
	}
	c.LLMAPIKey = mask(c.LLMAPIKey)
	c.AppAPIKey = mask(c.AppAPIKey)
	c.APIKeyHashSecret = mask(c.APIKeyHashSecret)
	c.AdminAPIKey = mask(c.AdminAPIKey)
	c.JWTSecret = mask(c.JWTSecret)
	c.RefreshTokenSecret = mask(c.RefreshTokenSecret)
	c.BootstrapAdminPassword = mask(c.BootstrapAdminPassword)
	if c.DatabaseURL != "" {
		c.DatabaseURL = "[set]"
	}
	if c.RedisURL != "" {
		c.RedisURL = "[set]"
	}
	return c
}
