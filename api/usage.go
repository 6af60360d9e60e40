package api

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"ai-platform/internal/pricing"
)

// Days GET /api/usage covers: usageDaysDefault unless ?days= says otherwise,
// at most usageDaysMax (usage rows older than TASK_TTL_DAYS are purged
// anyway).
const (
	usageDaysDefault = 7
	usageDaysMax     = 366
)

// getUsage is the caller's own usage per UTC day (the tenant the daily
// quotas count: the API key, or the signed-in user): tokens, command runs
// and LLM cost, newest day first, with the totals of the period and the
// daily quotas. The cost of a day is the sum of its charges, each the sum of
// per-call costs rounded to the micro-dollar, so days add up to the total
// exactly.
func (s *Server) getUsage(c *gin.Context) {
	days := usageDaysDefault
	if raw := c.Query("days"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > usageDaysMax {
			fail(c, http.StatusBadRequest, fmt.Sprintf("days must be a whole number between 1 and %d", usageDaysMax))
			return
		}
		days = n
	}
	p := principalOf(c)
	to := s.Now().UTC()
	from := to.AddDate(0, 0, -(days - 1))
	rows, err := s.Store.UsageDays(c.Request.Context(), p.OwnerKey, from, to)
	if err != nil {
		s.storeFailure(c, err, "usage days")
		return
	}
	out := make([]gin.H, 0, len(rows))
	var tin, tout, cmds, micros int64
	for _, u := range rows {
		tin, tout, cmds = tin+u.TokensIn, tout+u.TokensOut, cmds+u.CommandRuns
		micros += pricing.Micros(u.CostUSD)
		out = append(out, gin.H{"usage_date": u.Day.Format(time.DateOnly), "tokens_in": u.TokensIn,
			"tokens_out": u.TokensOut, "total_tokens": u.TokensIn + u.TokensOut, "command_runs": u.CommandRuns,
			"cost_usd": pricing.Round(u.CostUSD)})
	}
	c.JSON(http.StatusOK, gin.H{
		"from": from.Format(time.DateOnly), "to": to.Format(time.DateOnly), "days": out,
		"totals": gin.H{"tokens_in": tin, "tokens_out": tout, "total_tokens": tin + tout, "command_runs": cmds,
			"cost_usd": pricing.FromMicros(micros)},
		"max_tokens_per_day": s.Config.MaxTokensPerDay, "max_command_runs_per_day": s.Config.MaxCommandRunsPerDay,
	})
}
