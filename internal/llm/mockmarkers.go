package llm

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// markerPattern matches "[mock:name]" and "[mock:name=N]" in a description.
var markerPattern = regexp.MustCompile(`(?i)\[mock:([a-z-]+)(?:=(\d{1,6}))?\]`)

// markers are the unhappy paths a description switches on (see Mock).
type markers struct {
	clarify        bool
	reviewFailOnce bool
	failAlways     bool
	reviewReject   bool
	llmError       bool
	transient      bool
	invalidOnce    bool
	invalidAlways  bool
	slow           time.Duration
	sleepyTests    int
	bigMB          int
	// refuse makes the code stage refuse; rateLimitPrimary rate-limits
	// every request on the configured model.
	refuse           bool
	rateLimitPrimary bool
}

// parseMarkers reads the markers of a description. Unknown names are
// ignored; numbers are clamped to their documented range and default to 1.
func parseMarkers(description string) markers {
	var m markers
	for _, match := range markerPattern.FindAllStringSubmatch(description, -1) {
		n := 1
		if match[2] != "" {
			n, _ = strconv.Atoi(match[2])
		}
		switch strings.ToLower(match[1]) {
		case "clarify":
			m.clarify = true
		case "review-fail-once":
			m.reviewFailOnce = true
		case "fail-always":
			m.failAlways = true
		case "review-reject":
			m.reviewReject = true
		case "llm-error":
			m.llmError = true
		case "llm-transient":
			m.transient = true
		case "invalid-json":
			m.invalidOnce = true
		case "invalid-always":
			m.invalidAlways = true
		case "slow":
			m.slow = time.Duration(clamp(n, 1, 600)) * time.Second
		case "sleepy-tests":
			m.sleepyTests = clamp(n, 1, 3600)
		case "big":
			m.bigMB = clamp(n, 1, 20)
		case "refuse":
			m.refuse = true
		case "rate-limit-primary":
			m.rateLimitPrimary = true
		}
	}
	return m
}

// stripMarkers removes the markers, so they do not end up in generated text.
func stripMarkers(description string) string {
	return markerPattern.ReplaceAllString(description, " ")
}

func clamp(n, lo, hi int) int {
	return max(lo, min(n, hi))
}
