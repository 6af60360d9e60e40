package auth

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"ai-platform/internal/store"
)

func TestValidatePassword(t *testing.T) {
	cases := []struct {
		name, pw string
		want     string // substring of the error; "" = valid
	}{
		{"empty", "", "at least 8 characters"},
		{"seven", "1234567", "at least 8 characters"},
		{"eight", "12345678", ""},
		{"eight runes of three bytes", strings.Repeat("€", 8), ""},
		{"72 bytes", strings.Repeat("a", 72), ""},
		{"73 bytes", strings.Repeat("a", 73), "limit is 72 bytes"},
		{"25 runes of three bytes", strings.Repeat("€", 25), "limit is 72 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidatePassword(tc.pw)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var ie *InputError
			if !errors.As(err, &ie) || ie.Field != "password" || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want an InputError containing %q", err, tc.want)
			}
		})
	}
}

func TestNormalizeEmail(t *testing.T) {
	cases := []struct {
		in, want string // want "" = invalid
	}{
		{"  Alice@Example.COM\t", "alice@example.com"},
		{"a.b+tag@sub.example.org", "a.b+tag@sub.example.org"},
		{"", ""},
		{"alice", ""},
		{"alice@", ""},
		{"@example.com", ""},
		{"alice@localhost", ""},
		{"alice@example.", ""},
		{"alice@.example.com", ""},
		{"alice@exa..mple.com", ""},
		{"a@b@example.com", ""},
		{"Alice <alice@example.com>", ""},
		{"ali ce@example.com", ""},
		{"alice@example.com\nBcc: x@y.z", ""},
		{strings.Repeat("a", 250) + "@example.com", ""},
	}
	for _, tc := range cases {
		got, err := NormalizeEmail(tc.in)
		if tc.want == "" {
			var ie *InputError
			if !errors.As(err, &ie) || ie.Field != "email" {
				t.Errorf("NormalizeEmail(%q) = %q, %v; want an email InputError", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestPasswordHashing(t *testing.T) {
	p := newPasswords(0, 0, 0)
	if p.cost != DefaultCost || DefaultCost < 12 {
		t.Fatalf("default cost %d, want >= 12", p.cost)
	}
	h12, err := p.hash(t.Context(), "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if cost, err := bcrypt.Cost([]byte(h12)); err != nil || cost != DefaultCost {
		t.Fatalf("stored cost %d (%v), want %d", cost, err, DefaultCost)
	}
	// The comparisons below use the minimum cost: the race detector makes
	// each cost-12 operation take seconds.
	fast := newPasswords(bcrypt.MinCost, 0, 0)
	h, err := fast.hash(t.Context(), "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	h72, err := fast.hash(t.Context(), strings.Repeat("x", 72))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, hash, pw string
		want           bool
	}{
		{"right", h, "correct horse battery", true},
		{"wrong", h, "correct horse battery!", false},
		{"unknown user (dummy hash)", "", "correct horse battery", false},
		{"unknown user, empty password", "", "", false},
		{"73 bytes never matches a 72-byte password", h72, strings.Repeat("x", 73), false},
		{"72 bytes", h72, strings.Repeat("x", 72), true},
	}
	for _, tc := range cases {
		if got, err := fast.verify(t.Context(), tc.hash, tc.pw); got != tc.want || err != nil {
			t.Errorf("%s: verify = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	if _, err := fast.hash(t.Context(), strings.Repeat("y", 73)); err == nil {
		t.Error("hashing a 73-byte password succeeded; it must be refused, not truncated")
	}
}

// BenchmarkLoginTiming compares a login for a known email with a wrong
// password and one for an unknown email: both cost one bcrypt comparison.
func BenchmarkLoginTiming(b *testing.B) {
	m, _ := store.NewMemory(nil)
	svc, err := New(Settings{Store: m, Tokens: TokenSettings{Secret: testSecret, TTL: time.Minute},
		RefreshSecret: "r", RefreshTTL: time.Hour, Registration: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.Register(b.Context(), "known@example.com", "password-1", Client{}); err != nil {
		b.Fatal(err)
	}
	for _, email := range []string{"known@example.com", "unknown@example.com"} {
		b.Run(strings.Split(email, "@")[0], func(b *testing.B) {
			for b.Loop() {
				if _, err := svc.Login(b.Context(), email, "wrong-password", Client{}); !errors.Is(err, ErrInvalidCredentials) {
					b.Fatal(err)
				}
			}
		})
	}
}
