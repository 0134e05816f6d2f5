"""The one outbound HTTP request of a webhook delivery: short timeouts, no redirects, no proxies from the
environment, and no loopback/private/link-local/reserved receivers unless PORTAL_WEBHOOK_ALLOW_PRIVATE_URLS=1.

The host is resolved once, every address is checked, and the connection goes to the checked address (with the
name kept for TLS and the Host header), so a DNS answer that changes between check and connect (rebinding) cannot
point the request inside the network.
"""
from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app

from portal.errors import ValidationFailed
from portal.i18n import _l
from portal.errors import say

MAX_URL = 500
RESPONSE_PEEK = 2048  # bytes of the receiver's answer kept in the log


class RefusedAddress(Exception):
    pass


@dataclass
class Result:
    ok: bool
    status: int | None
    duration_ms: int
    error: str | None


def allow_private() -> bool:
    return bool(current_app.config.get("WEBHOOK_ALLOW_PRIVATE_URLS"))


def check_url(url: str) -> str:
    """An endpoint URL as given by a person: http(s), a host, no credentials; a literal private address is
    refused at once (names are checked again at every delivery). Raises ValidationFailed with a sentence."""
    url = (url or "").strip()
    msg = "Enter the receiver as an https:// (or http://) address, e.g. https://erp.example.com/hooks/portal."
    if not url:
        raise ValidationFailed(_l("The endpoint needs a URL."), errors={"url": _l("Required.")})
    if len(url) > MAX_URL:
        raise ValidationFailed(_l("The URL is too long; at most %(max_url)s characters."), max_url=MAX_URL,
                               errors={"url": say(_l("At most %(max_url)s characters."), max_url=MAX_URL)})
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationFailed(msg, errors={"url": msg}) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password \
            or any(c.isspace() for c in url):
        raise ValidationFailed(msg, errors={"url": msg})
    if port == 0:
        raise ValidationFailed(msg, errors={"url": msg})
    try:
        ip = ipaddress.ip_address(parts.hostname.strip("[]"))
    except ValueError:
        ip = None
    if ip is not None and not allow_private() and not _public(ip):
        text = "Webhooks cannot be sent to loopback, private or reserved addresses."
        raise ValidationFailed(text, errors={"url": text})
    if parts.hostname.lower() in ("localhost", "localhost.localdomain") and not allow_private():
        text = "Webhooks cannot be sent to localhost."
        raise ValidationFailed(text, errors={"url": text})
    return url


def _public(ip) -> bool:
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local
                                 or ip.is_private or ip.is_unspecified)


def resolve(host: str, port: int) -> str:
    """The address to connect to; RefusedAddress if any address of the name is not public (unless allowed)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise RefusedAddress(f"the name {host} does not resolve ({exc.strerror})") from None
    addrs = [info[4][0] for info in infos]
    if not addrs:
        raise RefusedAddress(f"the name {host} has no address")
    if not allow_private():
        for a in addrs:
            if not _public(ipaddress.ip_address(a.split("%")[0])):
                raise RefusedAddress(f"{host} resolves to {a}, a loopback, private or reserved address")
    return addrs[0]


def post(url: str, body: bytes, headers: dict[str, str]) -> Result:
    import urllib3

    started = time.monotonic()

    def done(ok, status, error):
        return Result(ok, status, int((time.monotonic() - started) * 1000), error)

    parts = urlsplit(url)
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        address = resolve(host, port)
    except RefusedAddress as exc:
        return done(False, None, f"Refused: {exc}.")
    timeout = urllib3.Timeout(connect=float(current_app.config.get("WEBHOOK_CONNECT_TIMEOUT", 3)),
                              read=float(current_app.config.get("WEBHOOK_READ_TIMEOUT", 10)))
    kwargs = dict(timeout=timeout, retries=False, maxsize=1)
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(address, port, server_hostname=host, assert_hostname=host, **kwargs)
    else:
        pool = urllib3.HTTPConnectionPool(address, port, **kwargs)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    host_header = host if port in (80, 443) else f"{host}:{port}"
    if ":" in host and not host.startswith("["):
        host_header = f"[{host}]" if port in (80, 443) else f"[{host}]:{port}"
    all_headers = {"Host": host_header, "Content-Type": "application/json",
                   "User-Agent": "ProcurementPortal-Webhooks/1", **headers}
    try:
        resp = pool.urlopen("POST", path, body=body, headers=all_headers, redirect=False, retries=False,
                            preload_content=False, assert_same_host=False)
        try:
            resp.read(RESPONSE_PEEK, decode_content=False)
        finally:
            resp.release_conn()
    except urllib3.exceptions.NewConnectionError as exc:  # (a subclass of ConnectTimeoutError: first)
        reason = "refused" if isinstance(exc.__cause__, ConnectionRefusedError) or "refused" in str(exc) \
            else "failed"
        return done(False, None, f"Could not connect to the receiver (connection {reason}).")
    except urllib3.exceptions.ConnectTimeoutError:
        return done(False, None, "The receiver did not accept the connection in time.")
    except urllib3.exceptions.ReadTimeoutError:
        return done(False, None, "The receiver did not answer in time.")
    except urllib3.exceptions.SSLError as exc:
        return done(False, None, f"TLS failed: {str(exc)[:200]}")
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        return done(False, None, f"Could not reach the receiver: {str(exc)[:200]}")
    finally:
        pool.close()
    if 200 <= resp.status < 300:
        return done(True, resp.status, None)
    if 300 <= resp.status < 400:
        return done(False, resp.status, f"The receiver answered with a redirect ({resp.status}); redirects are "
                                        "not followed, give the final address.")
    return done(False, resp.status, f"The receiver answered {resp.status}.")
