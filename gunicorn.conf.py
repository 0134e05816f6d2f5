"""gunicorn settings for the portal: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every value can be changed by the environment (see README "Deployment"): GUNICORN_BIND, WEB_CONCURRENCY,
GUNICORN_THREADS, GUNICORN_TIMEOUT, GUNICORN_GRACEFUL_TIMEOUT, GUNICORN_ACCESS_LOG, PROMETHEUS_MULTIPROC_DIR.
"""
import json
import multiprocessing
import os
import shutil
import tempfile

# --- where and how many -------------------------------------------------------------------------------------
bind = os.environ.get("GUNICORN_BIND", f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}")
# Requests mostly wait for PostgreSQL: a few processes with threads each. 2 x CPU + 1 processes, at most 8.
workers = int(os.environ.get("WEB_CONCURRENCY") or min(8, multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
# --- time ---------------------------------------------------------------------------------------------------
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))                  # a stuck worker is replaced
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))  # SIGTERM: finish requests in flight
keepalive = 5                     # behind a load balancer, keep-alive shorter than its idle timeout
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))   # recycle workers now and then
max_requests_jitter = 200
# The app is built in each worker (no preload): database pools and Redis connections never cross a fork.
preload_app = False
# Behind a proxy: which addresses may set X-Forwarded-*; the portal itself trusts PORTAL_TRUSTED_PROXIES hops.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# --- logs ---------------------------------------------------------------------------------------------------
# The portal writes one JSON line per request itself (method, route template, status, duration, user and
# company ids, request id). gunicorn's access log is off by default; GUNICORN_ACCESS_LOG=- writes it as JSON too.
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
access_log_format = json.dumps({
    "event": "access", "remote": "%(h)s", "method": "%(m)s", "path": "%(U)s", "status": "%(s)s",
    "bytes": "%(B)s", "duration_ms": "%(M)s", "request_id": "%({x-request-id}o)s", "agent": "%(a)s"})

if os.environ.get("PORTAL_LOG_FORMAT", "json" if os.environ.get("PORTAL_ENV") == "production" else "text") == "json":
    # gunicorn's own lines (start, worker boot and exit, timeouts) as JSON too, like the portal's
    logconfig_dict = {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"json": {"()": "portal.ops.logs.JsonFormatter"}, "raw": {"format": "%(message)s"}},
        "root": {"level": "INFO", "handlers": ["console"]},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json",
                                 "stream": "ext://sys.stderr"},
                     "stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
                     "stdout": {"class": "logging.StreamHandler", "formatter": "raw",
                                "stream": "ext://sys.stdout"}},
        "loggers": {"gunicorn.error": {"level": loglevel.upper(), "handlers": ["stderr"], "propagate": False},
                    # the access line is JSON already (access_log_format); off unless GUNICORN_ACCESS_LOG is set
                    "gunicorn.access": {"level": "INFO" if accesslog else "WARNING", "handlers": ["stdout"],
                                        "propagate": False}},
    }
# gunicorn 23+ opens a control socket in $HOME by default: one per instance, or none (two on a host would clash)
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket

# --- Prometheus multiprocess mode ---------------------------------------------------------------------------
# Each worker writes its counters and histograms to files in this folder; /metrics adds them up. It must be set
# before the app (and prometheus_client) is imported in the workers, and emptied when the server starts.
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if not _metrics_dir:
    _metrics_dir = os.path.join(tempfile.gettempdir(), f"portal-metrics-{os.getpid()}")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir


def on_starting(server):
    shutil.rmtree(_metrics_dir, ignore_errors=True)  # stale files of a previous run would add up wrongly
    os.makedirs(_metrics_dir, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, _metrics_dir)
