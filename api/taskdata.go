package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"ai-platform/internal/project"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
	"ai-platform/internal/workspace"
)

// listOptions reads limit (1..1000, default 200), order (asc|desc, default
// desc), type and cursor.
func listOptions(c *gin.Context) (store.ListOptions, bool) {
	order := c.DefaultQuery("order", "desc")
	if order != "asc" && order != "desc" {
		fail(c, http.StatusBadRequest, "order must be 'asc' or 'desc'")
		return store.ListOptions{}, false
	}
	limit, ok := parseLimit(c, 200, 1000)
	if !ok {
		return store.ListOptions{}, false
	}
	typ := c.Query("type")
	if len(typ) > 64 {
		fail(c, http.StatusBadRequest, "type must be at most 64 characters")
		return store.ListOptions{}, false
	}
	if strings.ContainsRune(typ, 0) {
		fail(c, http.StatusBadRequest, "type must not contain NUL characters")
		return store.ListOptions{}, false
	}
	return store.ListOptions{Limit: limit, Order: order, Type: typ, After: c.Query("cursor")}, true
}

func (s *Server) listEvents(c *gin.Context) {
	writeLogPage(s, c, "events", s.Store.ListEvents, eventJSON)
}

// writeLogPage answers a paged read of one of the task's logs (events,
// artifacts): the page list returns for the request's list options, each item
// as toJSON writes it, under key.
func writeLogPage[T any](s *Server, c *gin.Context, key string,
	list func(context.Context, string, store.ListOptions) (store.Page[T], error), toJSON func(T) gin.H) {
	o, ok := listOptions(c)
	if !ok {
		return
	}
	t := currentTask(c)
	page, err := list(c.Request.Context(), t.ID, o)
	if s.listFailed(c, err, "list "+key) {
		return
	}
	items := make([]gin.H, 0, len(page.Items))
	for _, it := range page.Items {
		items = append(items, toJSON(it))
	}
	c.JSON(http.StatusOK, gin.H{"task_id": t.ID, "total": page.Total, "count": len(items), key: items,
		"next_cursor": nilIfEmpty(page.Next)})
}

func (s *Server) listFailed(c *gin.Context, err error, what string) bool {
	if errors.Is(err, store.ErrBadCursor) {
		fail(c, http.StatusBadRequest, "cursor is not valid")
		return true
	}
	if err != nil {
		s.storeFailure(c, err, what)
		return true
	}
	return false
}

func eventJSON(e store.Event) gin.H {
	return gin.H{"id": e.ID, "type": e.Type, "payload": e.Payload, "created_at": task.FormatTime(e.CreatedAt)}
}

func artifactJSON(a store.Artifact) gin.H {
	return gin.H{"id": a.ID, "type": a.Type, "produced_by": a.ProducedBy, "payload": a.Payload,
		"created_at": task.FormatTime(a.CreatedAt)}
}

func (s *Server) listArtifacts(c *gin.Context) {
	writeLogPage(s, c, "artifacts", s.Store.ListArtifacts, artifactJSON)
}

func (s *Server) getArtifact(c *gin.Context) {
	a, err := s.Store.GetArtifact(c.Request.Context(), currentTask(c).ID, c.Param("artifact_id"))
	if errors.Is(err, store.ErrNotFound) {
		fail(c, http.StatusNotFound, "Artifact not found")
		return
	}
	if err != nil {
		s.storeFailure(c, err, "get artifact")
		return
	}
	c.JSON(http.StatusOK, artifactJSON(a))
}

// liveState asks the running workflow; closed tasks are answered from the store.
func (s *Server) liveState(ctx context.Context, t store.Task) (task.State, bool, error) {
	if t.Status.Terminal() {
		return task.State{}, false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	v, err := s.Temporal.QueryWorkflow(ctx, task.WorkflowID(t.ID), "", task.QueryState)
	if err != nil {
		return task.State{}, false, err
	}
	var st task.State
	if err := v.Get(&st); err != nil {
		return task.State{}, false, err
	}
	return st, true, nil
}

// stateKeys are the state document's documented top-level keys.
var stateKeys = []string{"status", "progress", "current_stage", "active_role", "current_task", "codex_version",
	"timestamps", "container_state", "container_progress"}

// stateShape gives a stored state document the shape GET /state documents:
// every key of stateKeys present (null when the document lacks it), and any
// other key (llm_usage_summary, iteration, ...) moved under timestamps.meta,
// where clients of that shape look for them.
func stateShape(doc map[string]any) map[string]any {
	out := make(map[string]any, len(stateKeys))
	meta := map[string]any{}
	for k, v := range doc {
		if slices.Contains(stateKeys, k) {
			out[k] = v
		} else {
			meta[k] = v
		}
	}
	for _, k := range stateKeys {
		if _, ok := out[k]; !ok {
			out[k] = nil
		}
	}
	if len(meta) > 0 {
		ts, _ := out["timestamps"].(map[string]any)
		if ts == nil {
			ts = map[string]any{}
		}
		ts["meta"] = meta
		out["timestamps"] = ts
	}
	return out
}

func (s *Server) getState(c *gin.Context) {
	t := currentTask(c)
	doc := map[string]any{}
	raw, at, err := s.Store.GetState(c.Request.Context(), t.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.storeFailure(c, err, "get state")
		return
	}
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &doc)
	}
	doc = stateShape(doc)
	live, ok, err := s.liveState(c.Request.Context(), t)
	if err != nil {
		s.logger(c).Warn("state query failed; answering from the store", "error", err)
	}
	if ok {
		doc["status"], doc["progress"], doc["current_stage"] = live.Status, live.Progress, live.Stage
		doc["live"] = live
	}
	updated := any(nil)
	if !at.IsZero() {
		updated = task.FormatTime(at)
	}
	c.JSON(http.StatusOK, gin.H{"task_id": t.ID, "state": doc, "updated_at": updated, "live": ok})
}

// fileCategories names the by_type buckets of GET /files a path falls in,
// decided by its suffix: code (.py), config, docs, and tests (any path
// containing "test"); a path may be in several, and "other" holds exactly the
// paths in none of them.
func fileCategories(p string) []string {
	var cats []string
	lp := strings.ToLower(p)
	if strings.HasSuffix(lp, ".py") {
		cats = append(cats, "code")
	}
	for _, ext := range []string{".json", ".yaml", ".yml", ".toml", ".env", ".cfg", ".ini"} {
		if strings.HasSuffix(lp, ext) {
			cats = append(cats, "config")
			break
		}
	}
	for _, ext := range []string{".md", ".txt", ".rst"} {
		if strings.HasSuffix(lp, ext) {
			cats = append(cats, "docs")
			break
		}
	}
	if strings.Contains(lp, "test") {
		cats = append(cats, "tests")
	}
	if len(cats) == 0 {
		cats = append(cats, "other")
	}
	return cats
}

var languages = map[string]string{
	".py": "python", ".js": "javascript", ".jsx": "javascript", ".ts": "typescript", ".tsx": "typescript",
	".html": "html", ".css": "css", ".json": "json", ".yaml": "yaml", ".yml": "yaml", ".md": "markdown",
	".txt": "text", ".sh": "bash", ".sql": "sql", ".java": "java", ".cpp": "cpp", ".c": "c", ".go": "go",
	".rs": "rust", ".rb": "ruby", ".php": "php", ".toml": "toml",
}

// maxFilesPage is the largest ?files_limit of GET /files.
const maxFilesPage = 1000

func languageOf(p string) string {
	if l, ok := languages[strings.ToLower(path.Ext(p))]; ok {
		return l
	}
	return "text"
}

// listFiles answers {task_id, total, by_type, all_files, files, next_cursor}.
// all_files and every by_type list are plain path strings and always name
// every file of the task (at most MAX_TASK_FILES): browser clients and
// scripts written for that shape send limit and order here and read the
// lists literally, so those parameters are ignored. files carries each
// file's metadata (path, size, sha256, mime_type, language, updated_at) in
// path order and is the only list that pages: ?files_limit=N (1..1000)
// returns at most N entries after ?files_cursor (the last path of the
// previous page, as next_cursor gives it). total is always the task's file
// count.
func (s *Server) listFiles(c *gin.Context) {
	t := currentTask(c)
	limit := 0
	if raw := c.Query("files_limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxFilesPage {
			fail(c, http.StatusBadRequest, fmt.Sprintf("files_limit must be a whole number between 1 and %d", maxFilesPage))
			return
		}
		limit = n
	}
	files, err := s.Store.ListFiles(c.Request.Context(), t.ID)
	if err != nil {
		s.storeFailure(c, err, "list files")
		return
	}
	byType := map[string][]string{"code": {}, "config": {}, "docs": {}, "tests": {}, "other": {}}
	all := make([]string, 0, len(files))
	for _, f := range files {
		all = append(all, f.Path)
		for _, cat := range fileCategories(f.Path) {
			byType[cat] = append(byType[cat], f.Path)
		}
	}
	page, next := filesPage(files, c.Query("files_cursor"), limit)
	meta := make([]gin.H, 0, len(page))
	for _, f := range page {
		meta = append(meta, gin.H{"path": f.Path, "size": f.Size, "sha256": f.SHA256, "mime_type": f.MimeType,
			"language": languageOf(f.Path), "updated_at": task.FormatTime(f.UpdatedAt)})
	}
	c.JSON(http.StatusOK, gin.H{"task_id": t.ID, "total": len(files), "by_type": byType, "all_files": all,
		"files": meta, "next_cursor": next})
}

// filesPage returns the files after the path cursor (files are sorted by
// path) and, when limit > 0 cuts the list short, the cursor of the next page
// (nil on the last page). limit 0 means no limit.
func filesPage(files []store.File, cursor string, limit int) ([]store.File, any) {
	start := 0
	if cursor != "" {
		start, _ = slices.BinarySearchFunc(files, cursor, func(f store.File, p string) int { return strings.Compare(f.Path, p) })
		if start < len(files) && files[start].Path == cursor {
			start++
		}
	}
	files = files[start:]
	if limit == 0 || len(files) <= limit {
		return files, nil
	}
	return files[:limit], files[limit-1].Path
}

// getFile returns one file by its exact path (no fuzzy matching). Text comes
// as UTF-8; other bytes as base64. ?raw=1 streams the bytes as a download.
func (s *Server) getFile(c *gin.Context) {
	t := currentTask(c)
	p, err := workspace.CleanPath(strings.TrimPrefix(c.Param("path"), "/"))
	if err != nil {
		fail(c, http.StatusBadRequest, err.Error())
		return
	}
	f, err := s.Store.GetFile(c.Request.Context(), t.ID, p)
	if errors.Is(err, store.ErrNotFound) {
		fail(c, http.StatusNotFound, "File not found")
		return
	}
	if err != nil {
		s.storeFailure(c, err, "get file")
		return
	}
	if c.Query("raw") == "1" || c.Query("raw") == "true" {
		c.Header("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(path.Base(f.Path), `"`, "")+`"`)
		c.Data(http.StatusOK, "application/octet-stream", f.Content)
		return
	}
	body := gin.H{"path": f.Path, "size": f.Size, "sha256": f.SHA256, "mime_type": f.MimeType,
		"language": languageOf(f.Path), "updated_at": task.FormatTime(f.UpdatedAt)}
	if utf8.Valid(f.Content) {
		body["content"], body["encoding"], body["is_binary"] = string(f.Content), "utf-8", false
	} else {
		body["content"], body["encoding"], body["is_binary"] = base64.StdEncoding.EncodeToString(f.Content), "base64", true
	}
	c.JSON(http.StatusOK, body)
}

// getPatch returns the current patch against the template baseline.
func (s *Server) getPatch(c *gin.Context) {
	t := currentTask(c)
	p, err := project.Patch(c.Request.Context(), s.Store, t.ID)
	if err != nil {
		s.storeFailure(c, err, "build patch")
		return
	}
	c.JSON(http.StatusOK, gin.H{"task_id": t.ID, "diff": p.Diff, "changed_files": p.Changes, "stats": p.Stats})
}
