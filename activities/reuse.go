package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"ai-platform/internal/runner"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

// A review check whose inputs are exactly those of a run of the same task
// that passed is not run again: the final review re-checks the files the
// last iteration's review already passed, and ruff, compileall and pytest
// give the same answer on the same bytes. The inputs are the project's
// content (every file's path and SHA-256), the command line, the tool's
// version and the sandbox; the command_log of every run records them.
// A rerun review, which its owner asked for, always runs its commands.

// commandLog is the command_log artifact: the run, and the hash of what it
// ran on.
type commandLog struct {
	runner.Result
	InputsHash string `json:"inputs_hash,omitempty"`
	// Passed is the review's verdict on the run (a pytest run that exited 0
	// without its summary did not pass); only passed runs are reused.
	Passed bool `json:"passed_check,omitempty"`
}

// projectHash hashes the project's files: path and content hash of each,
// in path order.
func projectHash(files []store.File) string {
	sorted := slices.Clone(files)
	slices.SortFunc(sorted, func(a, b store.File) int { return strings.Compare(a.Path, b.Path) })
	h := sha256.New()
	for _, f := range sorted {
		sum := f.SHA256
		if sum == "" {
			s := sha256.Sum256(f.Content)
			sum = hex.EncodeToString(s[:])
		}
		_, _ = io.WriteString(h, f.Path+"\x00"+sum+"\n")
	}
	return hex.EncodeToString(h.Sum(nil))
}

// checkInputs is the inputs hash of one check on a project.
func checkInputs(project, purpose string, tool Tool, sandbox string) string {
	h := sha256.New()
	_, _ = fmt.Fprintf(h, "project %s\npurpose %s\ntool %s %s\nsandbox %s\n", project, purpose, tool.Name, tool.Version, sandbox)
	for _, a := range tool.Argv {
		_, _ = fmt.Fprintf(h, "arg %q\n", a)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// passedRuns indexes the task's runs the review judged passed (exit 0 and,
// for pytest, the tests it had to run) by their inputs hash, read once per
// review.
func (a *Activities) passedRuns(ctx context.Context, taskID string) (map[string]runner.Result, error) {
	passed := map[string]runner.Result{}
	opts := store.ListOptions{Type: task.ArtifactCommandLog, Limit: 200, Order: "desc"}
	for {
		page, err := a.Store.ListArtifacts(ctx, taskID, opts)
		if err != nil {
			return nil, storeErr(err, "listing command logs")
		}
		for _, art := range page.Items {
			var log commandLog
			if json.Unmarshal(art.Payload, &log) != nil || !log.Passed || log.InputsHash == "" {
				continue
			}
			if _, seen := passed[log.InputsHash]; !seen {
				passed[log.InputsHash] = log.Result
			}
		}
		if page.Next == "" {
			return passed, nil
		}
		opts.After = page.Next
	}
}
