"""A real webhook receiver, run as its own process by the tests: an HTTP server on a free loopback port that
verifies every request with the `standardwebhooks` library (the reference implementation of the specification)
and appends what it saw to a JSON-lines log.

    python receiver.py STATE_DIR

STATE_DIR/port       written once listening (the port number)
STATE_DIR/secret     the whsec_… secret to verify with (read at every request; the test may change it)
STATE_DIR/mode       optional: "ok" (204), "fail" (500), "redirect" (302 to /elsewhere), "slow" (sleeps 5 s)
STATE_DIR/log.jsonl  one line per request: path, verified, error, headers, body
"""
from __future__ import annotations

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

STATE = Path(sys.argv[1])


def _read(name: str, default: str = "") -> str:
    try:
        return (STATE / name).read_text().strip()
    except FileNotFoundError:
        return default


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        entry = {"path": self.path, "headers": headers, "body": body.decode("utf-8", "replace")}
        try:
            Webhook(_read("secret")).verify(body, headers)
            entry["verified"] = True
        except WebhookVerificationError as exc:
            entry["verified"], entry["error"] = False, str(exc)
        with open(STATE / "log.jsonl", "a") as fh:
            fh.write(json.dumps(entry) + "\n")
        mode = _read("mode", "ok")
        if mode == "slow":
            time.sleep(5)
        if mode == "redirect":
            self.send_response(302)
            self.send_header("Location", "/elsewhere")
        else:
            self.send_response(500 if mode == "fail" else 204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):  # quiet
        pass


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    (STATE / "port").write_text(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
