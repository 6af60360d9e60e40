package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// lookup outcomes for argv[0].
type lookupStatus int

const (
	lookupFound lookupStatus = iota
	lookupNotAllowed
	lookupNotInstalled
)

// Resolve returns the absolute path of the allowed executable name on the
// runner's PATH (Config.Path, never the server's), and false if the name is
// not allowed or not installed.
func (r *Runner) Resolve(name string) (string, bool) {
	path, st := r.lookup(name)
	return path, st == lookupFound
}

// lookup applies the allow-list and the PATH rules to argv[0]:
//   - a bare name must be allow-listed and is searched on Config.Path in order;
//   - an absolute path must have an allow-listed basename and lie directly in
//     one of Config.Path's directories;
//   - any other name with a slash ("./pytest", "bin/python") is refused: it
//     would be resolved against the workspace, whose files the child wrote.
func (r *Runner) lookup(name string) (string, lookupStatus) {
	if name == "" || strings.ContainsRune(name, 0) {
		return "", lookupNotAllowed
	}
	base := filepath.Base(name)
	if !slices.Contains(r.cfg.Allowed, base) {
		return "", lookupNotAllowed
	}
	if strings.ContainsRune(name, '/') {
		if !filepath.IsAbs(name) {
			return "", lookupNotAllowed
		}
		clean := filepath.Clean(name)
		if !slices.Contains(r.pathDirs, filepath.Dir(clean)) {
			return "", lookupNotAllowed
		}
		if !isExecutable(clean) {
			return "", lookupNotInstalled
		}
		return clean, lookupFound
	}
	for _, dir := range r.pathDirs {
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p, lookupFound
		}
	}
	return "", lookupNotInstalled
}

// isExecutable reports whether path (after symlinks) is a regular file with an
// execute bit, the same test a shell's PATH search applies.
func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// splitPath turns a PATH value into cleaned directories. Every entry must be
// absolute: an empty or relative entry would search the child's working
// directory, that is the workspace.
func splitPath(path string) ([]string, error) {
	var dirs []string
	for _, d := range strings.Split(path, ":") {
		if !filepath.IsAbs(d) {
			return nil, fmt.Errorf("runner: Path entry %q is not absolute", d)
		}
		if d = filepath.Clean(d); !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	return dirs, nil
}

// workdir checks the workspace and the working directory of a Spec and
// returns both with symlinks resolved, or an Error code. The command then runs
// in the resolved directory, the one that was checked.
func workdir(dir, cwd string) (realDir, realCwd, code string) {
	if !filepath.IsAbs(dir) {
		return "", "", ErrWorkspaceInvalid
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil || !isDir(realDir) || realDir == "/" {
		return "", "", ErrWorkspaceInvalid
	}
	if filepath.IsAbs(cwd) || slices.Contains(strings.Split(cwd, "/"), "..") {
		return "", "", ErrCwdOutsideWorkspace
	}
	// A path that does not resolve (missing, dangling link, loop, a file in
	// the middle) runs nowhere, so it is "not found" wherever it pointed.
	realCwd, err = filepath.EvalSymlinks(filepath.Join(realDir, cwd))
	if err != nil {
		return "", "", ErrCwdNotFound
	}
	if realCwd != realDir && !strings.HasPrefix(realCwd, realDir+"/") {
		return "", "", ErrCwdOutsideWorkspace
	}
	if !isDir(realCwd) {
		return "", "", ErrCwdNotFound
	}
	return realDir, realCwd, ""
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}
