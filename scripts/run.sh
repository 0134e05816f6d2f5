#!/usr/bin/env bash
# Serve the portal with demo data: Redis (if installed), migrations, demo seed, an RQ worker, the
# scheduler and the web server. Ctrl-C stops everything this script started.
set -euo pipefail
HOST="${1:-127.0.0.1}"; PORT="${2:-5000}"
BIN=.venv/bin
export FLASK_APP=wsgi.py
pids=()
cleanup() { for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; }
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${REDIS_URL:-}" ]; then
  if "$BIN/python" -c "import redis,sys; redis.Redis(port=6379, socket_connect_timeout=1).ping()" 2>/dev/null; then
    export REDIS_URL="redis://127.0.0.1:6379/0"
  elif command -v redis-server >/dev/null; then
    mkdir -p instance
    # Append-only file under instance/: queued jobs survive a restart of this Redis (reconcile covers the rest)
    redis-server --port 6390 --bind 127.0.0.1 --save "" --appendonly yes --appendfsync everysec \
      --dir "$PWD/instance" --daemonize no --logfile "$PWD/instance/redis.log" & pids+=($!)
    sleep 0.5
    export REDIS_URL="redis://127.0.0.1:6390/0"
  else
    echo "redis-server is not installed: background jobs will run in-process (see README)."
  fi
fi

"$BIN/flask" db upgrade
"$BIN/flask" demo seed

if [ -n "${REDIS_URL:-}" ]; then
  "$BIN/flask" jobs worker >instance/worker.log 2>&1 & pids+=($!)
  "$BIN/flask" jobs scheduler >instance/scheduler.log 2>&1 & pids+=($!)
  # webhooks have a worker of their own too: a slow receiver never holds up PDFs or mail
  "$BIN/flask" jobs worker -q webhooks >instance/webhooks-worker.log 2>&1 & pids+=($!)
  echo "Worker and scheduler running on $REDIS_URL (logs: instance/worker.log, instance/scheduler.log)"
fi

cat <<MSG

  Procurement Portal: http://$HOST:$PORT/

  Demo sign-ins (password for everyone: portal-demo)
    Buyer  Hartmann Maschinenbau   anna.keller@hartmann.example (admin)
                                   jonas.weber@hartmann.example (procurement)
                                   petra.braun@hartmann.example (approver)
                                   lukas.fischer@hartmann.example (accounts)
    Buyer  Van Dijk Food           daan.bakker@vandijk.example (procurement)
    Supplier Nordstahl Fasteners   mia.schulz@nordstahl.example (sales)
                                   tobias.wolf@nordstahl.example (accounts)
    Supplier Lefèvre Packaging     camille.lefevre@lefevre.example (admin, sales)
    Supplier Polmet Industrial     piotr.zielinski@polmet.example (sales)
    Both   Alpenwerk Hydraulics    lena.huber@alpenwerk.example (sales, procurement)
  (README lists every demo user.)

MSG
# Not exec: this shell stays to stop the worker and the scheduler when the web server stops (Ctrl-C).
"$BIN/gunicorn" -c gunicorn.conf.py --bind "$HOST:$PORT" --workers 2 --threads 4 wsgi:app & pids+=($!)
wait "${pids[-1]}"
