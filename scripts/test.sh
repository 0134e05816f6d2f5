#!/usr/bin/env bash
# Run the whole suite against SQLite and against PostgreSQL, with a real Redis.
# The PostgreSQL run creates a throwaway database and drops it afterwards (tests/conftest.py).
set -uo pipefail
BIN=.venv/bin
PG_URL="${PG_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
status=0
if [ "${1:-all}" != "postgres" ]; then
  echo "=== pytest on SQLite ==="
  PORTAL_TEST_DATABASE_URL=sqlite "$BIN/pytest" -q ${PYTEST_ARGS:-} || status=1
fi
echo "=== pytest on PostgreSQL ($PG_URL) ==="
PORTAL_TEST_DATABASE_URL="$PG_URL" "$BIN/pytest" -q ${PYTEST_ARGS:-} || status=1
exit $status
