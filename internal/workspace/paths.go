// Package workspace holds the project templates catalog, per-task workspace
// directories with escape-proof file access, patch (unified diff) building and
// the task and git-export ZIP archives.
package workspace

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrInvalidPath is matched (errors.Is) by every *PathError.
var ErrInvalidPath = errors.New("invalid file path")

// Limits on task-supplied paths; generous for real projects, tight enough to
// give a clear error before the operating system would refuse the name.
const (
	maxPathLen    = 1024
	maxSegmentLen = 255
)

// PathError reports a task-supplied path that CleanPath rejected and why.
type PathError struct {
	Path   string // the path as given
	Reason string // what is wrong with it, in words
}

// Error renders the message the API shows, e.g.
// `Invalid file path: "../x": parent directory segments are not allowed`.
func (e *PathError) Error() string {
	return fmt.Sprintf("Invalid file path: %q: %s", e.Path, e.Reason)
}

// Is makes errors.Is(err, ErrInvalidPath) true for every *PathError.
func (e *PathError) Is(target error) bool { return target == ErrInvalidPath }

// CleanPath validates a task-supplied relative file path and returns it in
// canonical slash form. Only a leading "./" is removed; anything else that
// would need rewriting (backslashes, "..", empty or "." segments, absolute or
// drive forms, control characters, a trailing "/") is rejected rather than
// converted, so what is stored is exactly what was asked for.
func CleanPath(p string) (string, error) {
	reject := func(reason string) (string, error) {
		return "", &PathError{Path: p, Reason: reason}
	}
	switch {
	case p == "":
		return reject("path is empty")
	case len(p) > maxPathLen:
		return reject(fmt.Sprintf("path is longer than %d bytes", maxPathLen))
	case !utf8.ValidString(p):
		return reject("path is not valid UTF-8")
	case strings.IndexFunc(p, unicode.IsControl) >= 0:
		return reject("control characters (including NUL) are not allowed")
	case strings.HasPrefix(p, `\\`) || strings.HasPrefix(p, "//"):
		return reject("UNC and network paths are not allowed")
	case hasDriveLetter(p):
		return reject("Windows drive paths are not allowed")
	case strings.ContainsRune(p, '\\'):
		return reject("backslashes are not allowed; use '/' as the separator")
	case strings.HasPrefix(p, "/"):
		return reject("absolute paths are not allowed")
	case strings.HasSuffix(p, "/"):
		return reject("a trailing '/' names a directory, not a file")
	}
	rel := p
	for strings.HasPrefix(rel, "./") {
		rel = rel[2:]
	}
	if rel == "" || rel == "." {
		return reject("path names the workspace root, not a file")
	}
	if hasDriveLetter(rel) { // "./C:/x" must not clean to "C:/x"
		return reject("Windows drive paths are not allowed")
	}
	for seg := range strings.SplitSeq(rel, "/") {
		switch {
		case seg == "":
			return reject("empty path segments ('//') are not allowed")
		case seg == "..":
			return reject("parent directory segments are not allowed")
		case seg == ".":
			return reject("'.' segments are only allowed as a leading './'")
		case strings.EqualFold(seg, ".git"):
			return reject("paths inside .git are not allowed")
		case len(seg) > maxSegmentLen:
			return reject(fmt.Sprintf("a path segment is longer than %d bytes", maxSegmentLen))
		}
	}
	return rel, nil
}

// hasDriveLetter reports a Windows drive prefix such as "C:" or "c:foo".
func hasDriveLetter(p string) bool {
	if len(p) < 2 || p[1] != ':' {
		return false
	}
	c := p[0] | 0x20 // ASCII lower-case
	return c >= 'a' && c <= 'z'
}
