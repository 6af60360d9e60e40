package api

import (
	"bytes"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"ai-platform/internal/project"
	"ai-platform/internal/task"
	"ai-platform/internal/workspace"
)

// baseURL is the public URL of this API as the client reached it.
func baseURL(c *gin.Context) string {
	scheme := "http"
	if c.Request.TLS != nil || c.GetHeader("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + c.Request.Host
}

// downloadZip serves the task's files and a manifest as a zip. The zip is
// built in memory: a task's files are bounded by MAX_TASK_BYTES.
func (s *Server) downloadZip(c *gin.Context) {
	t := currentTask(c)
	stored, err := s.Store.GetFiles(c.Request.Context(), t.ID)
	if err != nil {
		s.storeFailure(c, err, "load files")
		return
	}
	files := make([]workspace.File, 0, len(stored))
	for _, f := range stored {
		files = append(files, workspace.File{Path: f.Path, Content: f.Content})
	}
	manifest := map[string]any{
		"task_id": t.ID, "status": t.Status, "created_at": task.FormatTime(t.CreatedAt),
		"updated_at": task.FormatTime(t.UpdatedAt), "iterations": t.Iterations, "files_count": t.FilesCount,
		"artifacts_count": t.ArtifactsCount, "api_base_url": baseURL(c),
	}
	var buf bytes.Buffer
	if err := workspace.WriteTaskZip(&buf, t.ID, files, manifest, t.UpdatedAt); err != nil {
		s.logger(c).Error("building task zip", "error", err)
		fail(c, http.StatusInternalServerError, "Could not build the zip of this task's files")
		return
	}
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="task_%s.zip"`, t.ID))
	c.Data(http.StatusOK, "application/zip", buf.Bytes())
}

// gitExportZip serves patch.diff, apply.sh, README_APPLY.md and
// changed_files.json, computed from the current files and the baseline.
func (s *Server) gitExportZip(c *gin.Context) {
	t := currentTask(c)
	p, err := project.Patch(c.Request.Context(), s.Store, t.ID)
	if err != nil {
		s.storeFailure(c, err, "build patch")
		return
	}
	var buf bytes.Buffer
	if err := workspace.WriteGitExportZip(&buf, t.ID, p); err != nil {
		s.logger(c).Error("building git export", "error", err)
		fail(c, http.StatusInternalServerError, "Could not build the git export")
		return
	}
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="task_%s_git_export.zip"`, t.ID))
	c.Data(http.StatusOK, "application/zip", buf.Bytes())
}
