package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

func (a *app) files(ctx context.Context, args []string) error {
	fs := a.flags("task files")
	pos, c, err := a.parseWithClient(fs, args, 1, 2)
	if err != nil {
		return err
	}
	if len(pos) == 2 {
		return a.printFile(ctx, c, pos[0], pos[1])
	}
	var out struct {
		Total int `json:"total"`
		Files []struct {
			Path      string `json:"path"`
			Size      int64  `json:"size"`
			Language  string `json:"language"`
			UpdatedAt string `json:"updated_at"`
		} `json:"files"`
	}
	raw, err := c.getJSON(ctx, taskPath(pos[0], "/files"), nil, &out)
	if err != nil {
		return notFoundTask(err, pos[0])
	}
	if a.json {
		return writeRaw(a.stdout, raw)
	}
	if out.Total == 0 {
		fmt.Fprintln(a.stdout, "No files yet.")
		return nil
	}
	rows := make([][]string, 0, len(out.Files))
	for _, f := range out.Files {
		rows = append(rows, []string{f.Path, fmt.Sprint(f.Size), f.Language, localTime(f.UpdatedAt)})
	}
	return table(a.stdout, []string{"PATH", "SIZE", "LANGUAGE", "UPDATED"}, rows)
}

// filePath escapes each segment of a workspace path.
func filePath(p string) string {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// printFile writes one file's bytes (or, with --json, the API's JSON).
func (a *app) printFile(ctx context.Context, c *client, id, p string) error {
	path := taskPath(id, "/files/"+filePath(p))
	if a.json {
		raw, err := c.getJSON(ctx, path, nil, nil)
		if err != nil {
			return notFoundTask(err, id)
		}
		return writeRaw(a.stdout, raw)
	}
	r, err := c.call(ctx, http.MethodGet, path, url.Values{"raw": {"1"}}, nil)
	if err != nil {
		return notFoundTask(err, id)
	}
	_, err = a.stdout.Write(r.body)
	return err
}

func (a *app) download(ctx context.Context, args []string) error {
	fs := a.flags("task download")
	out := fs.String("o", "", "output file (default task_<id>.zip in the current directory; - for stdout)")
	gitExport := fs.Bool("git-export", false, "download the git export (patch.diff, apply.sh) instead of the files")
	pos, c, err := a.parseWithClient(fs, args, 1, 1)
	if err != nil {
		return err
	}
	id := pos[0]
	route, name := "/download.zip", "task_"+id+".zip"
	if *gitExport {
		route, name = "/git-export.zip", "task_"+id+"_git_export.zip"
	}
	if *out == "" {
		*out = filepath.Base(name)
	}
	resp, err := c.stream(ctx, http.MethodGet, taskPath(id, route), nil, nil)
	if err != nil {
		return notFoundTask(err, id)
	}
	defer resp.Body.Close()
	if *out == "-" {
		if _, err := io.Copy(a.stdout, resp.Body); err != nil {
			return c.transportErr(ctx, err)
		}
		return nil
	}
	n, sum, err := writeFileAtomic(*out, resp.Body)
	if err != nil {
		return err
	}
	if a.json {
		return writeJSON(a.stdout, map[string]any{"task_id": id, "path": *out, "bytes": n, "sha256": sum})
	}
	fmt.Fprintf(a.stdout, "Saved %s (%d bytes)\n", *out, n)
	return nil
}

// writeFileAtomic copies r to path through a temporary file, so an
// interrupted download never leaves a truncated zip behind.
func writeFileAtomic(path string, r io.Reader) (int64, string, error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".download-*")
	if err != nil {
		return 0, "", fmt.Errorf("creating %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), r)
	if err != nil {
		tmp.Close()
		return 0, "", fmt.Errorf("downloading to %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return 0, "", fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return 0, "", fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return 0, "", fmt.Errorf("writing %s: %w", path, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
