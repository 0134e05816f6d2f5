"""PDF rendering for every document of the portal: a Jinja template + a frozen snapshot dict -> PDF bytes.

- Templates live in templates/documents/ and receive only the snapshot (plain values; no ORM objects, no
  request): what was frozen at issue time is what is printed, whenever the job runs.
- Every URL the document refers to goes through ``StaticFetcher``, which serves the app's own files under
  static/ from the local disk and refuses everything else (file://, http(s):// to anywhere, data: URLs other
  than small images, path traversal) by raising ``RefusedURL`` — rendering then stops with
  ``DocumentRenderError`` instead of quietly reaching out (WeasyPrint#1288).
- The stylesheet (static/pdf/document.css) and WeasyPrint's FontConfiguration are built once per process and
  reused by every render (``preload()`` builds them up front, e.g. in a worker before its first job).
  Rendering holds a process-wide lock: WeasyPrint/Pango objects shared through the font configuration are not
  documented as thread-safe, and a worker process renders one document at a time anyway.
"""

from __future__ import annotations

import base64
import binascii
import logging
import mimetypes
import os
import re
import threading
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote, unquote_to_bytes, urlsplit
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency

from portal import ROOT
from portal.documents import language
from portal.money import format_money, format_quantity, minor_unit

# WeasyPrint logs every step and page at INFO; the portal logs at INFO. Keep its warnings, drop the chatter.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

STATIC_ROOT = (ROOT / "static").resolve()
TEMPLATE_ROOT = ROOT / "templates" / "documents"
# A private origin that never resolves (.invalid is reserved): relative URLs in templates and stylesheets are
# joined onto it, and the fetcher maps exactly this origin's /static/ paths to files under static/.
STATIC_ORIGIN = "https://portal-static.invalid"
BASE_URL = f"{STATIC_ORIGIN}/static/"
STYLESHEET = "pdf/document.css"
DATA_IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
MAX_DATA_IMAGE_BYTES = 64 * 1024


class RefusedURL(ValueError):
    """A document tried to load something other than the app's own static files."""


class DocumentRenderError(RuntimeError):
    """The PDF could not be rendered (template error or a refused URL)."""


# --------------------------------------------------------------------------------------------- fetching


def _weasy():
    import weasyprint  # imported lazily: the web process only needs it when it renders

    return weasyprint


def _refuse(url: str, why: str):
    shown = url if len(url) <= 120 else url[:117] + "..."
    raise RefusedURL(f"Refused to load {shown!r} in a document: {why}.")


def resolve_static(url: str, static_root: Path = STATIC_ROOT) -> Path:
    """Map a URL of the private static origin to a file under static/, or raise RefusedURL."""
    try:
        parts = urlsplit(url)
    except ValueError:
        _refuse(url, "malformed URL")
    if f"{parts.scheme}://{parts.netloc}".lower() != STATIC_ORIGIN:
        _refuse(url, "only the portal's own static files may be used")
    raw_path = parts.path
    if not raw_path.startswith("/static/"):
        _refuse(url, "only files under static/ may be used")
    rel = unquote(raw_path[len("/static/") :])
    segments = rel.split("/")
    if (
        not rel
        or "\\" in rel
        or "\x00" in rel
        or rel.startswith("/")
        or any(seg in ("", ".", "..") for seg in segments)
    ):
        _refuse(url, "path traversal is not allowed")
    path = (static_root / rel).resolve()
    try:
        path.relative_to(static_root)
    except ValueError:
        _refuse(url, "the path leaves static/")
    if not path.is_file():
        _refuse(url, "no such static file")
    return path


def decode_data_url(url: str) -> tuple[str, bytes]:
    """A small inline image (data:image/png;base64,...), or RefusedURL."""
    header, sep, payload = url[len("data:") :].partition(",")
    if not sep:
        _refuse(url, "malformed data: URL")
    params = [p.strip().lower() for p in header.split(";")]
    mime = params[0] or "text/plain"
    if mime not in DATA_IMAGE_TYPES:
        _refuse(url, f"data: URLs may only hold small images, not {mime}")
    # Check the size before decoding: base64 grows by 4/3.
    if len(payload) > MAX_DATA_IMAGE_BYTES * 4 // 3 + 8:
        _refuse(url, f"inline images are limited to {MAX_DATA_IMAGE_BYTES // 1024} KB")
    try:
        data = (
            base64.b64decode(payload, validate=True) if "base64" in params[1:] else unquote_to_bytes(payload)
        )
    except (binascii.Error, ValueError):
        _refuse(url, "malformed base64 in data: URL")
    if len(data) > MAX_DATA_IMAGE_BYTES:
        _refuse(url, f"inline images are limited to {MAX_DATA_IMAGE_BYTES // 1024} KB")
    return mime, data


def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticFetcher(URLFetcher):
        """Serves static/ from disk; refuses everything else (raising, so the render stops)."""

        def __init__(self, static_root: Path = STATIC_ROOT):
            super().__init__(fail_on_errors=True, allow_redirects=False, allowed_protocols=())
            self.static_root = Path(static_root).resolve()

        def fetch(self, url, headers=None):
            url = str(url)
            scheme = url.split(":", 1)[0].lower() if ":" in url else ""
            if scheme == "data":
                mime, data = decode_data_url(url)
                return URLFetcherResponse(url, body=data, headers={"Content-Type": mime})
            if scheme not in ("http", "https"):
                _refuse(
                    url, f"{scheme or 'relative'} URLs are not allowed" if scheme else "not an absolute URL"
                )
            path = resolve_static(url, self.static_root)
            mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": mime})

        def open(self, url, data=None, timeout=None):  # urllib-style entry: same rules
            return self.fetch(getattr(url, "full_url", url))

    return StaticFetcher


_lock = threading.Lock()
_render_lock = threading.RLock()
_cache: dict = {}


def make_fetcher(static_root: Path = STATIC_ROOT):
    return _fetcher_class()(static_root)


# ------------------------------------------------------------------------------------------- cached resources


def _build_resources() -> dict:
    wp = _weasy()
    from weasyprint.text.fonts import FontConfiguration

    font_config = FontConfiguration()
    fetcher = make_fetcher()
    css = wp.CSS(url=BASE_URL + STYLESHEET, url_fetcher=fetcher, font_config=font_config)
    return {"font_config": font_config, "stylesheet": css, "fetcher": fetcher}


def resources() -> dict:
    """The process-wide stylesheet, font configuration and fetcher (built on first use, then reused)."""
    res = _cache.get("res")
    if res is None:
        with _lock:
            res = _cache.get("res")
            if res is None:
                res = _cache["res"] = _build_resources()
    return res


def preload(warm: bool = False) -> None:
    """Build the stylesheet and fonts now (call in a worker before its first job). ``warm``: also render one small
    page, so the font look-ups and shaping caches are filled here, in the worker, and every forked child starts
    with them (copy-on-write) instead of filling them again for each document."""
    resources()
    if warm:
        _write_pdf(WARM_HTML, (), {})


WARM_HTML = ("<html><body><h1>Warm-up 0123456789 €</h1><table><tr><th>Artikel</th><td>1.234,56 €</td></tr>"
             "</table><p>ÄÖÜß àéç – “quoted”</p></body></html>")


def reset_cache() -> None:
    """Forget the cached stylesheet and fonts (tests; after editing static/pdf/document.css)."""
    with _lock:
        _cache.clear()


# --------------------------------------------------------------------------------------------- templates


def format_unit_price(amount, currency: str, locale: str = "en_GB") -> str:
    """A unit price keeps its own precision (up to 4 decimals), at least the currency's minor unit."""
    d = Decimal(amount)
    minor = minor_unit(currency)
    exp = -d.normalize().as_tuple().exponent if d.normalize().as_tuple().exponent < 0 else 0
    places = max(minor, min(exp, 4))
    d = d.quantize(Decimal(1).scaleb(-places))
    return format_currency(d, currency, locale=locale, decimal_quantization=False)


def _to_dec(value):
    if value is None or value == "":
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _to_dt(value):
    if value is None or value == "":
        return None
    if isinstance(value, (date, datetime)):
        return value
    text = str(value)
    return datetime.fromisoformat(text) if "T" in text or " " in text else date.fromisoformat(text)


def _env() -> jinja2.Environment:
    env = _cache.get("env")
    if env is None:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(TEMPLATE_ROOT)),
            autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
            extensions=["jinja2.ext.i18n"],
        )
        _install_gettext(env)

        @jinja2.pass_context
        def money(ctx, amount, currency=None):
            d = _to_dec(amount)
            return (
                "—"
                if d is None
                else format_money(d, currency or ctx.get("currency") or "EUR", ctx.get("locale") or "en_GB")
            )

        @jinja2.pass_context
        def unit_money(ctx, amount, currency=None):
            d = _to_dec(amount)
            return (
                "—"
                if d is None
                else format_unit_price(
                    d, currency or ctx.get("currency") or "EUR", ctx.get("locale") or "en_GB"
                )
            )

        @jinja2.pass_context
        def qty(ctx, q):
            d = _to_dec(q)
            return "—" if d is None else format_quantity(d, ctx.get("locale") or "en_GB")

        @jinja2.pass_context
        def d(ctx, value, fmt="medium"):
            v = _to_dt(value)
            if v is None:
                return "—"
            if isinstance(v, datetime):
                v = v.astimezone(ZoneInfo(ctx.get("timezone") or "UTC")).date()
            return format_date(v, format=fmt, locale=ctx.get("locale") or "en_GB")

        @jinja2.pass_context
        def dt(ctx, value, fmt="medium"):
            v = _to_dt(value)
            if v is None:
                return "—"
            if not isinstance(v, datetime):
                return format_date(v, format=fmt, locale=ctx.get("locale") or "en_GB")
            return format_datetime(
                v,
                format=fmt,
                tzinfo=ZoneInfo(ctx.get("timezone") or "UTC"),
                locale=ctx.get("locale") or "en_GB",
            )

        @jinja2.pass_context
        def country(ctx, code):
            return language.country_name(code, ctx.get("language") or language.DEFAULT_LANGUAGE)

        @jinja2.pass_context
        def address(ctx, party):
            return language.address_lines(party, ctx.get("language") or language.DEFAULT_LANGUAGE)

        env.filters.update(money=money, unit_money=unit_money, qty=qty, d=d, dt=dt, country=country,
                           address=address)
        _cache["env"] = env
    return env


def _bilingual(ctx, first: str, second: str) -> str:
    """A label in both languages: the second one small below the first (static/pdf/document.css .second-lang).
    Catalog text is trusted markup here, as it is for every translated string of a template."""
    return first if first == second else f'{first}<span class="second-lang">{second}</span>'


def _install_gettext(env: jinja2.Environment) -> None:
    """``_()``/``ngettext()`` in document templates speak the snapshot's ``language`` (English when an old
    snapshot has none); with ``bilingual`` the label in the second language follows ("Rechnung / Invoice")."""

    @jinja2.pass_context
    def gettext(ctx, message):
        lang = ctx.get("language") or language.DEFAULT_LANGUAGE
        text = language.gettext_in(lang, message)
        if ctx.get("bilingual"):
            text = _bilingual(ctx, text, language.gettext_in(language.second_language(lang), message))
        return text

    @jinja2.pass_context
    def ngettext(ctx, singular, plural, n):
        lang = ctx.get("language") or language.DEFAULT_LANGUAGE
        text = language.ngettext_in(lang, singular, plural, n)
        if ctx.get("bilingual"):
            other = language.ngettext_in(language.second_language(lang), singular, plural, n)
            text = _bilingual(ctx, text, other)
        return text

    env.install_gettext_callables(gettext, ngettext, newstyle=True)

    @jinja2.pass_context
    def page_counter(ctx):
        """The CSS ``content`` of the page counter in the document's language ("Seite " counter(page) " von "
        counter(pages)), for the document's own ``@page`` rule (the shared stylesheet says it in English)."""
        out = []
        lang = ctx.get("language") or language.DEFAULT_LANGUAGE
        for token in re.split(r"(%\(pages?\)s)", language.gettext_in(lang, "Page %(page)s of %(pages)s")):
            if token in ("%(page)s", "%(pages)s"):
                out.append(f"counter({token[2:-2]})")
            elif token:
                out.append('"' + token.replace("\\", "\\\\").replace('"', '\\"') + '"')
        return Markup(" ".join(out))

    @jinja2.pass_context
    def primary(ctx, message, **variables):
        """``_()`` in the document's language only, for running headers and footers (no second language)."""
        text = language.gettext_in(ctx.get("language") or language.DEFAULT_LANGUAGE, message)
        return text % variables if variables else text

    @jinja2.pass_context
    def page_style(ctx):
        """The document's own ``<style>`` saying the page counter in its language."""
        return Markup("<style>@page { @bottom-right { content: %s; } }</style>") % Markup(page_counter(ctx))

    env.globals.update(page_counter=page_counter, page_style=page_style, primary=primary)


def render_html(template_name: str, snapshot: dict) -> str:
    """The document's HTML (also handy to look at in a browser while designing a template), in the language
    the snapshot froze (``language``; English for snapshots from before documents had one)."""
    if not isinstance(snapshot, dict):
        raise TypeError("documents render from a snapshot dict, not from live objects")
    lang = snapshot.get("language") or language.DEFAULT_LANGUAGE
    try:
        with language.document_locale(lang):
            return _env().get_template(template_name).render(**snapshot, snapshot=snapshot)
    except jinja2.TemplateError as exc:
        raise DocumentRenderError(f"The document template {template_name} failed: {exc}") from exc


def render_pdf(template_name: str, snapshot: dict) -> bytes:
    """Render templates/documents/<template_name> with ``snapshot`` to PDF bytes (A4)."""
    return html_to_pdf(render_html(template_name, snapshot))


def html_to_pdf(html: str, extra_stylesheets=(), **options) -> bytes:
    """HTML -> PDF with the cached stylesheet (plus ``extra_stylesheets``, cached ``CSS`` objects) and fonts; every
    URL goes through the static-only fetcher. In a worker that called ``isolate_large_documents``, a document whose
    HTML is at least that long renders in a forked child process (see there); anything else in this process."""
    with _render_lock:
        if _isolation["min_html"] and len(html) >= _isolation["min_html"] and hasattr(os, "fork"):
            data = _in_child(_write_pdf, html, tuple(extra_stylesheets), options)
        else:
            data = _write_pdf(html, tuple(extra_stylesheets), options)
    count_rendered()
    return data


def _write_pdf(html: str, extra_stylesheets: tuple, options: dict) -> bytes:
    res = resources()
    from weasyprint.urls import FatalURLFetchingError

    try:
        doc = _weasy().HTML(string=html, base_url=BASE_URL, url_fetcher=res["fetcher"])
        return doc.write_pdf(stylesheets=[res["stylesheet"], *extra_stylesheets], font_config=res["font_config"],
                             **options)
    except FatalURLFetchingError as exc:
        cause = exc.__cause__
        raise DocumentRenderError(str(cause) if cause else str(exc)) from (cause or exc)


# ------------------------------------------------------------------------------ large documents in a child


# WeasyPrint keeps what a large document made it allocate: a 1,000-line invoice leaves its process at ~350 MB
# (Python and Pango rarely give memory back). A worker renders such documents in a forked child instead: the child
# starts with the parent's fonts and stylesheets (copy-on-write, nothing to load), renders, hands the PDF back
# through a pipe and exits, and the worker's own memory stays where it was.
_isolation = {"min_html": 0}


def isolate_large_documents(min_html_chars: int) -> None:
    """Render every document whose HTML has at least ``min_html_chars`` characters in a forked child process
    (0: never). ``flask jobs worker`` turns this on (``--isolate-html-kb``); web processes render in-process."""
    _isolation["min_html"] = max(0, int(min_html_chars))


def _in_child(fn, *args):
    """``fn(*args)`` (returning bytes) in a forked child; its exception, if any, is raised here. The child dies with
    its parent (a worker killed mid-render leaves no orphan rendering on); when this process stops waiting (a job
    timeout interrupts the read), the child is killed."""
    import pickle
    import signal

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: render, answer, leave without running any of the parent's clean-up
        status = 0
        try:
            os.close(read_end)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            _die_with_parent()
            try:
                payload = b"P" + fn(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to the parent
                try:
                    payload = b"E" + pickle.dumps(exc)
                except Exception:  # noqa: BLE001 - an exception that does not pickle: its words
                    payload = b"E" + pickle.dumps(DocumentRenderError(f"{type(exc).__name__}: {exc}"))
            with os.fdopen(write_end, "wb") as out:
                out.write(payload)
        except BaseException:  # noqa: BLE001
            status = 1
        finally:
            os._exit(status)
    finished = False
    try:
        os.close(write_end)
        with os.fdopen(read_end, "rb") as answer:
            payload = answer.read()
        finished = True
    finally:
        if not finished:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _, status = os.waitpid(pid, 0)
    if payload[:1] == b"P":
        return payload[1:]
    if payload[:1] == b"E":
        raise pickle.loads(payload[1:])
    raise DocumentRenderError(f"The document's rendering process ended without a result (status {status}).")


def _die_with_parent() -> None:
    """Linux: this (child) process gets SIGKILL when its parent dies."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - not Linux: the child still ends when it finds the pipe closed
        pass


def count_rendered() -> None:
    """One more PDF rendered (the cluster-wide ``portal_pdfs_rendered_total`` metric)."""
    from portal.ops.metrics import pdf_rendered

    pdf_rendered()


def store_pdf(
    pdf: bytes,
    *,
    filename: str,
    owner_company_id: int,
    party_company_id: int | None = None,
    record_id: int | None = None,
):
    """Keep the bytes (named by their SHA-256) and, for a tracked job, link them to its JobRecord.

    Only adds to the session; the calling job commits. Returns the StoredFile.
    """
    from portal.db import db
    from portal.documents.store import save_bytes
    from portal.jobs.models import JobRecord

    stored = save_bytes(
        pdf,
        filename=filename,
        content_type="application/pdf",
        owner_company_id=owner_company_id,
        party_company_id=party_company_id,
    )
    if record_id is not None:
        rec = db.session.get(JobRecord, record_id)
        if rec is not None:
            rec.result_file_id = stored.id
    return stored
