package app

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"ai-platform/internal/config"
)

func TestWorkerPricesLogsUnpricedModelsOnce(t *testing.T) {
	tests := []struct {
		name      string
		cfg       config.Config
		wantLog   string // "" means nothing logged
		wantPrice string
	}{
		{"default model is priced", config.Config{LLMModel: "gpt-4o-mini"}, "", "gpt-4o-mini"},
		{"override prices a local model", config.Config{LLMModel: "local", LLMPrices: "local=0/0"}, "", "local"},
		{"unpriced primary and fallbacks, each once",
			config.Config{LLMModel: "local", LLMFallbackModels: []string{"gpt-4o", "other", "local"}},
			"models=\"[local other]\"", "gpt-4o"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			prices, err := workerPrices(tt.cfg, slog.New(slog.NewTextHandler(&buf, nil)))
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := prices.Price(tt.wantPrice); !ok {
				t.Errorf("%s is not priced", tt.wantPrice)
			}
			got := buf.String()
			if tt.wantLog == "" && got != "" || tt.wantLog != "" && (!strings.Contains(got, tt.wantLog) || strings.Count(got, "\n") != 1) {
				t.Errorf("log = %q, want one line with %q", got, tt.wantLog)
			}
		})
	}
	if _, err := workerPrices(config.Config{LLMPrices: "bad"}, slog.New(slog.DiscardHandler)); err == nil ||
		!strings.Contains(err.Error(), `LLM_PRICES: entry "bad"`) {
		t.Errorf("a bad table: %v", err)
	}
}
