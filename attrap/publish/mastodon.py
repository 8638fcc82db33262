"""A Mastodon account attrap posts to, through Mastodon.py.

Errors come out as :class:`PublishError` (permanent: a wrong token, a rejected text) or
:class:`RetryablePublishError` (rate limit, server error, network), with messages built here:
the access token never appears in an error, a repr or a log line.
"""

from __future__ import annotations

import time
from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from attrap.errors import PublishError

if TYPE_CHECKING:
    from mastodon import Mastodon, MastodonError

# Mastodon.py is imported when an account is first used, not with this module: it compiles
# large expressions at import (a quarter of a second), which every command that posts nothing
# (scan --dry-run, classify, status, export, serve) would pay for.

DEFAULT_MAX_CHARACTERS = 500
#: pages of 40 statuses searched for one post, at most (an hour of a busy account is one or two)
MAX_RECONCILE_PAGES = 50


class RetryablePublishError(PublishError):
    """Worth trying again later; ``retry_after`` in seconds when the server said when."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Sent:
    status_id: str
    url: str


class MastodonChannel:
    """One account; ``name`` is the channel name used in the outbox."""

    def __init__(
        self,
        api_base_url: str,
        access_token: str,
        *,
        visibility: str = "public",
        timeout: float = 30.0,
        name: str = "default",
    ):
        self.api_base_url = api_base_url.rstrip("/")
        self.visibility = visibility
        self.name = name
        self._token = access_token
        self._timeout = timeout
        self._api: Mastodon | None = None
        self._max_characters: int | None = None

    def __repr__(self) -> str:
        return f"MastodonChannel(name={self.name!r}, api_base_url={self.api_base_url!r})"

    @property
    def api(self) -> Mastodon:
        if self._api is None:
            from mastodon import Mastodon

            self._api = Mastodon(
                api_base_url=self.api_base_url,
                access_token=self._token,
                ratelimit_method="throw",
                request_timeout=self._timeout,
                version_check_mode="none",
            )
        return self._api

    def _error(self, exc: MastodonError, action: str) -> PublishError:
        from mastodon import (
            MastodonAPIError,
            MastodonNetworkError,
            MastodonRatelimitError,
            MastodonServerError,
        )

        where = f"Mastodon {self.name} ({self.api_base_url}): {action}"
        if isinstance(exc, MastodonRatelimitError):
            reset = getattr(self._api, "ratelimit_reset", None)
            wait = max(0.0, reset - time.time()) if reset else None
            return RetryablePublishError(f"{where}: rate limited", retry_after=wait)
        if isinstance(exc, MastodonServerError):
            return RetryablePublishError(f"{where}: server error HTTP {exc.args[1]}")
        if isinstance(exc, MastodonNetworkError):
            return RetryablePublishError(f"{where}: network error ({type(exc).__name__})")
        if isinstance(exc, MastodonAPIError) and len(exc.args) >= 4:
            status, reason, detail = exc.args[1], exc.args[2], exc.args[3]
            return PublishError(f"{where}: HTTP {status} {reason}" + (f": {detail}" if detail else ""))
        return PublishError(f"{where}: {type(exc).__name__}")

    def _call(self, action: str, fn: Any, *args: Any, **kw: Any) -> Any:
        from mastodon import MastodonError

        try:
            return fn(*args, **kw)
        except MastodonError as exc:
            raise self._error(exc, action) from None  # the cause may hold request headers

    def max_characters(self) -> int:
        """The instance's post length limit (500 when it does not say)."""
        if self._max_characters is None:
            try:
                info = self._call("instance", self.api.instance)
                limit = info["configuration"]["statuses"]["max_characters"]
                self._max_characters = int(limit)
            except (PublishError, KeyError, TypeError, ValueError):
                return DEFAULT_MAX_CHARACTERS
        return self._max_characters

    def post(self, text: str, *, idempotency_key: str) -> Sent:
        status = self._call(
            "post",
            self.api.status_post,
            text,
            visibility=self.visibility,
            language="fr",
            idempotency_key=idempotency_key,
        )
        return Sent(status_id=str(status["id"]), url=str(status.get("url") or status.get("uri") or ""))

    def find_status(self, link: str, *, since: datetime, exclude: Container[str] = ()) -> Sent | None:
        """The account's own status made since ``since`` that links to exactly ``link``, and
        whose URL is not in ``exclude``; None when there is none.

        Pages through every status since then (Mastodon.py turns the date into a snowflake
        id for ``min_id``), oldest page first, not only the latest few.
        """
        me = self._call("verify credentials", self.api.account_verify_credentials)
        min_id: Any = since
        for _ in range(MAX_RECONCILE_PAGES):
            page = self._call("list statuses", self.api.account_statuses, me["id"], min_id=min_id, limit=40)
            if not page:
                return None
            for status in page:
                url = str(status.get("url") or status.get("uri") or "")
                if url not in exclude and link in _links(str(status.get("content") or "")):
                    return Sent(status_id=str(status["id"]), url=url)
            min_id = max((s["id"] for s in page), key=lambda i: int(i))
        raise RetryablePublishError(
            f"Mastodon {self.name}: over {MAX_RECONCILE_PAGES} pages of statuses to search"
        )


def _links(content: str) -> set[str]:
    """Every link a status's HTML holds, as its href and as text (exact strings, unescaped)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(content, "html.parser")
    found = {str(a["href"]) for a in soup.find_all("a", href=True)}
    found.update(w for w in soup.get_text(" ").split() if "://" in w)
    return found
