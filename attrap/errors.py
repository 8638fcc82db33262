"""One exception family, so callers catch at the level they care about.

Every error carries the source id and URL (or path) it concerns, so a log line or a status
report always says which prefecture and which file.
"""

from __future__ import annotations


class AttrapError(Exception):
    """Base of every error attrap raises on purpose."""

    def __init__(self, message: str, *, source: str | None = None, url: str | None = None):
        super().__init__(message)
        self.message = message
        self.source = source
        self.url = url

    def __str__(self) -> str:
        where = " ".join(x for x in (self.source, self.url) if x)
        return f"{self.message} [{where}]" if where else self.message


class ConfigError(AttrapError):
    """A configuration, source or pattern file is wrong."""


class FetchError(AttrapError):
    """A page or PDF could not be fetched (network, HTTP status, size, host not allowed)."""

    def __init__(
        self, message: str, *, source: str | None = None, url: str | None = None, status: int | None = None
    ):
        super().__init__(message, source=source, url=url)
        #: the HTTP status the server answered, when it answered one
        self.status = status


class NotModifiedError(FetchError):
    """A file that failed before answered 304 to a conditional GET: unchanged, still broken."""


class NotAPdfError(FetchError):
    """Something else (an HTML error page, an anti-bot challenge) was served where a PDF was expected."""


class ExtractError(AttrapError):
    """A PDF could not be read (corrupt, encrypted, too big, too slow)."""


class ClassifyError(AttrapError):
    """A rule could not be evaluated."""


class PublishError(AttrapError):
    """A post could not be sent."""
