package api

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"

	"ai-platform/docs"
	"ai-platform/internal/pricing"
	"ai-platform/internal/store"
	"ai-platform/internal/task"
)

// root serves the web UI to browsers and to programs the JSON clients of the
// earlier system read.
func (s *Server) root(c *gin.Context) {
	if s.Web != nil && strings.Contains(c.GetHeader("Accept"), "text/html") {
		s.Web.ServeHTTP(c.Writer, c.Request)
		return
	}
	c.JSON(http.StatusOK, gin.H{
		"message": "ai-platform: durable AI software tasks on Temporal", "version": Version, "status": "operational",
		"endpoints": gin.H{"tasks": "/api/tasks", "templates": "/api/templates", "health": "/health",
			"ready": "/ready", "openapi": "/api/openapi.json", "websocket": "/ws/{task_id}", "ui": "/"},
	})
}

// health is liveness: cheap, and never waits on the database once the
// processing-task count has been read once (see liveCounts).
func (s *Server) health(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "healthy", "timestamp": float64(s.Now().UnixMilli()) / 1000, "version": Version,
		"active_tasks": s.activeTasks(), "active_connections": s.counts.sockets.Load()})
}

// ready checks that the store and Temporal answer.
func (s *Server) ready(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	checks := gin.H{}
	ok := true
	if err := s.Store.Ping(ctx); err != nil {
		checks["store"], ok = "unavailable", false
	} else {
		checks["store"] = "ok"
	}
	if _, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		checks["temporal"], ok = "unavailable", false
	} else {
		checks["temporal"] = "ok"
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	c.JSON(status, gin.H{"status": map[bool]string{true: "ready", false: "not_ready"}[ok], "checks": checks})
}

func (s *Server) openapi(c *gin.Context) {
	doc, err := docs.OpenAPIJSON()
	if err != nil {
		s.logger(c).Error("openapi document", "error", err)
		fail(c, http.StatusInternalServerError, msgInternal)
		return
	}
	c.Data(http.StatusOK, "application/json", doc)
}

// publicConfig tells the web UI what the server supports.
func (s *Server) publicConfig(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{
		"version": Version, "auth_mode": s.Config.AuthMode, "registration_enabled": s.Config.PublicRegistration,
		"max_description_chars": s.Config.MaxDescription, "llm_provider": s.Config.LLMProvider,
		"api_key_required": s.Config.AuthMode != "auth",
		"temporal_ui_url":  nilIfEmpty(s.TemporalUIURL), "temporal_namespace": s.Config.TemporalNamespace,
	})
}

func (s *Server) listTemplates(c *gin.Context) {
	list := s.Catalog.List()
	out := make([]gin.H, 0, len(list))
	for _, t := range list {
		qs := t.Questions
		if qs == nil {
			qs = []task.Question{}
		}
		out = append(out, gin.H{"template_id": t.ID, "description": t.Description, "hash": t.Hash,
			"clarification_questions": qs})
	}
	c.JSON(http.StatusOK, gin.H{"templates": out})
}

// opsStatus is the operator view (admin only).
func (s *Server) opsStatus(c *gin.Context) {
	ctx := c.Request.Context()
	counts, err := s.Store.CountTasksByStatus(ctx)
	if err != nil {
		s.storeFailure(c, err, "count tasks")
		return
	}
	success, failed := counts[task.StatusCompleted], counts[task.StatusFailed]+counts[task.StatusCancelled]
	var successRate, failRate any
	if success+failed > 0 {
		successRate = float64(success) / float64(success+failed)
		failRate = float64(failed) / float64(success+failed)
	}
	running, err := s.Store.ListTasks(ctx, store.TaskFilter{Status: task.StatusProcessing, Limit: 5})
	if err != nil {
		s.storeFailure(c, err, "list running")
		return
	}
	ids := []string{}
	for _, t := range running.Items {
		ids = append(ids, t.ID)
	}
	usage, err := s.Store.UsageSince(ctx, s.Now().Add(-24*time.Hour), 5)
	if err != nil {
		s.storeFailure(c, err, "usage")
		return
	}
	top := []gin.H{}
	var tin, tout, cmds, micros int64
	all, err := s.Store.UsageSince(ctx, s.Now().Add(-24*time.Hour), 0)
	if err != nil {
		s.storeFailure(c, err, "usage")
		return
	}
	for _, u := range all {
		tin, tout, cmds = tin+u.TokensIn, tout+u.TokensOut, cmds+u.CommandRuns
		micros += pricing.Micros(u.CostUSD)
	}
	cost := pricing.FromMicros(micros)
	for _, u := range usage {
		top = append(top, gin.H{"key_hash": u.OwnerKey[:min(12, len(u.OwnerKey))], "tokens_in": u.TokensIn,
			"tokens_out": u.TokensOut, "total_tokens": u.TokensIn + u.TokensOut, "command_runs": u.CommandRuns,
			"cost_usd": pricing.Round(u.CostUSD)})
	}
	reasons, err := s.topFailureReasons(ctx)
	if err != nil {
		s.storeFailure(c, err, "failure reasons")
		return
	}
	avg, err := s.averageDuration(ctx)
	if err != nil {
		s.storeFailure(c, err, "average duration")
		return
	}
	c.JSON(http.StatusOK, gin.H{
		"generated_at": task.FormatTime(s.Now()), "active_tasks": counts[task.StatusProcessing],
		"success_rate": successRate, "fail_rate": failRate, "success_count": success, "fail_count": failed,
		"queued_count": counts[task.StatusQueued], "running_count": counts[task.StatusProcessing],
		"needs_input_count": counts[task.StatusNeedsInput], "paused_count": counts[task.StatusPaused],
		"completed_count": success, "failed_count": failed, "queue_length": counts[task.StatusQueued],
		"active_task_ids":       ids,
		"usage_totals_last_24h": gin.H{"tokens_in": tin, "tokens_out": tout, "command_runs": cmds, "total_tokens": tin + tout, "cost_usd": cost},
		"top_keys_last_24h":     top, "top_failure_reasons": reasons,
		"average_duration_seconds": avg,
		// The LLM totals cover the same 24 hours; per-stage figures are in
		// each task's state document.
		"llm_usage_totals": gin.H{"total_tokens_in": tin, "total_tokens_out": tout, "total_tokens": tin + tout,
			"total_cost_usd": cost},
	})
}

// durationSample is how many of the latest tasks of each terminal status
// /ops/status averages over.
const durationSample = 500

// averageDuration is the mean time from creation to end, in seconds, of the
// latest durationSample completed, failed and cancelled tasks each; nil when
// no task has ended.
func (s *Server) averageDuration(ctx context.Context) (any, error) {
	var sum time.Duration
	n := 0
	for _, st := range []task.Status{task.StatusCompleted, task.StatusFailed, task.StatusCancelled} {
		page, err := s.Store.ListTasks(ctx, store.TaskFilter{Status: st, Limit: durationSample})
		if err != nil {
			return nil, err
		}
		for _, t := range page.Items {
			if t.CompletedAt != nil {
				sum += t.CompletedAt.Sub(t.CreatedAt)
				n++
			}
		}
	}
	if n == 0 {
		return nil, nil
	}
	return sum.Seconds() / float64(n), nil
}

func (s *Server) topFailureReasons(ctx context.Context) ([]gin.H, error) {
	page, err := s.Store.ListTasks(ctx, store.TaskFilter{Status: task.StatusFailed, Limit: 500})
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for _, t := range page.Items {
		counts[t.FailureReason]++
	}
	keys := task.SortedKeys(counts)
	sort.SliceStable(keys, func(i, j int) bool { return counts[keys[i]] > counts[keys[j]] })
	out := []gin.H{}
	for _, k := range keys[:min(5, len(keys))] {
		out = append(out, gin.H{"reason": k, "count": counts[k]})
	}
	return out, nil
}
