-- LLM cost and per-task budgets (issue 17).
--
-- Money is numeric(20,6): exact decimal US dollars to the micro-dollar, the
-- precision every cost figure is rounded to (package pricing). The columns
-- are running sums (cost_usd = cost_usd + charge), and numeric adds exactly
-- where double precision would drift by binary rounding over thousands of
-- charges, so the daily total stays equal to the sum of the calls it
-- charged. 20 digits hold 10^14 dollars, far beyond any budget.
ALTER TABLE tasks
    ADD COLUMN cost_usd      numeric(20,6) NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),
    ADD COLUMN budget_usd    numeric(20,6) NOT NULL DEFAULT 0 CHECK (budget_usd >= 0),
    ADD COLUMN budget_tokens bigint NOT NULL DEFAULT 0 CHECK (budget_tokens >= 0),
    ADD COLUMN approve_plan  boolean NOT NULL DEFAULT false;

ALTER TABLE api_usage_daily
    ADD COLUMN cost_usd numeric(20,6) NOT NULL DEFAULT 0;
