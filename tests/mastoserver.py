"""A Mastodon-compatible test server on 127.0.0.1, for the real Mastodon.py client.

Statuses, instance (v1 and v2), verify_credentials, account statuses; Idempotency-Key honoured
per account; the character limit enforced with links counted as 23 characters (counted here
independently of attrap.publish.render, so a bug in either shows). ``fail_next`` injects 429s, 5xx,
dropped connections, and "accepted, then the connection dropped" (a crash between the server's
acceptance and the client's answer).
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from attrap.fixtureserver import serve_in_thread, stop_server

_LINK = re.compile(r"https?://[^\s]+")


def _mastodon_length(text: str) -> int:
    # deliberately not attrap.publish.render.post_length: an independent count
    total, last = 0, 0
    for m in _LINK.finditer(text):
        total += len(text[last : m.start()]) + 23
        last = m.end()
    return total + len(text[last:])


class MastoServer:
    def __init__(self, *, accounts: dict[str, str] | None = None, max_characters: int = 500):
        self.accounts = accounts or {"test-token": "attrap"}
        self.max_characters = max_characters
        #: seconds to wait after creating a status before answering (to kill the client meanwhile)
        self.respond_delay = 0.0
        #: False: forget Idempotency-Keys, as Mastodon does after about an hour
        self.remember_keys = True
        self.statuses: list[dict] = []
        self.requests: list[dict] = []
        self._faults: list[list] = []  # [kind, times, reset_in]
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self.base_url = ""

    def fail_next(self, kind: str, *, times: int = 1, reset_in: float = 0.5) -> None:
        """The next ``times`` POST /api/v1/statuses fail this way (times=0 clears)."""
        with self._lock:
            self._faults = [[kind, times, reset_in]] if times else []

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> MastoServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server._handle(self)

            def do_POST(self) -> None:
                server._handle(self)

        self._httpd, self.base_url = serve_in_thread(Handler)
        return self

    def stop(self) -> None:
        if self._httpd:
            stop_server(self._httpd)
            self._httpd = None

    def __enter__(self) -> MastoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- API --------------------------------------------------------------------------------
    def _account(self, username: str) -> dict:
        idx = sorted(self.accounts.values()).index(username) + 1
        return {"id": str(idx), "username": username, "acct": username, "display_name": username,
                "url": f"{self.base_url}/@{username}", "created_at": "2024-01-01T00:00:00.000Z",
                "note": "", "locked": False, "bot": True, "followers_count": 0, "following_count": 0,
                "statuses_count": sum(1 for s in self.statuses if s["account"] == username)}  # fmt: skip

    def _instance(self) -> dict:
        return {
            "uri": "127.0.0.1", "domain": "127.0.0.1", "title": "attrap test", "version": "4.3.0",
            "description": "", "languages": ["fr"], "api_versions": {"mastodon": 2},
            "configuration": {"statuses": {"max_characters": self.max_characters,
                                           "characters_reserved_per_url": 23}},
        }  # fmt: skip

    def _public(self, status: dict) -> dict:
        return {
            "id": status["id"], "uri": status["url"], "url": status["url"], "content": status["text"],
            "visibility": status["visibility"], "created_at": status["created_at"],
            "account": self._account(status["account"]), "language": "fr",
            "media_attachments": [], "mentions": [], "tags": [], "emojis": [],
        }  # fmt: skip

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        with self._lock:
            self.requests.append({"method": h.command, "path": h.path, "headers": dict(h.headers.items())})
        auth = h.headers.get("Authorization", "")
        user = self.accounts.get(auth.removeprefix("Bearer ").strip())
        path = url.path.rstrip("/")

        if path in ("/api/v1/instance", "/api/v2/instance"):
            return self._send(h, 200, self._instance())
        if user is None:
            return self._send(h, 401, {"error": "The access token is invalid"})
        if path == "/api/v1/accounts/verify_credentials":
            return self._send(h, 200, self._account(user))
        if h.command == "POST" and path == "/api/v1/statuses":
            return self._post_status(h, user, raw)
        if m := re.fullmatch(r"/api/v1/statuses/(\d+)", path):
            found = [s for s in self.statuses if s["id"] == m[1]]
            return self._send(
                h, 200 if found else 404, self._public(found[0]) if found else {"error": "Record not found"}
            )
        if m := re.fullmatch(r"/api/v1/accounts/(\d+)/statuses", path):
            return self._send(h, 200, self._account_statuses(m[1], parse_qs(url.query)))
        return self._send(h, 404, {"error": "Record not found"})

    def _account_statuses(self, account_id: str, query: dict) -> list[dict]:
        """Newest first; ``max_id``/``since_id`` bound the page, ``min_id`` gives the page just
        after it (oldest ones first, returned newest first), as Mastodon does."""
        limit = min(40, int(query.get("limit", ["20"])[0]))
        arg = {k: int(query[k][0]) for k in ("max_id", "since_id", "min_id") if k in query}
        mine = sorted(
            (s for s in self.statuses if self._account(s["account"])["id"] == account_id),
            key=lambda s: int(s["id"]),
        )
        mine = [s for s in mine if int(s["id"]) < arg.get("max_id", 1 << 63)]
        mine = [s for s in mine if int(s["id"]) > max(arg.get("since_id", 0), arg.get("min_id", 0))]
        page = mine[:limit] if "min_id" in arg else mine[-limit:]
        return [self._public(s) for s in reversed(page)]

    def _post_status(self, h: BaseHTTPRequestHandler, user: str, raw: bytes) -> None:
        ctype = h.headers.get("Content-Type", "")
        if "json" in ctype:
            data = json.loads(raw or b"{}")
        else:
            data = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        with self._lock:
            fault = None
            if self._faults:
                fault = self._faults[0]
                fault[1] -= 1
                if fault[1] <= 0:
                    self._faults.pop(0)
        if fault and fault[0] == "429":
            reset = (datetime.now(UTC) + timedelta(seconds=fault[2])).isoformat()
            return self._send(
                h,
                429,
                {"error": "Too many requests"},
                {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
            )
        if fault and fault[0] in ("500", "502", "503"):
            return self._send(h, int(fault[0]), {"error": "Internal server error"})
        if fault and fault[0] == "drop":
            return self._drop(h)
        text = str(data.get("status", ""))
        if _mastodon_length(text) > self.max_characters:
            return self._send(
                h,
                422,
                {"error": f"Validation failed: Text character limit of {self.max_characters} exceeded"},
            )
        key = h.headers.get("Idempotency-Key")
        with self._lock:
            existing = next(
                (
                    s
                    for s in self.statuses
                    if key and self.remember_keys and s["account"] == user and s["idempotency_key"] == key
                ),
                None,
            )
            if existing is None:
                # a snowflake id, as Mastodon's: milliseconds since the epoch, shifted, and a sequence
                sid = str((int(time.time() * 1000) << 16) + len(self.statuses) + 1)
                existing = {
                    "id": sid, "account": user, "text": text, "visibility": data.get("visibility") or "public",
                    "idempotency_key": key, "created_at": datetime.now(UTC).isoformat(),
                    "url": f"{self.base_url}/@{user}/{sid}",
                }  # fmt: skip
                self.statuses.append(existing)
        if fault and fault[0] == "accept-then-drop":
            return self._drop(h)
        if self.respond_delay:
            time.sleep(self.respond_delay)
        return self._send(h, 200, self._public(existing))

    def _drop(self, h: BaseHTTPRequestHandler) -> None:
        h.close_connection = True
        try:
            h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(
        self, h: BaseHTTPRequestHandler, status: int, body: object, headers: dict | None = None
    ) -> None:
        payload = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json; charset=utf-8")
        h.send_header("Content-Length", str(len(payload)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(payload)
