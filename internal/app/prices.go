package app

import (
	"fmt"
	"log/slog"
	"slices"

	"ai-platform/internal/config"
	"ai-platform/internal/pricing"
)

// workerPrices is the worker's price table (LLM_PRICES over the built-in
// one; config.Load has refused a bad table already). A configured model
// the table does not price is logged once here rather than on every call:
// its calls are recorded with cost 0, and a budget in US dollars cannot
// stop them.
func workerPrices(cfg config.Config, log *slog.Logger) (pricing.Table, error) {
	prices, err := pricing.Parse(cfg.LLMPrices)
	if err != nil {
		return pricing.Table{}, fmt.Errorf("LLM_PRICES: %w", err)
	}
	var unpriced []string
	for _, m := range append([]string{cfg.LLMModel}, cfg.LLMFallbackModels...) {
		if _, ok := prices.Price(m); !ok && !slices.Contains(unpriced, m) {
			unpriced = append(unpriced, m)
		}
	}
	if len(unpriced) > 0 {
		log.Warn("models without a price: their calls cost 0 (add them to LLM_PRICES)", "models", unpriced)
	}
	return prices, nil
}
