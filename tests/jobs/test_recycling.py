"""Workers start afresh after N jobs or after a job that left them above a memory limit (flat memory)."""
from __future__ import annotations

import os
import sys
import types

from rq import Queue

from portal.jobs.queue import current_rss_mb, recycling_worker_class


def _queue_jobs(app, n, queue="default"):
    q = Queue(queue, connection=app.extensions["portal_redis"])
    for _ in range(n):
        q.enqueue("os.getpid")
    return q


def test_worker_stops_for_a_fresh_start_after_max_jobs(app):
    q = _queue_jobs(app, 3)
    w = recycling_worker_class()(["default"], connection=app.extensions["portal_redis"], max_jobs=2)
    w.work(burst=True, logging_level="WARNING", with_scheduler=False)
    assert w.jobs_done == 2 and w.recycle == "2 jobs done"
    assert len(q) == 1  # the third job waits for the fresh worker


def test_worker_stops_for_a_fresh_start_when_a_job_left_it_above_the_memory_limit(app):
    q = _queue_jobs(app, 2)
    assert current_rss_mb() > 10
    w = recycling_worker_class()(["default"], connection=app.extensions["portal_redis"], max_rss_mb=10)
    w.work(burst=True, logging_level="WARNING", with_scheduler=False)
    assert w.jobs_done == 1 and w.recycle.startswith("memory at ") and "(limit 10 MB)" in w.recycle
    assert len(q) == 1


def test_worker_without_limits_works_the_queue_empty(app):
    q = _queue_jobs(app, 3)
    w = recycling_worker_class()(["default"], connection=app.extensions["portal_redis"])
    w.work(burst=True, logging_level="WARNING", with_scheduler=False)
    assert w.jobs_done == 3 and w.recycle is None and len(q) == 0


def test_flask_jobs_worker_execs_itself_afresh(app, monkeypatch):
    import portal.jobs.cli as cli

    calls = []
    monkeypatch.setattr(cli.os, "execv", lambda exe, argv: calls.append((exe, argv)))
    monkeypatch.setattr(sys, "argv", ["/srv/portal/.venv/bin/flask", "jobs", "worker", "-q", "default"])
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))  # a console script: no spec
    q = _queue_jobs(app, 2)
    result = app.test_cli_runner().invoke(args=["jobs", "worker", "-q", "default", "--burst", "--max-jobs", "1",
                                                "--max-rss-mb", "0"])
    assert result.exit_code == 0, result.output
    assert calls == [(sys.executable, [sys.executable, "/srv/portal/.venv/bin/flask", "jobs", "worker", "-q",
                                       "default"])]
    assert len(q) == 1


def test_worker_limits_default_from_the_environment(app, monkeypatch):
    import portal.jobs.cli as cli

    seen = {}

    class Spy:
        def __init__(self, names, connection, max_jobs, max_rss_mb):
            seen.update(max_jobs=max_jobs, max_rss_mb=max_rss_mb)
            self.recycle, self._stop_requested = None, True

        def work(self, **kw):
            return False

    monkeypatch.setattr("portal.jobs.queue.recycling_worker_class", lambda: Spy)
    monkeypatch.setenv("PORTAL_WORKER_MAX_JOBS", "7")
    monkeypatch.setenv("PORTAL_WORKER_MAX_RSS_MB", "300")
    assert app.test_cli_runner().invoke(args=["jobs", "worker", "-q", "mail", "--burst"]).exit_code == 0
    assert seen == {"max_jobs": 7, "max_rss_mb": 300}
    monkeypatch.delenv("PORTAL_WORKER_MAX_JOBS")
    monkeypatch.delenv("PORTAL_WORKER_MAX_RSS_MB")
    assert app.test_cli_runner().invoke(args=["jobs", "worker", "-q", "mail", "--burst"]).exit_code == 0
    assert seen == {"max_jobs": 500, "max_rss_mb": 250}
    assert os.environ.get("PORTAL_WORKER_MAX_JOBS") is None and cli is not None


def test_a_worker_started_with_python_dash_m_restarts_the_same_way(monkeypatch):
    import importlib.machinery

    from portal.jobs.cli import restart_argv

    main = types.ModuleType("__main__")
    main.__spec__ = importlib.machinery.ModuleSpec("flask.__main__", None)
    monkeypatch.setitem(sys.modules, "__main__", main)
    monkeypatch.setattr(sys, "argv", ["/venv/lib/python3.11/site-packages/flask/__main__.py", "jobs", "worker"])
    assert restart_argv() == [sys.executable, "-m", "flask", "jobs", "worker"]


def test_the_worker_renders_large_documents_in_a_child_unless_told_not_to(app, monkeypatch):
    from portal.documents import render

    class Spy:
        def __init__(self, names, connection, max_jobs, max_rss_mb):
            self.recycle, self._stop_requested = None, True

        def work(self, **kw):
            return False

    monkeypatch.setattr("portal.jobs.queue.recycling_worker_class", lambda: Spy)
    monkeypatch.delenv("PORTAL_WORKER_ISOLATE_HTML_KB", raising=False)
    render.isolate_large_documents(0)
    assert app.test_cli_runner().invoke(args=["jobs", "worker", "-q", "mail", "--burst"]).exit_code == 0
    assert render._isolation["min_html"] == 1024  # every document: WeasyPrint's memory leaves with the child
    monkeypatch.setenv("PORTAL_WORKER_ISOLATE_HTML_KB", "0")
    assert app.test_cli_runner().invoke(args=["jobs", "worker", "-q", "mail", "--burst"]).exit_code == 0
    assert render._isolation["min_html"] == 0
    assert app.test_cli_runner().invoke(args=["jobs", "worker", "-q", "mail", "--burst",
                                              "--isolate-html-kb", "300"]).exit_code == 0
    assert render._isolation["min_html"] == 300 * 1024
