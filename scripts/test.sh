#!/usr/bin/env bash
# Run the whole suite against SQLite and against PostgreSQL, with a real Redis.
# The PostgreSQL run creates a throwaway database and drops it afterwards (tests/conftest.py); each run has a
# Redis of its own, so the two runs go side by side (one per core): the SQLite run's output is printed when both
# are done. TEST_SERIAL=1 runs them one after the other.
set -uo pipefail
BIN=.venv/bin
PG_URL="${PG_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
status=0
if [ "${1:-all}" = "postgres" ]; then
  echo "=== pytest on PostgreSQL ($PG_URL) ==="
  PORTAL_TEST_DATABASE_URL="$PG_URL" "$BIN/pytest" -q ${PYTEST_ARGS:-} || status=1
  exit $status
fi
if [ -n "${TEST_SERIAL:-}" ]; then
  echo "=== pytest on SQLite ==="
  PORTAL_TEST_DATABASE_URL=sqlite "$BIN/pytest" -q ${PYTEST_ARGS:-} || status=1
  echo "=== pytest on PostgreSQL ($PG_URL) ==="
  PORTAL_TEST_DATABASE_URL="$PG_URL" "$BIN/pytest" -q ${PYTEST_ARGS:-} || status=1
  exit $status
fi
sqlite_log=$(mktemp)
trap 'rm -f "$sqlite_log"' EXIT
PORTAL_TEST_DATABASE_URL=sqlite "$BIN/pytest" -q -p no:cacheprovider ${PYTEST_ARGS:-} >"$sqlite_log" 2>&1 &
sqlite_pid=$!
echo "=== pytest on PostgreSQL ($PG_URL); SQLite runs beside it ==="
PORTAL_TEST_DATABASE_URL="$PG_URL" "$BIN/pytest" -q -p no:cacheprovider ${PYTEST_ARGS:-} || status=1
wait "$sqlite_pid" || status=1
echo "=== pytest on SQLite ==="
cat "$sqlite_log"
exit $status
