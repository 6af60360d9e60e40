package config

import (
	"strings"
	"testing"
	"time"
)

// authLimits is what the login throttling settings parse into.
type authLimits struct {
	login, register, failures int
	window                    time.Duration
	bcrypt                    int
}

func authLimitsOf(c Config) authLimits {
	return authLimits{c.RateLimitLoginPerMin, c.RateLimitRegisterPerMin, c.AuthMaxFailedLogins,
		c.AuthFailedLoginWindow, c.AuthBcryptConcurrency}
}

// TestAuthThrottleSettings covers the defaults, the edges that are accepted
// (0 turns a limit off, or picks the automatic bcrypt bound) and the values
// that stop start-up with a one-line error naming the variable and the rule.
func TestAuthThrottleSettings(t *testing.T) {
	cases := []struct {
		name string
		vars map[string]string
		want authLimits
		err  []string // substrings of the error; nil = valid
	}{
		{name: "defaults", want: authLimits{10, 5, 5, 15 * time.Minute, 0}},
		{name: "all off or automatic", vars: map[string]string{"RATE_LIMIT_LOGIN_PER_MIN": "0", "RATE_LIMIT_REGISTER_PER_MIN": "0",
			"AUTH_MAX_FAILED_LOGINS": "0", "AUTH_BCRYPT_CONCURRENCY": "0"}, want: authLimits{0, 0, 0, 15 * time.Minute, 0}},
		{name: "explicit", vars: map[string]string{"RATE_LIMIT_LOGIN_PER_MIN": " 30 ", "RATE_LIMIT_REGISTER_PER_MIN": "1",
			"AUTH_MAX_FAILED_LOGINS": "3", "AUTH_FAILED_LOGIN_WINDOW_MINUTES": "1", "AUTH_BCRYPT_CONCURRENCY": "1"},
			want: authLimits{30, 1, 3, time.Minute, 1}},
		{name: "upper edges", vars: map[string]string{"AUTH_FAILED_LOGIN_WINDOW_MINUTES": "1440", "AUTH_BCRYPT_CONCURRENCY": "1024"},
			want: authLimits{10, 5, 5, 24 * time.Hour, 1024}},
		{name: "empty means default", vars: map[string]string{"RATE_LIMIT_LOGIN_PER_MIN": "", "AUTH_FAILED_LOGIN_WINDOW_MINUTES": " "},
			want: authLimits{10, 5, 5, 15 * time.Minute, 0}},
		{name: "negative login limit", vars: map[string]string{"RATE_LIMIT_LOGIN_PER_MIN": "-1"},
			err: []string{"RATE_LIMIT_LOGIN_PER_MIN", `"-1"`, "between 0 and 1000000"}},
		{name: "register limit not a number", vars: map[string]string{"RATE_LIMIT_REGISTER_PER_MIN": "five"},
			err: []string{"RATE_LIMIT_REGISTER_PER_MIN", `"five"`, "whole number"}},
		{name: "negative failure count", vars: map[string]string{"AUTH_MAX_FAILED_LOGINS": "-3"},
			err: []string{"AUTH_MAX_FAILED_LOGINS", `"-3"`}},
		{name: "zero window", vars: map[string]string{"AUTH_FAILED_LOGIN_WINDOW_MINUTES": "0"},
			err: []string{"AUTH_FAILED_LOGIN_WINDOW_MINUTES", `"0"`, "between 1 and 1440"}},
		{name: "window over a day", vars: map[string]string{"AUTH_FAILED_LOGIN_WINDOW_MINUTES": "1441"},
			err: []string{"AUTH_FAILED_LOGIN_WINDOW_MINUTES", "between 1 and 1440"}},
		{name: "window with a unit", vars: map[string]string{"AUTH_FAILED_LOGIN_WINDOW_MINUTES": "15m"},
			err: []string{"AUTH_FAILED_LOGIN_WINDOW_MINUTES", `"15m"`, "whole number"}},
		{name: "negative bcrypt bound", vars: map[string]string{"AUTH_BCRYPT_CONCURRENCY": "-1"},
			err: []string{"AUTH_BCRYPT_CONCURRENCY", "between 0 and 1024"}},
		{name: "bcrypt bound too large", vars: map[string]string{"AUTH_BCRYPT_CONCURRENCY": "1025"},
			err: []string{"AUTH_BCRYPT_CONCURRENCY", `"1025"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(env(tc.vars))
			if tc.err == nil {
				if err != nil {
					t.Fatal(err)
				}
				if got := authLimitsOf(c); got != tc.want {
					t.Fatalf("parsed %+v, want %+v", got, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %+v", authLimitsOf(c))
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error must be one line: %q", err)
			}
			for _, w := range tc.err {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
