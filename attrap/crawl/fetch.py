"""HTTP for every scraper: polite, bounded, and kept on the source's own hosts.

Politeness lives here, never in a scraper: one request at a time per host with a delay between
them (across processes and machines too, through the database: attrap.crawl.politeness), robots.txt
honoured, an honest User-Agent, timeouts, bounded retries honouring Retry-After on 429 and 503,
a size cap on every body, and redirects that may not leave the source's hosts. A PDF download
that is not a PDF (an HTML error page, an anti-bot challenge) is an error, never a document.

Listing pages are fetched conditionally: the ETag and Last-Modified of each page are kept by a
:class:`ValidatorStore` (the database, across runs), sent back as If-None-Match and
If-Modified-Since, and a 304 answer reuses the body kept with them. Only GET is conditional; a
form posted back is always sent again.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import os
import tempfile
import threading
import time
import urllib.robotparser
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import httpx

from attrap.config import USER_AGENT
from attrap.errors import FetchError, NotAPdfError, NotModifiedError
from attrap.logs import event
from attrap.model import Validator

log = logging.getLogger(__name__)

MAX_PAGE_BYTES = 5 * 1024 * 1024
MAX_PDF_BYTES = 200 * 1024 * 1024
RETRY_STATUSES = {429, 500, 502, 503, 504}
#: the longest Retry-After we agree to wait inside one crawl; longer means "try next run"
MAX_RETRY_WAIT = 120.0


class Throttle(Protocol):
    """Spaces the requests to a host. The Fetcher, for each request, holds ``lock(host)`` and
    calls ``wait(host, delay)`` before it and ``done(host)`` after it (even when it failed)."""

    def lock(self, host: str) -> AbstractContextManager[object]: ...

    def wait(self, host: str, delay: float) -> None: ...

    def done(self, host: str) -> None: ...


class HostThrottle:
    """One request at a time per host, ``delay`` seconds apart, shared by every crawl of this
    process (attrap.crawl.politeness.DatabaseThrottle extends it to every process on one database)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._last: dict[str, float] = {}

    def lock(self, host: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(host, threading.Lock())

    def wait(self, host: str, delay: float) -> None:
        """Call with ``lock(host)`` held."""
        last = self._last.get(host)
        if last is not None:
            pause = last + delay - time.monotonic()
            if pause > 0:
                time.sleep(pause)

    def done(self, host: str) -> None:
        self._last[host] = time.monotonic()


THROTTLE = HostThrottle()


@dataclass(frozen=True)
class Page:
    url: str
    status: int
    text: str

    @property
    def not_modified(self) -> bool:
        """True when the server answered 304 and ``text`` is the body kept from a previous run."""
        return self.status == 304


class ValidatorStore(Protocol):
    """Keeps the validators of listing pages, by requested URL (attrap.store.db.Store is one)."""

    def get_validator(self, url: str) -> Validator | None: ...

    def put_validator(self, source_id: str, url: str, validator: Validator) -> None: ...


class MemoryValidators:
    """A ValidatorStore that lives as long as the process (benchmarks, tests)."""

    def __init__(self) -> None:
        self._data: dict[str, Validator] = {}

    def get_validator(self, url: str) -> Validator | None:
        return self._data.get(url)

    def put_validator(self, source_id: str, url: str, validator: Validator) -> None:
        self._data[url] = validator


@dataclass(frozen=True)
class Download:
    url: str
    path: Path
    sha256: str
    size: int
    #: the server's validators for the file, kept if reading it fails (asked for next time)
    etag: str | None = None
    last_modified: str | None = None

    @property
    def validator(self) -> Validator:
        return Validator(self.etag, self.last_modified, self.url, "")


class Fetcher:
    """An httpx client bound to one source: its hosts, its politeness, its error reports."""

    def __init__(
        self,
        *,
        source_id: str,
        allowed_hosts: Iterable[str],
        user_agent: str = USER_AGENT,
        delay: float = 3.0,
        timeout: float = 30.0,
        max_retries: int = 3,
        backoff: float = 2.0,
        throttle: Throttle = THROTTLE,
        transport: httpx.BaseTransport | None = None,
        validators: ValidatorStore | None = None,
    ):
        self.source_id = source_id
        self.validators = validators
        self.allowed_hosts = frozenset(allowed_hosts)
        self.delay = delay
        self.max_retries = max_retries
        self.backoff = backoff
        self.throttle = throttle
        self.requests = 0
        self.bytes = 0
        #: listing pages answered 304 Not Modified (their kept body was reused)
        self.not_modified = 0
        self._robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}
        self.client = httpx.Client(
            headers={"User-Agent": user_agent, "Accept-Language": "fr"},
            timeout=httpx.Timeout(timeout),
            follow_redirects=True,
            max_redirects=5,
            transport=transport,
            event_hooks={"request": [self._check_host]},
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def error(
        self, message: str, url: str, cls: type[FetchError] = FetchError, *, status: int | None = None
    ) -> FetchError:
        return cls(message, source=self.source_id, url=url, status=status)

    def _check_host(self, request: httpx.Request) -> None:
        # Runs for every request, redirects included: a crawl never leaves its source.
        if request.url.netloc.decode() not in self.allowed_hosts:
            raise self.error("host not allowed for this source", str(request.url))

    # -- robots.txt ---------------------------------------------------------------------------
    def allowed_by_robots(self, url: str) -> bool:
        u = httpx.URL(url)
        key = f"{u.scheme}://{u.netloc.decode()}"
        if key not in self._robots:
            # RFC 9309: no robots.txt (4xx) allows everything; a server error disallows the crawl.
            robots = self._get_text(f"{key}/robots.txt", max_bytes=512 * 1024, retries=1)
            if robots.status >= 500:
                raise self.error(f"robots.txt answered {robots.status}", f"{key}/robots.txt")
            parser = None
            if robots.status < 400:
                parser = urllib.robotparser.RobotFileParser()
                parser.parse(robots.text.splitlines())
            self._robots[key] = parser
        parser = self._robots[key]
        agent = self.client.headers["User-Agent"]
        return parser is None or parser.can_fetch(agent, url)

    # -- requests -----------------------------------------------------------------------------
    def _send(
        self,
        method: str,
        url: str,
        *,
        max_bytes: int,
        retries: int | None = None,
        sink: Path | None = None,
        headers: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One request with politeness and bounded retries; the body is read up to max_bytes."""
        host = httpx.URL(url).netloc.decode()
        attempts = (self.max_retries if retries is None else retries) + 1
        for attempt in range(attempts):
            with self.throttle.lock(host):
                self.throttle.wait(host, self.delay)
                started, before = time.monotonic(), self.bytes
                try:
                    resp = self._request(
                        method, url, max_bytes=max_bytes, sink=sink, headers=headers, data=data
                    )
                except httpx.TransportError as exc:
                    resp, failure = None, f"{type(exc).__name__}: {exc}"
                finally:
                    self.throttle.done(host)
                    self.requests += 1
            ms = round((time.monotonic() - started) * 1000)
            if resp is None:
                event(
                    log,
                    logging.DEBUG,
                    self.source_id,
                    "unreachable",
                    url,
                    method=method,
                    error=failure,
                    ms=ms,
                )
            else:
                status, size = resp.status_code, self.bytes - before
                event(
                    log,
                    logging.DEBUG,
                    self.source_id,
                    "fetched",
                    url,
                    method=method,
                    status=status,
                    bytes=size,
                    ms=ms,
                )
            if resp is not None and resp.status_code not in RETRY_STATUSES:
                return resp
            if resp is not None:
                failure = f"HTTP {resp.status_code}"
            if attempt + 1 == attempts:
                break
            wait = self.backoff * 2**attempt
            if resp is not None and "retry-after" in resp.headers:
                wait = max(wait, _retry_after(resp.headers["retry-after"]))
            if wait > MAX_RETRY_WAIT:
                break
            event(log, logging.INFO, self.source_id, "retrying", url, failure=failure, wait=f"{wait:.1f}s")
            time.sleep(wait)
        raise self.error(f"{failure} after {attempt + 1} attempt(s)", url)

    def _request(
        self,
        method: str,
        url: str,
        *,
        max_bytes: int,
        sink: Path | None,
        headers: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
    ) -> httpx.Response:
        with self.client.stream(method, url, headers=headers, data=data) as resp:
            declared = resp.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise self.error(f"body of {declared} bytes is over the cap of {max_bytes}", url)
            size = 0
            chunks: list[bytes] = []
            out = sink.open("wb") if sink and resp.status_code == 200 else None
            try:
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise self.error(f"body over the cap of {max_bytes} bytes", url)
                    if out:
                        out.write(chunk)
                        if len(chunks) < 1:  # keep the head for content sniffing
                            chunks.append(chunk[:1024])
                    else:
                        chunks.append(chunk)
            finally:
                if out:
                    out.close()
            self.bytes += size
            resp._content = b"".join(chunks)  # the head only when streamed to a file
            return resp

    def _get_text(
        self, url: str, *, max_bytes: int, retries: int | None = None, conditional: bool = True
    ) -> Page:
        """GET a text resource, conditionally when validators are kept for ``url`` (and
        ``conditional``: a page that opens a session must be fetched in full, for its cookie).

        A 304 gives back the kept body (``Page.status`` 304); a 200 with an ETag or a
        Last-Modified is kept for next time. Other statuses are returned as they are.
        """
        kept = self.validators.get_validator(url) if self.validators and conditional else None
        headers = _conditional(kept)
        resp = self._send("GET", url, max_bytes=max_bytes, retries=retries, headers=headers)
        if resp.status_code == 304 and kept is not None:
            self.not_modified += 1
            return Page(url=kept.final_url, status=304, text=kept.body)
        page = Page(url=str(resp.url), status=resp.status_code, text=resp.text)
        etag, last_modified = resp.headers.get("etag"), resp.headers.get("last-modified")
        if (
            resp.status_code == 200
            and conditional
            and self.validators is not None
            and (etag or last_modified)
        ):
            self.validators.put_validator(
                self.source_id, url, Validator(etag, last_modified, page.url, page.text)
            )
        return page

    def get_page(self, url: str, *, conditional: bool = True) -> Page:
        """An HTML listing page; FetchError unless it answers 200 (or 304 to a conditional GET).
        The client keeps cookies for the fetcher's life, as a browser keeps a session."""
        if not self.allowed_by_robots(url):
            raise self.error("disallowed by robots.txt", url)
        page = self._get_text(url, max_bytes=MAX_PAGE_BYTES, conditional=conditional)
        if page.status not in (200, 304):
            raise self.error(f"HTTP {page.status}", url, status=page.status)
        return page

    def post_page(self, url: str, data: dict[str, str]) -> Page:
        """A form posted back to a listing page (DSFR select menus)."""
        if not self.allowed_by_robots(url):
            raise self.error("disallowed by robots.txt", url)
        resp = self._send("POST", url, max_bytes=MAX_PAGE_BYTES, data=data)
        if resp.status_code != 200:
            raise self.error(f"HTTP {resp.status_code}", url, status=resp.status_code)
        return Page(url=str(resp.url), status=resp.status_code, text=resp.text)

    def download_pdf(
        self, url: str, directory: Path, *, max_bytes: int = MAX_PDF_BYTES, failed_before: bool = False
    ) -> Download:
        """Stream a PDF to ``directory/<sha256>.pdf``; NotAPdfError if something else came.

        A file that ``failed_before`` is asked for conditionally, with the validators kept when
        it failed: an unchanged broken file costs a 304 (NotModifiedError), not a download."""
        if not self.allowed_by_robots(url):
            raise self.error("disallowed by robots.txt", url)
        kept = self.validators.get_validator(url) if self.validators and failed_before else None
        headers = _conditional(kept)
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=directory, suffix=".part")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            resp = self._send("GET", url, max_bytes=max_bytes, sink=tmp, headers=headers)
            if resp.status_code == 304 and headers:
                self.not_modified += 1
                raise self.error("unchanged since it failed (HTTP 304)", url, NotModifiedError, status=304)
            if resp.status_code != 200:
                raise self.error(f"HTTP {resp.status_code}", url, status=resp.status_code)
            etag, last_modified = resp.headers.get("etag"), resp.headers.get("last-modified")
            head = resp.content
            if b"%PDF-" not in head[:1024]:
                kind = "an HTML page" if b"<" in head[:512] else "not a PDF"
                ctype = resp.headers.get("content-type", "?")
                if self.validators is not None and (etag or last_modified):  # asked for next time
                    kept = Validator(etag, last_modified, url, "")
                    self.validators.put_validator(self.source_id, url, kept)
                raise self.error(
                    f"expected a PDF, got {kind} ({ctype}, {tmp.stat().st_size} bytes)",
                    url,
                    NotAPdfError,
                )
            digest = hashlib.sha256()
            with tmp.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            final = pdf_path(directory, digest.hexdigest())
            size = tmp.stat().st_size
            tmp.replace(final)
            return Download(str(resp.url), final, digest.hexdigest(), size, etag, last_modified)
        finally:
            tmp.unlink(missing_ok=True)


def _conditional(kept: Validator | None) -> dict[str, str]:
    """The headers of a conditional GET for what ``kept`` remembers of a URL (none without)."""
    headers = {}
    if kept and kept.etag:
        headers["If-None-Match"] = kept.etag
    if kept and kept.last_modified:
        headers["If-Modified-Since"] = kept.last_modified
    return headers


def pdf_path(directory: Path, sha256: str) -> Path:
    """Where :meth:`Fetcher.download_pdf` keeps a PDF: named by its content."""
    return directory / f"{sha256}.pdf"


def _retry_after(value: str) -> float:
    """Retry-After is seconds or an HTTP date."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
