package main

import (
	"io"
	"slices"
	"strings"
	"testing"
)

func TestParseServerFlag(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    []string
		wantErr bool
	}{
		{"default is the dev server", nil, []string{serverDev}, false},
		{"dev", []string{"-server", "dev"}, []string{serverDev}, false},
		{"real", []string{"-server", "real"}, []string{serverReal}, false},
		{"both, dev first", []string{"-server=both"}, []string{serverDev, serverReal}, false},
		{"with other flags", []string{"-quick", "-server", "both", "-suites", "2,5"}, []string{serverDev, serverReal}, false},
		{"unknown server", []string{"-server", "prod"}, nil, true},
		{"empty value is the default", []string{"-server", ""}, []string{serverDev}, false},
		{"real without PostgreSQL", []string{"-server", "real", "-database-url", "off"}, nil, true},
		{"both without PostgreSQL", []string{"-server", "both", "-database-url", "off"}, nil, true},
		{"dev without PostgreSQL", []string{"-database-url", "off"}, []string{serverDev}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(tc.args, io.Discard)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseFlags(%q) error = %v, want error %v", tc.args, err, tc.wantErr)
			}
			if !tc.wantErr && !slices.Equal(o.servers, tc.want) {
				t.Errorf("parseFlags(%q) servers = %q, want %q", tc.args, o.servers, tc.want)
			}
		})
	}
}

func fig(suite, name, store, server string, p50, base float64) Figure {
	f := Figure{Suite: suite, Name: name, Store: store, Server: server, Unit: "ms", Value: Summary{N: 1, P50: p50, P95: p50, P99: p50}}
	if base == 0 {
		return f
	}
	return f.withBase("raw", Summary{N: 1, P50: base, P95: base, P99: base})
}

func TestGroupByServer(t *testing.T) {
	tests := []struct {
		name string
		figs []Figure
		// want lists each row as suite/name/store/baseline: the servers it has.
		want []string
	}{
		{"dev and real pair up", []Figure{
			fig("2 signal path", "POST /input", "postgres", serverDev, 9, 3),
			fig("2 signal path", "POST /input", "postgres", serverReal, 12, 6),
		}, []string{"2 signal path/POST /input/postgres/raw: dev real"}},
		{"rows keep the order of first appearance", []Figure{
			fig("3 end to end", "b", "memory", serverDev, 1, 1),
			fig("3 end to end", "a", "memory", serverDev, 1, 1),
			fig("3 end to end", "a", "memory", serverReal, 1, 1),
			fig("3 end to end", "b", "memory", serverReal, 1, 1),
		}, []string{"3 end to end/b/memory/raw: dev real", "3 end to end/a/memory/raw: dev real"}},
		{"stores and baselines are kept apart", []Figure{
			fig("1 status read", "GET", "postgres", serverDev, 1, 2),
			fig("1 status read", "GET", "memory", serverDev, 1, 2),
			fig("1 status read", "GET", "postgres", serverReal, 1, 2),
			fig("1 status read", "GET", "memory", serverReal, 1, 2),
			fig("1 status read", "GET", "memory", serverReal, 1, 0),
			fig("1 status read", "GET", "memory", serverDev, 1, 0),
		}, []string{"1 status read/GET/postgres/raw: dev real", "1 status read/GET/memory/raw: dev real",
			"1 status read/GET/memory/: dev real"}},
		{"figures without a server are left out", []Figure{
			fig("7 store", "append", "postgres", "", 1, 1),
			fig("6 runner", "exec", "", "", 1, 1),
		}, nil},
		{"a figure only one server produced is left out", []Figure{
			fig("4 concurrency cap", "wall", "postgres", serverDev, 20, 15),
			fig("5 paused tasks", "park", "postgres", serverDev, 100, 14),
			fig("5 paused tasks", "park", "postgres", serverReal, 90, 20),
		}, []string{"5 paused tasks/park/postgres/raw: dev real"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, r := range groupByServer(tc.figs) {
				var servers []string
				for _, s := range []string{serverDev, serverReal} {
					if f, ok := r.By[s]; ok {
						if f.Server != s {
							t.Errorf("row %s/%s: figure of %q filed under %q", r.Suite, r.Name, f.Server, s)
						}
						servers = append(servers, s)
					}
				}
				got = append(got, r.Suite+"/"+r.Name+"/"+r.Store+"/"+r.Baseline+": "+strings.Join(servers, " "))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("groupByServer:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestSortFigures(t *testing.T) {
	figs := []Figure{
		fig("5 paused tasks", "park", "postgres", serverDev, 1, 0),
		fig("2 signal path", "x", "postgres", serverReal, 1, 0),
		fig("2 signal path", "y", "postgres", serverReal, 1, 0),
		fig("7 store", "append", "postgres", "", 1, 0),
		fig("5 paused tasks", "park", "postgres", serverReal, 1, 0),
		fig("2 signal path", "x", "postgres", serverDev, 1, 0),
		fig("2 signal path", "y", "postgres", serverDev, 1, 0),
	}
	sortFigures(figs, []string{serverDev, serverReal})
	var got []string
	for _, f := range figs {
		got = append(got, f.Suite[:1]+" "+f.Name+" "+orDash(f.Server))
	}
	want := []string{"2 x dev", "2 y dev", "2 x real", "2 y real", "5 park dev", "5 park real", "7 append -"}
	if !slices.Equal(got, want) {
		t.Errorf("sortFigures:\n got %q\nwant %q", got, want)
	}
}

func TestMarkdownSideBySide(t *testing.T) {
	tests := []struct {
		name    string
		servers []string
		want    []string
		notWant []string
	}{
		{"both servers: a side-by-side table", []string{serverDev, serverReal}, []string{
			"servers: dev, real.",
			"| 2 signal path | dev | POST /input | postgres | ms | 1 | 10.0 |",
			"| 2 signal path | real | POST /input | postgres | ms | 1 | 30.0 |",
			"| suite | figure | store | unit | baseline (raw) | dev | dev raw | dev ratio | real | real raw | real ratio | real / dev |",
			"| 2 signal path | POST /input | postgres | ms | raw | 10.0 | 5.00 | 2.00x | 30.0 | 20.0 | 1.50x | 3.00x |",
			"| 5 paused tasks | API RSS | postgres | ms | - | 8.00 | | | 4.00 | | | 0.5x |",
			"2 signal path (real) / POST /input: on real",
			"Suites: 2 signal path (postgres, dev) 3 s; 2 signal path (postgres, real) 4 s; 7 store (postgres) 1 s;",
		}, []string{"| 7 store | append |"}},
		{"one server: no side-by-side table", []string{serverReal}, []string{"servers: real."}, []string{"Side by side"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			real := fig("2 signal path", "POST /input", "postgres", serverReal, 30, 20)
			real.Note = "on real"
			r := Results{Servers: tc.servers, Stores: []string{"postgres"},
				Suites: []SuiteRun{{Suite: "2 signal path", Store: "postgres", Server: serverDev, Seconds: 3},
					{Suite: "2 signal path", Store: "postgres", Server: serverReal, Seconds: 4},
					{Suite: "7 store", Store: "postgres", Seconds: 1}},
				Figures: []Figure{
					fig("2 signal path", "POST /input", "postgres", serverDev, 10, 5), real,
					fig("5 paused tasks", "API RSS", "postgres", serverDev, 8, 0),
					fig("5 paused tasks", "API RSS", "postgres", serverReal, 4, 0),
					fig("7 store", "append", "postgres", "", 1, 1),
				}}
			var b strings.Builder
			if err := r.Markdown(&b); err != nil {
				t.Fatal(err)
			}
			md := b.String()
			for _, w := range tc.want {
				if !strings.Contains(md, w) {
					t.Errorf("Markdown lacks %q:\n%s", w, md)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(md, w) {
					t.Errorf("Markdown has %q:\n%s", w, md)
				}
			}
		})
	}
}
