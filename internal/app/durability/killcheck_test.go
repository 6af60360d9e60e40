//go:build durability

package durability_test

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"ai-platform/internal/store"
)

func (o outcome) artifactTypes() map[string]int {
	return countTypes(o.Artifacts, func(a store.Artifact) string { return a.Type })
}

// checkSameAs compares a task with a reference run of the same request that
// nothing disturbed: the same events and artifacts by type and count, the
// same files with the same content, the same iterations and tokens.
func checkSameAs(t *testing.T, got, ref outcome) {
	t.Helper()
	g, w := got.eventTypes(), ref.eventTypes()
	// The retry of an interrupted review reuses the passing runs of its
	// first attempt (the project did not change): at most the other two
	// checks more command_reused events than the undisturbed run.
	if extra := g["command_reused"] - w["command_reused"]; extra < 0 || extra > 2*min(got.interrupted, 1) {
		t.Errorf("%d command_reused events, undisturbed run %d (%d runs interrupted)", g["command_reused"], w["command_reused"], got.interrupted)
	}
	delete(g, "command_reused")
	delete(w, "command_reused")
	// An LLM activity killed after its model call was charged is charged
	// again for its retry's call (the provider bills both): one more
	// usage_report (announced by an ArtifactAdded) with its llm_usage
	// events, and the tokens grow by what it used.
	ga, wa := got.artifactTypes(), ref.artifactTypes()
	recharged := ga["usage_report"] - wa["usage_report"]
	if recharged < 0 || recharged > 1 || g["llm_usage"]-w["llm_usage"] < recharged ||
		g["ArtifactAdded"]-w["ArtifactAdded"] != recharged {
		t.Errorf("%d usage reports, %d llm_usage and %d ArtifactAdded events; undisturbed run %d, %d, %d (at most one attempt recharged)",
			ga["usage_report"], g["llm_usage"], g["ArtifactAdded"], wa["usage_report"], w["llm_usage"], w["ArtifactAdded"])
	}
	if recharged == 1 {
		g["ArtifactAdded"]--
		g["llm_usage"] = w["llm_usage"]
		ga["usage_report"]--
	}
	if !sameBesidesInterrupted(g, w, got.interrupted, "command_started", "command_finished") {
		t.Errorf("event types differ from the undisturbed run (%d runs interrupted)\n got %v\nwant %v", got.interrupted, g, w)
	}
	if g, w := ga, wa; !sameBesidesInterrupted(g, w, got.interrupted, "command_log") {
		t.Errorf("artifact types differ from the undisturbed run (%d runs interrupted)\n got %v\nwant %v", got.interrupted, g, w)
	}
	if !maps.Equal(got.Files, ref.Files) {
		var diff []string
		for p, h := range ref.Files {
			if got.Files[p] != h {
				diff = append(diff, p)
			}
		}
		for p := range got.Files {
			if _, ok := ref.Files[p]; !ok {
				diff = append(diff, p+" (extra)")
			}
		}
		slices.Sort(diff)
		t.Errorf("files differ from the undisturbed run: %v", diff)
	}
	sameTokens := got.Task.TokensIn == ref.Task.TokensIn && got.Task.TokensOut == ref.Task.TokensOut
	if recharged > 0 {
		sameTokens = got.Task.TokensIn > ref.Task.TokensIn && got.Task.TokensOut > ref.Task.TokensOut
	}
	if got.Task.Iterations != ref.Task.Iterations || !sameTokens {
		t.Errorf("iterations/tokens %d/%d/%d, undisturbed run %d/%d/%d", got.Task.Iterations, got.Task.TokensIn,
			got.Task.TokensOut, ref.Task.Iterations, ref.Task.TokensIn, ref.Task.TokensOut)
	}
}

// sameBesidesInterrupted compares counts by type; the types of a command
// run's records may exceed the undisturbed run's by at most the interrupted
// runs (the interrupted attempt's own records).
func sameBesidesInterrupted(got, want map[string]int, interrupted int, runTypes ...string) bool {
	for k, w := range want {
		g := got[k]
		if slices.Contains(runTypes, k) {
			if g < w || g > w+interrupted {
				return false
			}
		} else if g != w {
			return false
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			return false
		}
	}
	return true
}

// storeHasFile reports whether the task has stored path.
func storeHasFile(ctx context.Context, st store.Store, id, path string) bool {
	_, err := st.GetFile(ctx, id, path)
	return err == nil
}

// listHas reports whether v, a decoded JSON list, holds the string s.
func listHas(v any, s string) bool {
	list, _ := v.([]any)
	return slices.Contains(list, any(s))
}

func since(start time.Time) string { return time.Since(start).Round(100 * time.Millisecond).String() }

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	state, _ := procStat(pid)
	return state != "" && state != "Z"
}
