-- Secrets the platform generates for itself when the operator set none
-- (issue 15): API_KEY_HASH_SECRET, unset in development, is generated once
-- and kept here, so that every API process, on any host, hashes a key to
-- the same owner, and wiping a DATA_DIR orphans no task.
--
-- A row is written once (INSERT ... ON CONFLICT DO NOTHING) and never
-- updated by the platform: changing a value re-keys every owner hash.
CREATE TABLE platform_secrets (
    name       text COLLATE "C" PRIMARY KEY,
    value      text NOT NULL CHECK (length(value) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
