package migrations

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"ai-platform/internal/store/pgtest"
)

func TestAllIsContiguous(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Fatal("no migrations embedded")
	}
	for i, m := range all {
		if m.Version != i+1 {
			t.Errorf("migration %d has version %d; versions must be 1, 2, 3, ... without gaps", i, m.Version)
		}
		if strings.TrimSpace(m.SQL) == "" {
			t.Errorf("%04d_%s is empty", m.Version, m.Name)
		}
	}
}

func TestParseRejectsBadNames(t *testing.T) {
	cases := map[string]fstest.MapFS{
		"no number":     {"init.sql": {Data: []byte("SELECT 1")}},
		"short number":  {"1_init.sql": {Data: []byte("SELECT 1")}},
		"upper case":    {"0001_Init.sql": {Data: []byte("SELECT 1")}},
		"version zero":  {"0000_init.sql": {Data: []byte("SELECT 1")}},
		"duplicate ver": {"0001_a.sql": {Data: []byte("SELECT 1")}, "0001_b.sql": {Data: []byte("SELECT 1")}},
	}
	for name, fsys := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := parse(fsys); err == nil {
				t.Fatal("parse accepted a bad migration set")
			}
		})
	}
	got, err := parse(fstest.MapFS{"0002_b.sql": {Data: []byte("B")}, "0001_a.sql": {Data: []byte("A")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Version != 1 || got[1].Name != "b" {
		t.Fatalf("parse order: %+v", got)
	}
}

func openPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func versions(all []Migration) []int {
	var v []int
	for _, m := range all {
		v = append(v, m.Version)
	}
	return v
}

func TestApplyTwiceIsIdempotent(t *testing.T) {
	pool := openPool(t, pgtest.Schema(t))
	ctx := context.Background()
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	first, err := Apply(ctx, pool)
	if err != nil {
		t.Fatalf("first apply: %v", err)
	}
	if !slices.Equal(first, versions(all)) {
		t.Fatalf("first apply applied %v, want %v", first, versions(all))
	}
	second, err := Apply(ctx, pool)
	if err != nil {
		t.Fatalf("second apply: %v", err)
	}
	if len(second) != 0 {
		t.Fatalf("second apply applied %v again", second)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(all) {
		t.Fatalf("schema_migrations has %d rows, want %d", n, len(all))
	}
	// The tables are in the test schema, not in public.
	var schema string
	if err := pool.QueryRow(ctx, `SELECT table_schema FROM information_schema.tables WHERE table_name = 'tasks' AND table_schema = current_schema()`).Scan(&schema); err != nil {
		t.Fatalf("tasks table not in current schema: %v", err)
	}
	if !strings.HasPrefix(schema, "aip_test_") {
		t.Fatalf("tasks created in schema %q", schema)
	}
}

func TestConcurrentApply(t *testing.T) {
	url := pgtest.Schema(t)
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	const runners = 4
	pools := make([]*pgxpool.Pool, runners)
	for i := range pools {
		pools[i] = openPool(t, url)
	}
	results := make([][]int, runners)
	errs := make([]error, runners)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range runners {
		wg.Go(func() {
			<-start
			results[i], errs[i] = Apply(context.Background(), pools[i])
		})
	}
	close(start)
	wg.Wait()
	var applied []int
	for i := range runners {
		if errs[i] != nil {
			t.Errorf("runner %d: %v", i, errs[i])
		}
		applied = append(applied, results[i]...)
	}
	slices.Sort(applied)
	if !slices.Equal(applied, versions(all)) {
		t.Fatalf("together the runners applied %v, want each of %v exactly once", applied, versions(all))
	}
}

func TestFailedMigrationLeavesNothing(t *testing.T) {
	pool := openPool(t, pgtest.Schema(t))
	ctx := context.Background()
	bad := []Migration{
		{Version: 1, Name: "good", SQL: "CREATE TABLE a (x int)"},
		{Version: 2, Name: "bad", SQL: "CREATE TABLE b (x int); SELECT no_such_column FROM a"},
	}
	applied, err := apply(ctx, pool, bad)
	if err == nil {
		t.Fatal("broken migration did not fail")
	}
	if !strings.Contains(err.Error(), "0002_bad") {
		t.Errorf("error does not name the migration: %v", err)
	}
	if !slices.Equal(applied, []int{1}) {
		t.Errorf("applied %v, want [1]", applied)
	}
	var bExists, recorded bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('b') IS NOT NULL, EXISTS (SELECT 1 FROM schema_migrations WHERE version = 2)`).Scan(&bExists, &recorded); err != nil {
		t.Fatal(err)
	}
	if bExists || recorded {
		t.Fatalf("failed migration left traces: table b=%v, recorded=%v", bExists, recorded)
	}
}
