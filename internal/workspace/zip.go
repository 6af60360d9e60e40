package workspace

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"slices"
	"time"
)

// manifestEntry is the name of the manifest inside the task directory of a task ZIP.
const manifestEntry = "manifest.json"

// manifestFallback names the manifest when the project has a top-level
// manifest.json of its own (a browser extension, a web app): the project's
// file keeps its name, since it is what the user asked for.
const manifestFallback = "manifest.aiplatform.json"

// ManifestFile is one entry of the manifest's files list.
type ManifestFile struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Manifest is the manifest.json of a task ZIP. Build one, call Map and pass
// the result to WriteTaskZip, which fills in Files from the files it writes.
type Manifest struct {
	TaskID         string         `json:"task_id"`
	Status         string         `json:"status"`
	CreatedAt      string         `json:"created_at"`
	UpdatedAt      string         `json:"updated_at"`
	Iterations     int            `json:"iterations"`
	FilesCount     int            `json:"files_count"`
	ArtifactsCount int            `json:"artifacts_count"`
	APIBaseURL     string         `json:"api_base_url"`
	Files          []ManifestFile `json:"files"`
}

// Map returns the manifest fields as the map WriteTaskZip takes (without
// "files", which WriteTaskZip computes).
func (m Manifest) Map() map[string]any {
	return map[string]any{
		"task_id":         m.TaskID,
		"status":          m.Status,
		"created_at":      m.CreatedAt,
		"updated_at":      m.UpdatedAt,
		"iterations":      m.Iterations,
		"files_count":     m.FilesCount,
		"artifacts_count": m.ArtifactsCount,
		"api_base_url":    m.APIBaseURL,
	}
}

// zipEntry is one regular file to be written into an archive.
type zipEntry struct {
	name    string
	mode    fs.FileMode
	content []byte
}

// WriteTaskZip writes the task download: a deflated ZIP with the directory
// task_<id>/, each file at task_<id>/<path> in path order (mode 0644), then
// task_<id>/manifest.json (manifest.aiplatform.json when the project has a
// manifest.json of its own) holding manifest plus a "files" list of
// {path, size, sha256} computed here (task_id is filled in when missing or
// empty, and must match taskID otherwise).
// Every entry's modified time is modTime in UTC (clamped to 1980, the ZIP
// minimum). Paths are checked with CleanPath and for clashes before the first
// byte is written, so a caller buffering w gets nothing on a validation error.
func WriteTaskZip(w io.Writer, taskID string, files []File, manifest map[string]any, modTime time.Time) error {
	if err := ValidTaskID(taskID); err != nil {
		return fmt.Errorf("task zip: %w", err)
	}
	sorted, err := cleanFileSet(files)
	if err != nil {
		return fmt.Errorf("task zip: %w", err)
	}
	manifestName, err := manifestNameFor(sorted)
	if err != nil {
		return err
	}
	list := make([]ManifestFile, len(sorted))
	for i, f := range sorted {
		list[i] = ManifestFile{Path: f.Path, Size: int64(len(f.Content)), SHA256: sha256Hex(f.Content)}
	}
	m := maps.Clone(manifest)
	if m == nil {
		m = make(map[string]any, 1)
	}
	switch id := m["task_id"]; id {
	case nil, "":
		m["task_id"] = taskID
	case taskID:
	default:
		return fmt.Errorf("task zip: manifest task_id %v is not %s", id, taskID)
	}
	m["files"] = list
	manifestJSON, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("task zip: encode manifest: %w", err)
	}
	dir := "task_" + taskID + "/"
	entries := make([]zipEntry, 0, len(sorted)+1)
	for _, f := range sorted {
		entries = append(entries, zipEntry{name: dir + f.Path, mode: 0o644, content: f.Content})
	}
	entries = append(entries, zipEntry{name: dir + manifestName, mode: 0o644, content: append(manifestJSON, '\n')})
	if err := writeZip(w, dir, entries, modTime); err != nil {
		return fmt.Errorf("task zip: %w", err)
	}
	return nil
}

// manifestNameFor picks the manifest's name among the project's files.
func manifestNameFor(files []File) (string, error) {
	taken := func(name string) bool {
		return slices.ContainsFunc(files, func(f File) bool { return f.Path == name })
	}
	switch {
	case !taken(manifestEntry):
		return manifestEntry, nil
	case !taken(manifestFallback):
		return manifestFallback, nil
	}
	return "", fmt.Errorf("task zip: files %q and %q both clash with the generated manifest", manifestEntry, manifestFallback)
}

// writeZip writes one directory entry followed by the given file entries.
func writeZip(w io.Writer, dir string, entries []zipEntry, modTime time.Time) error {
	mt := modTime.UTC()
	if mt.Year() < 1980 { // the earliest MS-DOS date a ZIP header can hold
		mt = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	zw := zip.NewWriter(w)
	dh := &zip.FileHeader{Name: dir, Method: zip.Store, Modified: mt}
	dh.SetMode(fs.ModeDir | 0o755)
	if _, err := zw.CreateHeader(dh); err != nil {
		return fmt.Errorf("add %s: %w", dir, err)
	}
	for _, e := range entries {
		fh := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: mt}
		fh.SetMode(e.mode)
		fw, err := zw.CreateHeader(fh)
		if err != nil {
			return fmt.Errorf("add %s: %w", e.name, err)
		}
		if _, err := fw.Write(e.content); err != nil {
			return fmt.Errorf("write %s: %w", e.name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("finish archive: %w", err)
	}
	return nil
}
