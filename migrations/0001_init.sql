-- Initial schema of the platform store (internal/store/postgres*.go).
--
-- Names are unqualified on purpose: every table lands in the first schema of
-- the connection's search_path, which is how tests get one schema per run.
--
-- Text columns that the store sorts or compares against Go strings use
-- COLLATE "C" so that ORDER BY matches Go's byte-wise string order whatever
-- the database's default collation is.

CREATE TABLE tasks (
    id                uuid PRIMARY KEY,
    user_id           text COLLATE "C" NOT NULL DEFAULT '',
    owner_user_id     text COLLATE "C" NOT NULL DEFAULT '',
    owner_key_hash    text COLLATE "C" NOT NULL DEFAULT '',
    client_ip         text NOT NULL DEFAULT '',
    request_id        text NOT NULL DEFAULT '',
    idempotency_key   text COLLATE "C" NOT NULL DEFAULT '',
    description       text NOT NULL,
    status            text COLLATE "C" NOT NULL,
    progress          double precision NOT NULL DEFAULT 0,
    current_stage     text NOT NULL DEFAULT '',
    codex_version     text NOT NULL DEFAULT '',
    codex_hash        text NOT NULL DEFAULT '',
    template_id       text NOT NULL DEFAULT '',
    template_hash     text NOT NULL DEFAULT '',
    -- JSON null (not SQL NULL) round-trips a nil Go slice or map exactly.
    pending_questions jsonb NOT NULL DEFAULT 'null',
    provided_answers  jsonb NOT NULL DEFAULT 'null',
    resume_from_stage text NOT NULL DEFAULT '',
    result            jsonb,
    error             text NOT NULL DEFAULT '',
    failure_reason    text NOT NULL DEFAULT '',
    iterations        integer NOT NULL DEFAULT 0,
    max_iterations    integer NOT NULL DEFAULT 0,
    tokens_in         bigint NOT NULL DEFAULT 0,
    tokens_out        bigint NOT NULL DEFAULT 0,
    -- Kept current by PutFiles and AppendArtifact under the row lock.
    files_count       integer NOT NULL DEFAULT 0,
    files_bytes       bigint NOT NULL DEFAULT 0,
    artifacts_count   integer NOT NULL DEFAULT 0,
    generation        integer NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    completed_at      timestamptz,
    version           bigint NOT NULL DEFAULT 1
);

-- Keyset pagination (created_at DESC, id DESC) per owner dimension; the plain
-- one serves unfiltered lists (backward scan) and Purge (forward scan).
CREATE INDEX tasks_owner_key_created_idx ON tasks (owner_key_hash, created_at DESC, id DESC);
CREATE INDEX tasks_owner_user_created_idx ON tasks (owner_user_id, created_at DESC, id DESC);
CREATE INDEX tasks_user_created_idx ON tasks (user_id, created_at DESC, id DESC);
CREATE INDEX tasks_status_created_idx ON tasks (status, created_at DESC, id DESC);
CREATE INDEX tasks_created_idx ON tasks (created_at, id);
CREATE UNIQUE INDEX tasks_idempotency_key_idx ON tasks (owner_key_hash, owner_user_id, idempotency_key)
    WHERE idempotency_key <> '';

-- Event and artifact ids are deterministic (derived from task, run and step),
-- so the primary key on id is what makes a retried append a no-op. seq gives
-- a stable order and the pagination cursor.
CREATE TABLE task_events (
    seq        bigint GENERATED ALWAYS AS IDENTITY,
    id         uuid PRIMARY KEY,
    task_id    uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    type       text COLLATE "C" NOT NULL,
    payload    jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL
);
CREATE INDEX task_events_task_seq_idx ON task_events (task_id, seq);

CREATE TABLE task_artifacts (
    seq         bigint GENERATED ALWAYS AS IDENTITY,
    id          uuid PRIMARY KEY,
    task_id     uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    type        text COLLATE "C" NOT NULL,
    produced_by text NOT NULL DEFAULT '',
    payload     jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL
);
CREATE INDEX task_artifacts_task_seq_idx ON task_artifacts (task_id, seq);
CREATE INDEX task_artifacts_task_type_seq_idx ON task_artifacts (task_id, type, seq);

CREATE TABLE task_state (
    task_id    uuid PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
    state      jsonb NOT NULL,
    updated_at timestamptz NOT NULL
);

-- Raw bytes in content: project files may be binary or not valid UTF-8.
CREATE TABLE task_files (
    task_id    uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    path       text COLLATE "C" NOT NULL,
    content    bytea NOT NULL,
    mime_type  text NOT NULL DEFAULT '',
    sha256     text NOT NULL,
    size_bytes bigint NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (task_id, path)
);

CREATE TABLE task_container_snapshots (
    task_id    uuid PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
    snapshot   jsonb NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE api_usage_daily (
    key_hash     text COLLATE "C" NOT NULL,
    usage_date   date NOT NULL,
    tokens_in    bigint NOT NULL DEFAULT 0,
    tokens_out   bigint NOT NULL DEFAULT 0,
    command_runs bigint NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (key_hash, usage_date)
);
-- UsageSince and Purge select by date across owners.
CREATE INDEX api_usage_daily_date_idx ON api_usage_daily (usage_date);

-- One row per applied UsageCharge: its id makes a retried charge a no-op.
CREATE TABLE usage_charges (
    id         text COLLATE "C" PRIMARY KEY,
    key_hash   text COLLATE "C" NOT NULL,
    usage_date date NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX usage_charges_date_idx ON usage_charges (usage_date);

CREATE TABLE auth_users (
    id            uuid PRIMARY KEY,
    email         text COLLATE "C" NOT NULL UNIQUE,
    password_hash text NOT NULL,
    is_admin      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE TABLE auth_refresh_sessions (
    id           uuid PRIMARY KEY,
    family_id    uuid NOT NULL,
    user_id      uuid NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
    token_hash   text COLLATE "C" NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    rotated_at   timestamptz,
    last_used_at timestamptz,
    user_agent   text NOT NULL DEFAULT '',
    ip_address   text NOT NULL DEFAULT ''
);
CREATE INDEX auth_refresh_sessions_family_idx ON auth_refresh_sessions (family_id);
CREATE INDEX auth_refresh_sessions_user_idx ON auth_refresh_sessions (user_id);
CREATE INDEX auth_refresh_sessions_expires_idx ON auth_refresh_sessions (expires_at);
