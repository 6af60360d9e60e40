package workspace

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"
)

// Names of the git-export files, relative to the git_export directory.
const (
	ExportPatch   = "patch.diff"
	ExportScript  = "apply.sh"
	ExportReadme  = "README_APPLY.md"
	ExportChanges = "changed_files.json"
)

// applyScript applies patch.diff, found next to the script, to the git work
// tree the script is run from. It refuses to touch a dirty tree so that a
// failed apply never mixes with the user's own uncommitted work.
const applyScript = `#!/usr/bin/env bash
# Applies patch.diff (next to this script) to the git work tree you run it from.
set -euo pipefail

script_dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
patch_file="${script_dir}/patch.diff"

if ! command -v git >/dev/null 2>&1; then
  echo "apply.sh: git is not installed or not on PATH" >&2
  exit 1
fi
if [ "$(git rev-parse --is-inside-work-tree 2>/dev/null || true)" != "true" ]; then
  echo "apply.sh: run this from inside the git work tree to patch" >&2
  exit 1
fi
if [ ! -f "${patch_file}" ]; then
  echo "apply.sh: ${patch_file} not found" >&2
  exit 1
fi
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  echo "apply.sh: the work tree has uncommitted changes; commit or stash them first" >&2
  exit 1
fi
if [ ! -s "${patch_file}" ]; then
  echo "apply.sh: patch.diff is empty, nothing to apply"
  exit 0
fi

# Patch paths are relative to the repository root.
cd -- "$(git rev-parse --show-toplevel)"
if ! git apply --index "${patch_file}"; then
  echo "apply.sh: the patch does not apply cleanly; see README_APPLY.md (git apply --3way)" >&2
  exit 1
fi
echo "apply.sh: changes applied and staged; review with 'git diff --cached', then commit"
`

// GitExportFiles returns the git-export set for p, in archive order:
// patch.diff, apply.sh, README_APPLY.md and changed_files.json. Paths are
// relative to the git_export directory; apply.sh is meant to be executable.
func GitExportFiles(p Patch) []File {
	changes := p.Changes
	if changes == nil {
		changes = []Change{}
	}
	changesJSON, err := json.MarshalIndent(changes, "", "  ")
	if err != nil {
		// Change holds only strings, integers and bools; this cannot fail.
		panic(fmt.Sprintf("encode changed files: %v", err))
	}
	return []File{
		{Path: ExportPatch, Content: []byte(p.Diff)},
		{Path: ExportScript, Content: []byte(applyScript)},
		{Path: ExportReadme, Content: []byte(applyReadme(p))},
		{Path: ExportChanges, Content: append(changesJSON, '\n')},
	}
}

// WriteGitExportZip writes the git-export download, stamped with the current time.
func WriteGitExportZip(w io.Writer, taskID string, p Patch) error {
	return WriteGitExportZipAt(w, taskID, p, time.Now())
}

// WriteGitExportZipAt writes the git-export download: the directory
// task_<id>/git_export/ holding the GitExportFiles (apply.sh with mode 0755,
// the rest 0644), every entry stamped modTime, so equal inputs give
// byte-identical archives.
func WriteGitExportZipAt(w io.Writer, taskID string, p Patch, modTime time.Time) error {
	if err := ValidTaskID(taskID); err != nil {
		return fmt.Errorf("git export zip: %w", err)
	}
	dir := "task_" + taskID + "/git_export/"
	var entries []zipEntry
	for _, f := range GitExportFiles(p) {
		mode := fs.FileMode(0o644)
		if f.Path == ExportScript {
			mode = 0o755
		}
		entries = append(entries, zipEntry{name: dir + f.Path, mode: mode, content: f.Content})
	}
	if err := writeZip(w, dir, entries, modTime); err != nil {
		return fmt.Errorf("git export zip: %w", err)
	}
	return nil
}

// applyReadme explains how to apply the patch, including the --3way fallback
// and the binary files the patch cannot carry.
func applyReadme(p Patch) string {
	var sb strings.Builder
	s := p.Stats
	fmt.Fprintf(&sb, `# Applying these changes

This folder holds the changes a task made to the project it started from, as
a git patch.

- %s: unified diff of the %d changed text file(s); %d file(s) changed in
  all (%d added, %d removed, %d modified).
- %s: applies the patch to the git repository you run it from.
- %s: every changed file with SHA-256 hashes and sizes, binary files included.

## With the script

1. Have the project the task started from in a git repository, with no
   uncommitted changes to tracked files.
2. From anywhere inside that repository run:

       bash /path/to/git_export/apply.sh

   The script checks that git is installed, that it runs inside a work tree
   and that the tree is clean, then runs `+"`git apply --index patch.diff`"+` from
   the repository root, so the changes end up staged.
3. Review with `+"`git diff --cached`"+` and commit.

## By hand

    git apply --check /path/to/git_export/patch.diff
    git apply --index /path/to/git_export/patch.diff

## If the patch does not apply

When your files have drifted from the ones the task started from, let git
merge instead; conflicts are left marked in the files for you to resolve:

    git apply --3way /path/to/git_export/patch.diff

This works when the original file versions exist in the repository (for
example, the unchanged template was committed), because the patch records
their blob ids.
`, ExportPatch, s.TextFiles, s.ChangedTotal, s.Added, s.Removed, s.Modified, ExportScript, ExportChanges)
	var binary []Change
	for _, c := range p.Changes {
		if c.IsBinary {
			binary = append(binary, c)
		}
	}
	if len(binary) > 0 {
		sb.WriteString("\n## Binary files\n\nThese changed but are not in the patch; take them from the task ZIP download:\n\n")
		for _, c := range binary {
			fmt.Fprintf(&sb, "- `%s` (%s)\n", c.Path, c.ChangeType)
		}
	}
	return sb.String()
}
