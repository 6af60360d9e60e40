package store_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"ai-platform/internal/store"
	"ai-platform/internal/store/pgtest"
)

// TestGetOrCreateSecretConcurrent: API processes starting at the same
// moment (here, separate pools racing on fresh names) all get one value,
// and exactly one of them stored it.
func TestGetOrCreateSecretConcurrent(t *testing.T) {
	url := pgtest.Schema(t)
	const processes, rounds = 6, 20
	stores := make([]*store.Postgres, processes)
	for i := range stores {
		stores[i] = openPG(t, pgtest.WithParam(t, url, "pool_max_conns", "2"))
	}
	for r := range rounds {
		name := fmt.Sprintf("race_%d", r)
		values := make([]string, processes)
		created := make([]bool, processes)
		errs := make([]error, processes)
		var start, done sync.WaitGroup
		start.Add(1)
		for i, s := range stores {
			done.Add(1)
			go func() {
				defer done.Done()
				start.Wait()
				values[i], created[i], errs[i] = s.GetOrCreateSecret(t.Context(), name, candidate(i))
			}()
		}
		start.Done()
		done.Wait()
		n := 0
		for i := range stores {
			if errs[i] != nil {
				t.Fatalf("round %d, process %d: %v", r, i, errs[i])
			}
			if values[i] != values[0] {
				t.Fatalf("round %d: process %d got another value than process 0", r, i)
			}
			if created[i] {
				n++
				if values[i] != candidate(i) {
					t.Errorf("round %d: process %d stored its candidate but reads another value", r, i)
				}
			}
		}
		if n != 1 {
			t.Fatalf("round %d: %d callers report storing the secret, want 1", r, n)
		}
	}
}

func candidate(i int) string { return fmt.Sprintf("candidate-%02d-%s", i, strings.Repeat("x", 32)) }

// TestGetOrCreateSecretKeepsTheFirst: a stored secret is never replaced,
// across reopening the store, and a candidate too short to be a secret is
// refused before anything is stored.
func TestGetOrCreateSecretKeepsTheFirst(t *testing.T) {
	url := pgtest.Schema(t)
	tests := []struct {
		name, candidate, want string
		created, wantErr      bool
	}{
		{"first call stores", candidate(1), candidate(1), true, false},
		{"second call reads", candidate(2), candidate(1), false, false},
		{"short candidate refused", "short", "", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pg := openPG(t, url) // a new process each time
			got, created, err := pg.GetOrCreateSecret(t.Context(), store.SecretAPIKeyHash, tc.candidate)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want || created != tc.created {
				t.Errorf("got (%q, created %v), want (%q, created %v)", got, created, tc.want, tc.created)
			}
		})
	}
}
