"""Large documents render in a forked child process (``render.isolate_large_documents``, turned on by
``flask jobs worker``): the child takes the memory WeasyPrint allocated for them with it when it exits."""
from __future__ import annotations

import os
import signal
import time

import pytest

from portal.documents import render
from portal.documents.render import DocumentRenderError
from portal.jobs.queue import current_rss_mb

ROWS = "".join(f"<tr><td>Hex bolt M{8 + i % 8} DIN 933</td><td>{i}</td></tr>" for i in range(60))
LARGE = f"<html><body><h1>Large</h1><table>{ROWS}</table></body></html>"
SMALL = "<html><body><h1>Small</h1><p>One line.</p></body></html>"


@pytest.fixture(autouse=True)
def app_ctx():
    """Rendering needs no app context and writes nothing to the database (no table truncation per test)."""
    yield


@pytest.fixture
def isolation(monkeypatch):
    """Documents of at least len(LARGE) characters render in a child; ``calls`` counts the children."""
    calls = []
    real = render._in_child

    def spy(fn, *args):
        calls.append(fn.__name__)
        return real(fn, *args)

    monkeypatch.setattr(render, "_in_child", spy)
    monkeypatch.setitem(render._isolation, "min_html", len(LARGE))
    monkeypatch.setattr(render, "count_rendered", lambda: None)  # no app here for the metric
    return calls


def test_only_documents_over_the_threshold_render_in_a_child(isolation):
    small = render.html_to_pdf(SMALL)
    assert isolation == [] and small.startswith(b"%PDF")
    large = render.html_to_pdf(LARGE)
    assert isolation == ["_write_pdf"] and large.startswith(b"%PDF") and large.rstrip().endswith(b"%%EOF")


def test_without_isolation_every_document_renders_in_this_process(isolation, monkeypatch):
    monkeypatch.setitem(render._isolation, "min_html", 0)
    assert render.html_to_pdf(LARGE).startswith(b"%PDF")
    assert isolation == []


def test_the_child_is_another_process_and_its_memory_leaves_with_it():
    def heavy():
        block = bytearray(150 * 1024 * 1024)  # touched below: resident in the child
        for i in range(0, len(block), 4096):
            block[i] = 1
        return str(os.getpid()).encode()

    before = current_rss_mb()
    pid = int(render._in_child(heavy))
    assert pid != os.getpid()
    assert current_rss_mb() - before < 30  # the 150 MB stayed in the child
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # already reaped: no zombie left behind


def test_a_refused_url_in_a_large_document_is_the_same_sentence(isolation):
    html = LARGE.replace("<h1>Large</h1>", '<img src="file:///etc/passwd">')
    with pytest.raises(DocumentRenderError, match="Refused to load 'file:///etc/passwd'"):
        render.html_to_pdf(html)
    assert isolation == ["_write_pdf"]


def test_a_child_that_dies_without_answering_is_an_error_not_a_hang():
    with pytest.raises(DocumentRenderError, match="ended without a result"):
        render._in_child(lambda: os._exit(3))


def test_when_the_worker_stops_waiting_the_child_is_killed(monkeypatch):
    """A job timeout interrupts the wait (RQ raises from its SIGALRM handler): the child must not render on."""
    children = []
    real_fork = os.fork

    def fork():
        pid = real_fork()
        if pid:
            children.append(pid)
            signal.setitimer(signal.ITIMER_REAL, 0.5)  # the "job timeout", once the worker waits for the child
        return pid

    monkeypatch.setattr(render.os, "fork", fork)

    class Timeout(Exception):
        pass

    def on_alarm(signum, frame):
        raise Timeout()

    old = signal.signal(signal.SIGALRM, on_alarm)
    started = time.monotonic()
    try:
        with pytest.raises(Timeout):
            render._in_child(lambda: time.sleep(60) or b"")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert time.monotonic() - started < 30
    assert len(children) == 1
    with pytest.raises(ProcessLookupError):
        os.kill(children[0], 0)  # killed and reaped
