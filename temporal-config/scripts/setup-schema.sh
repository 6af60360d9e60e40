#!/bin/sh
# One-shot job (temporal-schema in docker-compose.yml): creates Temporal's two
# PostgreSQL databases if missing and brings their schemas to the version this
# admin-tools image ships. Safe to run on every `docker compose up`:
# update-schema only applies versions not yet applied.
# `aiplatform cluster` runs it too, with temporal-sql-tool from `make temporal-server`
# first on PATH and SCHEMA_DIR pointing at that build's schema files.
set -eu
# SQL_PASSWORD may be empty (trust authentication), but must be set.
: "${POSTGRES_SEEDS:?}" "${DB_PORT:=5432}" "${POSTGRES_USER:?}" "${SQL_PASSWORD?}"
: "${DBNAME:=temporal}" "${VISIBILITY_DBNAME:=temporal_visibility}"
schemas=${SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}

sql() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"; }

for db in "$DBNAME" "$VISIBILITY_DBNAME"; do
  dir=temporal
  [ "$db" = "$VISIBILITY_DBNAME" ] && dir=visibility
  # "create" fails when the database exists, which is the normal case after
  # the first start; a real problem (auth, network) fails update-schema below.
  sql --db "$db" create 2>/dev/null || echo "database $db exists"
  sql --db "$db" setup-schema -v 0.0 2>/dev/null || echo "schema version table of $db exists"
  sql --db "$db" update-schema -d "$schemas/$dir/versioned"
done
echo "Temporal schemas are up to date"
