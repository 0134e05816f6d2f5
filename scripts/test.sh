#!/usr/bin/env bash
# Run the whole suite against SQLite and against PostgreSQL, with a real Redis.
# The PostgreSQL run creates a throwaway database and drops it afterwards (tests/conftest.py); each run has a
# Redis of its own, so the two runs go side by side (one per core): the SQLite run's output is printed when both
# are done. TEST_SERIAL=1 runs them one after the other.
# --split-dialects (tests/conftest.py): what does not depend on the database runs in one of the two runs only —
# the browser tests (marker e2e) in the PostgreSQL run, the tests marked dialect_free (checked to send no SQL) in
# the SQLite run — so every test runs, the database-specific ones on both. `./scripts/test.sh postgres` and
# `make test-sqlite` run everything on their one database.
set -uo pipefail
BIN=.venv/bin
SPLIT=--split-dialects
PG_URL="${PG_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
status=0
if [ "${1:-all}" = "postgres" ]; then
  echo "=== pytest on PostgreSQL ($PG_URL) ==="
  PORTAL_TEST_DATABASE_URL="$PG_URL" "$BIN/pytest" -q ${PYTEST_ARGS:-} || status=1
  exit $status
fi
if [ -n "${TEST_SERIAL:-}" ]; then
  echo "=== pytest on SQLite ==="
  PORTAL_TEST_DATABASE_URL=sqlite "$BIN/pytest" -q $SPLIT ${PYTEST_ARGS:-} || status=1
  echo "=== pytest on PostgreSQL ($PG_URL) ==="
  PORTAL_TEST_DATABASE_URL="$PG_URL" "$BIN/pytest" -q $SPLIT ${PYTEST_ARGS:-} || status=1
  exit $status
fi
sqlite_log=$(mktemp)
pg2_log=$(mktemp)
trap 'rm -f "$sqlite_log" "$pg2_log"' EXIT
PORTAL_TEST_DATABASE_URL=sqlite "$BIN/pytest" -q -p no:cacheprovider $SPLIT ${PYTEST_ARGS:-} >"$sqlite_log" 2>&1 &
sqlite_pid=$!
if [ -n "${TEST_PG_ONE_PROCESS:-}" ]; then
  echo "=== pytest on PostgreSQL ($PG_URL); SQLite runs beside it ==="
  PORTAL_TEST_DATABASE_URL="$PG_URL" "$BIN/pytest" -q -p no:cacheprovider $SPLIT ${PYTEST_ARGS:-} || status=1
else
  # The PostgreSQL run is the long one: two processes (tests/conftest.py --part), each with its own database,
  # Redis and servers, beside the SQLite run. TEST_PG_ONE_PROCESS=1 runs it in one.
  PORTAL_TEST_DATABASE_URL="$PG_URL" "$BIN/pytest" -q -p no:cacheprovider $SPLIT --part 2 ${PYTEST_ARGS:-} \
    >"$pg2_log" 2>&1 &
  pg2_pid=$!
  echo "=== pytest on PostgreSQL ($PG_URL), part 1 of 2; part 2 and SQLite run beside it ==="
  PORTAL_TEST_DATABASE_URL="$PG_URL" "$BIN/pytest" -q -p no:cacheprovider $SPLIT --part 1 ${PYTEST_ARGS:-} || status=1
  wait "$pg2_pid" || status=1
  echo "=== pytest on PostgreSQL, part 2 of 2 ==="
  cat "$pg2_log"
fi
wait "$sqlite_pid" || status=1
echo "=== pytest on SQLite ==="
cat "$sqlite_log"
exit $status
