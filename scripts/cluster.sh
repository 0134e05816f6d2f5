#!/usr/bin/env bash
# A multi-host topology on one machine: every portal process is a "host" of its own (own instance folder, no
# shared local files), documents in S3 (a moto server standing in for S3/MinIO), one PostgreSQL, one Redis.
#
#   scripts/cluster.sh run              start everything, print the addresses, stop everything on Ctrl-C
#   scripts/cluster.sh start | stop | status
#   scripts/cluster.sh stop-one NAME    stop one part (web1 web2 worker1 worker2 scheduler redis s3)
#   scripts/cluster.sh start-one NAME   start it again
#
# Parts: web1, web2 (gunicorn -c gunicorn.conf.py), worker1 (timed, credit, mail, default), worker2 (documents,
# timed), scheduler, redis (private redis-server, append-only file), s3 (moto_server). `flask db upgrade` runs
# once, before the web servers start (never by every web process).
# Settings (environment): CLUSTER_DIR, PORTAL_DATABASE_URL (default: a database portal_cluster on the local
# PostgreSQL, created when missing), WEB1_PORT, WEB2_PORT, CLUSTER_REDIS_PORT, CLUSTER_S3_PORT, WEB_CONCURRENCY.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${BIN:-$ROOT/.venv/bin}"
RUN_DIR="${CLUSTER_DIR:-$ROOT/instance/cluster}"
WEB1_PORT="${WEB1_PORT:-8001}"
WEB2_PORT="${WEB2_PORT:-8002}"
REDIS_PORT="${CLUSTER_REDIS_PORT:-6391}"
S3_PORT="${CLUSTER_S3_PORT:-9091}"
DB_URL="${PORTAL_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/portal_cluster}"
mkdir -p "$RUN_DIR/pids" "$RUN_DIR/logs" "$RUN_DIR/redis"
[ -f "$RUN_DIR/secret_key" ] || "$BIN/python" -c 'import secrets; print(secrets.token_hex(32))' >"$RUN_DIR/secret_key"

export FLASK_APP=wsgi.py
export PORTAL_DATABASE_URL="$DB_URL"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export PORTAL_JOBS_MODE=rq
export PORTAL_SECRET_KEY="$(cat "$RUN_DIR/secret_key")"   # the same on every host: a session works on both webs
export PORTAL_STORAGE=s3
export PORTAL_S3_BUCKET="${PORTAL_S3_BUCKET:-portal-documents}"
export PORTAL_S3_ENDPOINT_URL="http://127.0.0.1:$S3_PORT"
export PORTAL_S3_ACCESS_KEY_ID=cluster PORTAL_S3_SECRET_ACCESS_KEY=cluster PORTAL_S3_REGION=us-east-1
export PORTAL_S3_ADDRESSING_STYLE=path
export PORTAL_LOG_FORMAT="${PORTAL_LOG_FORMAT:-json}"
export PORTAL_METRICS_TOKEN="${PORTAL_METRICS_TOKEN:-cluster-metrics}"
export PORTAL_JOB_HEARTBEAT_TTL="${PORTAL_JOB_HEARTBEAT_TTL:-10}"
export WEB_CONCURRENCY="${WEB_CONCURRENCY:-2}" GUNICORN_THREADS="${GUNICORN_THREADS:-4}"

PARTS=(redis s3 web1 web2 worker1 worker2 scheduler)

wait_port() {  # port, name
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "$2 did not open port $1; see $RUN_DIR/logs/$2.log" >&2
  return 1
}

spawn() {  # name, command...: a process group of its own, a "host" folder of its own
  local name="$1"; shift
  local host="$RUN_DIR/hosts/$name"
  mkdir -p "$host/files" "$host/metrics"
  (cd "$ROOT" && PORTAL_INSTANCE_PATH="$host" PORTAL_UPLOAD_FOLDER="$host/files" \
     PROMETHEUS_MULTIPROC_DIR="$host/metrics" exec setsid "$@") >>"$RUN_DIR/logs/$name.log" 2>&1 &
  echo $! >"$RUN_DIR/pids/$name.pid"
}

running() { [ -f "$RUN_DIR/pids/$1.pid" ] && kill -0 "$(cat "$RUN_DIR/pids/$1.pid")" 2>/dev/null; }

start_one() {
  local name="$1"
  if running "$name"; then echo "$name is running"; return 0; fi
  case "$name" in
    redis)  spawn redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly yes \
              --dir "$RUN_DIR/redis"; wait_port "$REDIS_PORT" redis ;;
    s3)     spawn s3 "$BIN/moto_server" -H 127.0.0.1 -p "$S3_PORT"; wait_port "$S3_PORT" s3 ;;
    web1)   spawn web1 "$BIN/gunicorn" -c gunicorn.conf.py --bind "127.0.0.1:$WEB1_PORT" wsgi:app
            wait_port "$WEB1_PORT" web1 ;;
    web2)   spawn web2 "$BIN/gunicorn" -c gunicorn.conf.py --bind "127.0.0.1:$WEB2_PORT" wsgi:app
            wait_port "$WEB2_PORT" web2 ;;
    worker1) spawn worker1 "$BIN/flask" jobs worker -q timed -q credit -q mail -q default ;;
    worker2) spawn worker2 "$BIN/flask" jobs worker -q documents -q timed ;;
    scheduler) spawn scheduler "$BIN/flask" jobs scheduler ;;
    *) echo "unknown part $name (${PARTS[*]})" >&2; return 2 ;;
  esac
  echo "started $name (pid $(cat "$RUN_DIR/pids/$name.pid"))"
}

stop_one() {
  local name="$1" pid
  [ -f "$RUN_DIR/pids/$name.pid" ] || return 0
  pid="$(cat "$RUN_DIR/pids/$name.pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$RUN_DIR/pids/$name.pid"
  echo "stopped $name"
}

create_db() {
  "$BIN/python" - "$DB_URL" <<'PY'
import sys
import sqlalchemy as sa
url = sa.engine.make_url(sys.argv[1].replace("postgresql://", "postgresql+psycopg://", 1))
if url.get_backend_name() == "postgresql":
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        if not c.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}).first():
            c.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
PY
}

start_all() {
  start_one redis
  start_one s3
  create_db
  (cd "$ROOT" && PORTAL_INSTANCE_PATH="$RUN_DIR/hosts/deploy" "$BIN/flask" db upgrade) >>"$RUN_DIR/logs/deploy.log" 2>&1
  (cd "$ROOT" && PORTAL_INSTANCE_PATH="$RUN_DIR/hosts/deploy" "$BIN/flask" files create-bucket) >>"$RUN_DIR/logs/deploy.log" 2>&1
  for p in web1 web2 worker1 worker2 scheduler; do start_one "$p"; done
  cat >"$RUN_DIR/cluster.env" <<ENV
WEB1=http://127.0.0.1:$WEB1_PORT
WEB2=http://127.0.0.1:$WEB2_PORT
REDIS_URL=$REDIS_URL
S3=$PORTAL_S3_ENDPOINT_URL
BUCKET=$PORTAL_S3_BUCKET
METRICS_TOKEN=$PORTAL_METRICS_TOKEN
ENV
}

stop_all() { for ((i=${#PARTS[@]}-1; i>=0; i--)); do stop_one "${PARTS[$i]}"; done; }

status() { for p in "${PARTS[@]}"; do if running "$p"; then echo "$p: running"; else echo "$p: stopped"; fi; done; }

case "${1:-run}" in
  start) start_all ;;
  stop) stop_all ;;
  status) status ;;
  start-one) start_one "$2" ;;
  stop-one) stop_one "$2" ;;
  run)
    trap stop_all EXIT
    trap 'exit 130' INT TERM
    start_all
    echo
    echo "  web 1: http://127.0.0.1:$WEB1_PORT/   web 2: http://127.0.0.1:$WEB2_PORT/   (readiness: /readyz)"
    echo "  logs: $RUN_DIR/logs/   stop: Ctrl-C"
    while sleep 3600; do :; done ;;
  *) echo "usage: $0 run|start|stop|status|start-one NAME|stop-one NAME" >&2; exit 2 ;;
esac
