"""A recorded site served on 127.0.0.1, for tests, benchmarks and ``attrap demo``.

Paths map to files under a root directory the way the real sites' URLs look (no trailing
slash): ``/a/b`` is ``root/a/b`` if that is a file, else ``root/a/b/index.html``. It answers
conditional requests with 304, records every request, and can be told to misbehave (429, 503,
a redirect, HTML where a PDF should be) to test how attrap copes.
"""

from __future__ import annotations

import argparse
import email.utils
import hashlib
import mimetypes
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

LAST_MODIFIED = "Wed, 14 Oct 2026 08:00:00 GMT"
NOT_FOUND = b'<!DOCTYPE html><html lang="fr"><body><h1>Page introuvable</h1></body></html>'
_TYPES = {
    ".pdf": "application/pdf",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".css": "text/css; charset=utf-8",
}


def _content_type(name: str) -> str:
    ext = Path(name).suffix.lower()
    if ext in _TYPES:
        return _TYPES[ext]
    ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return ctype + "; charset=utf-8" if ctype.startswith("text/") else ctype


def _not_modified(handler: BaseHTTPRequestHandler, headers: dict[str, str]) -> bool:
    inm = handler.headers.get("If-None-Match")
    if inm:
        tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
        return "*" in tags or headers["ETag"] in tags
    ims = handler.headers.get("If-Modified-Since")
    if not ims:
        return False
    try:
        since = email.utils.parsedate_to_datetime(ims)
    except (TypeError, ValueError):
        return False
    return since is not None and since >= email.utils.parsedate_to_datetime(headers["Last-Modified"])


def serve_in_thread(
    handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1", port: int = 0
) -> tuple[ThreadingHTTPServer, str]:
    """Start a threaded HTTP server in a daemon thread; returns it and its base URL."""
    httpd = ThreadingHTTPServer((host, port), handler)
    httpd.daemon_threads = True
    # a short poll: stopping a server (once per test) waits for it
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return httpd, f"http://{host}:{httpd.server_address[1]}"


def stop_server(httpd: ThreadingHTTPServer) -> None:
    httpd.shutdown()
    httpd.server_close()


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    status: int
    time: float = field(default_factory=time.monotonic)  # when received


@dataclass
class _Fault:
    status: int
    times: int
    headers: dict[str, str]
    body: bytes


class FixtureServer:
    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 0):
        self.root = Path(root).resolve()
        self.host, self.port = host, port
        self.requests: list[RecordedRequest] = []
        self._faults: dict[str, list[_Fault]] = {}
        self._replaced: dict[str, tuple[bytes, str]] = {}
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self.base_url = ""

    # -- control --------------------------------------------------------------------------
    def inject(
        self,
        path: str,
        status: int,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> None:
        """The next ``times`` requests to ``path`` get this answer instead."""
        with self._lock:
            self._faults.setdefault(path, []).append(_Fault(status, times, headers or {}, body))

    def replace(self, path: str, body: bytes, content_type: str) -> None:
        """Serve ``body`` at ``path`` from now on."""
        with self._lock:
            self._replaced[path] = (body, content_type)

    def start(self) -> FixtureServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # keep-alive answers go out at once rather than after the client's delayed ACK
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                server._handle(self, body=True)

            def do_HEAD(self) -> None:
                server._handle(self, body=False)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                server._handle(self, body=True)

        self._httpd, self.base_url = serve_in_thread(Handler, self.host, self.port)
        return self

    def stop(self) -> None:
        if self._httpd:
            stop_server(self._httpd)
            self._httpd = None

    def __enter__(self) -> FixtureServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- serving ----------------------------------------------------------------------------
    def _resolve(self, path: str) -> Path | None:
        rel = unquote(path)
        if "\x00" in rel or "\\" in rel or ".." in rel.split("/"):
            return None
        try:
            target = (self.root / rel.lstrip("/")).resolve()
        except (OSError, ValueError):
            return None
        if not target.is_relative_to(self.root):
            return None
        if target.is_file():
            return target
        index = target / "index.html"
        return index if index.is_file() else None

    def _answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            faults = self._faults.get(path)
            if faults:
                fault = faults[0]
                fault.times -= 1
                if fault.times <= 0:
                    faults.pop(0)
                return fault.status, dict(fault.headers), fault.body
            replaced = self._replaced.get(path)
        if replaced:
            body, ctype = replaced
        else:
            file = self._resolve(path)
            if file is None:
                return 404, {"Content-Type": "text/html; charset=utf-8"}, NOT_FOUND
            body = file.read_bytes()
            ctype = _content_type(file.name)
        headers = {
            "Content-Type": ctype,
            "ETag": f'"{hashlib.sha1(body).hexdigest()}"',
            "Last-Modified": LAST_MODIFIED,
        }
        return 200, headers, body

    def _route(self, handler: BaseHTTPRequestHandler) -> str:
        """The path of the file that answers a request: its URL's path (a subclass may map
        queries or cookies to files; the request is still recorded as it was sent)."""
        return urlsplit(handler.path).path

    def _handle(self, handler: BaseHTTPRequestHandler, *, body: bool) -> None:
        received = time.monotonic()
        status, headers, payload = self._answer(self._route(handler))
        if status == 200 and _not_modified(handler, headers):
            status, payload = 304, b""
            headers = {k: v for k, v in headers.items() if k != "Content-Type"}
        with self._lock:
            self.requests.append(
                RecordedRequest(
                    handler.command, handler.path, dict(handler.headers.items()), status, received
                )
            )
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if body and payload:
            handler.wfile.write(payload)


def page_key(url: str) -> str:
    """How a recorded page is looked up: its path and query, unquoted, without a final slash
    (a capture may write an href's spaces and accents raw or percent-encoded)."""
    parts = urlsplit(url)
    key = unquote(parts.path).rstrip("/") or "/"
    return f"{key}?{unquote(parts.query)}" if parts.query else key


class RecordedSite(FixtureServer):
    """Pages saved from a live site, served at their real paths and queries.

    ``root/manifest.json`` lists them (``fixtures/real/README.md``): each page's real URL and
    the file holding it, and optionally a ``status`` and a ``location`` (a redirect). Anything
    else answers 404, as a page the capture did not keep. Hosts are not told apart: a source
    is rebased onto the server (``--base-url``)."""

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 0):
        import json

        super().__init__(root, host, port)
        self.manifest = json.loads((self.root / "manifest.json").read_text(encoding="utf-8"))
        self._pages = {page_key(p["url"]): p for p in self.manifest["pages"]}

    def _route(self, handler: BaseHTTPRequestHandler) -> str:
        return page_key(handler.path)

    def _resolve(self, path: str) -> Path | None:
        page = self._pages.get(path)
        return self.root / page["file"] if page and page.get("file") else None

    def _answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        page = self._pages.get(path)
        if page and page.get("location"):
            target = urlsplit(page["location"])
            where = target.path + (f"?{target.query}" if target.query else "")
            return int(page.get("status") or 301), {"Location": where}, b""
        status, headers, body = super()._answer(path)
        if status == 200 and page and page.get("status"):
            status = int(page["status"])
        return status, headers, body


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a recorded site on 127.0.0.1.")
    parser.add_argument("root", type=Path)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    with FixtureServer(args.root, port=args.port) as server:
        print(server.base_url, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
