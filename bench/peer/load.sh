#!/usr/bin/env bash
# Create schema, seed, index, add functions; print load time and DB size.
# Env: PGURL (default local peer DB over TCP), MEMBERS (default 5500000).
set -euo pipefail
cd "$(dirname "$0")"
PGURL=${PGURL:-postgres://peer:peer@127.0.0.1:5432/peer?sslmode=disable}
MEMBERS=${MEMBERS:-5500000}
psql_() { psql "$PGURL" -X -q -v ON_ERROR_STOP=1 "$@"; }

t0=$(date +%s)
psql_ -f schema.sql
psql_ -v members="$MEMBERS" -f seed.sql
psql_ -f feed.sql
t1=$(date +%s)
psql_ -f indexes.sql
t2=$(date +%s)
psql_ -f functions.sql
echo "seed: $((t1 - t0)) s, indexes+vacuum analyze: $((t2 - t1)) s, total: $((t2 - t0)) s (members=$MEMBERS)"
psql_ -At -c "SELECT 'db size: ' || pg_size_pretty(pg_database_size(current_database()))"
psql_ -c "SELECT relname, n_live_tup, pg_size_pretty(pg_total_relation_size(relid)) AS total
          FROM pg_stat_user_tables ORDER BY pg_total_relation_size(relid) DESC"
