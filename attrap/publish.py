"""Publishing: the outbox in the database, flushed to Mastodon channels.

Each flagged decree in a published category gets one post per channel, recorded in the
``posts`` table before anything is sent (queued → sending → posted | failed). Every send carries
an Idempotency-Key derived from the decree and the channel.

Without Mastodon credentials, or with ``--dry-run``, posts go to the ``dry-run`` channel: they
are printed instead of sent, and recorded there so that nothing is printed twice. Posts queued
for a real channel stay queued through a dry run and are sent by the next real one.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from attrap.classify import Ruleset
from attrap.config import Settings
from attrap.details import assess, load_windows
from attrap.errors import ConfigError, PublishError
from attrap.logs import event
from attrap.mastodon import MastodonChannel, RetryablePublishError
from attrap.render import render_post
from attrap.sources import Source
from attrap.store import Post, Store, utcnow

log = logging.getLogger(__name__)

DRY_RUN = "dry-run"
DEFAULT_MAX_CHARACTERS = 500
#: retries of a post before it is marked failed
MAX_POST_ATTEMPTS = 8
#: Mastodon keeps an Idempotency-Key about an hour; a post "sending" for longer than this is
#: looked for among the account's statuses before it is sent again
IDEMPOTENCY_WINDOW = timedelta(minutes=50)


@dataclass
class PublishReport:
    posted: int = 0
    shown: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


class Publisher:
    def __init__(self, store: Store, settings: Settings, sources: dict[str, Source], ruleset: Ruleset):
        self.store = store
        self.settings = settings
        self.names = {s.id: s.name for s in sources.values()}
        self.departments = {s.id: s.department for s in sources.values()}
        wanted = settings.publish_categories
        self.categories = [
            c.id for c in ruleset.categories.values() if (c.id in wanted if wanted else c.publish)
        ]
        self.windows = load_windows()
        self.channels: dict[str, MastodonChannel] = {}
        #: per channel: the categories it posts, and the sources it posts from (None: all)
        self.routes: dict[str, tuple[list[str], set[str] | None]] = {}
        for m in settings.channels:
            self.channels[m.name] = MastodonChannel(
                m.api_base_url, m.access_token, visibility=m.visibility, name=m.name
            )
            cats = [c for c in (m.categories or self.categories) if c in ruleset.categories]
            if m.categories and len(cats) != len(m.categories):
                unknown = sorted(set(m.categories) - set(cats))
                raise ConfigError(f"channel {m.name!r}: unknown categories {unknown}")
            sources_ok = None
            if m.departments is not None:
                sources_ok = {s.id for s in sources.values() if s.department in m.departments}
            self.routes[m.name] = (cats, sources_ok)

    @property
    def is_dry_run(self) -> bool:
        return not self.channels

    def queue(self, decree_ids: Sequence[int], *, hold: bool = False, dry_run: bool = False) -> int:
        """Put the flagged decrees' posts in the outbox; ``hold`` records them unposted."""
        added = 0
        for name, (categories, source_ids) in self.routes.items():
            added += self.store.queue_posts(decree_ids, name, categories, hold=hold, source_ids=source_ids)
        if dry_run or self.is_dry_run:
            added += self.store.queue_posts(decree_ids, DRY_RUN, self.categories, hold=hold)
        return added

    def flush(
        self,
        *,
        dry_run: bool = False,
        limit: int | None = None,
        show: Callable[[str, str], None] | None = None,
        flush: bool = False,
        only: str | None = None,
    ) -> PublishReport:
        """Send what is due (at most ``limit`` posts); with ``dry_run``, only show it.

        ``flush`` sends everything waiting, even posts still in their backoff after a failure;
        ``only`` names the one channel to publish (a worker's job).
        """
        report = PublishReport()
        show = show or (lambda channel, text: log.info("[%s] %s", channel, text))
        for post in self.store.due_posts(DRY_RUN, limit=limit) if only in (None, DRY_RUN) else ():
            show(DRY_RUN, self._render(post.id, DEFAULT_MAX_CHARACTERS))
            self.store.update_post(post.id, status="posted", text=None, attempts=post.attempts + 1)
            report.shown += 1
        for name, channel in self.channels.items():
            if only is not None and name != only:
                continue
            remaining = None if limit is None else max(0, limit - report.posted)
            if remaining == 0:
                break
            for post in self.store.due_posts(name, limit=remaining, flush=flush):
                try:
                    text = self._render(post.id, channel.max_characters())
                except PublishError as exc:
                    self._retry(post.id, post.attempts, exc, report)
                    continue
                if dry_run:
                    show(name, text)
                    report.shown += 1
                    continue
                if post.status == "sending" and utcnow() - _aware(post.updated_at) > IDEMPOTENCY_WINDOW:
                    if self._reconcile(post, channel, text, report):
                        continue
                self.store.update_post(post.id, status="sending", text=text)
                try:
                    sent = channel.post(text, idempotency_key=post.idempotency_key)
                except RetryablePublishError as exc:
                    self._retry(post.id, post.attempts, exc, report)
                    continue
                except PublishError as exc:
                    self.store.update_post(
                        post.id, status="failed", error=str(exc), attempts=post.attempts + 1
                    )
                    report.failed += 1
                    report.errors.append(str(exc))
                    event(log, logging.WARNING, f"channel:{name}", "failed", post=post.id, error=exc)
                    continue
                self.store.update_post(
                    post.id,
                    status="posted",
                    status_id=sent.status_id,
                    status_url=sent.url,
                    error=None,
                    attempts=post.attempts + 1,
                )
                report.posted += 1
                event(log, logging.INFO, f"channel:{name}", "posted", sent.url, post=post.id)
        return report

    def _reconcile(self, post: Post, channel: MastodonChannel, text: str, report: PublishReport) -> bool:
        """A post left "sending" past the key's lifetime: was it published before the crash?"""
        link = next((w for w in text.split() if "#page=" in w), None)
        try:
            recent = channel.recent_statuses(limit=40)
        except PublishError as exc:
            self._retry(post.id, post.attempts, exc, report)
            return True
        for status_id, url, content in recent:
            if link and (link in content or html.escape(link) in content):
                self.store.update_post(
                    post.id, status="posted", status_id=status_id, status_url=url, error=None
                )
                event(log, logging.INFO, f"channel:{post.channel}", "already-posted", url, post=post.id)
                return True
        return False

    def _render(self, post_id: int, max_characters: int) -> str:
        alert = self.store.alert_for(post_id, self.names, self.departments)
        if alert.details:
            alert.flags = [
                f.text
                for f in assess(
                    alert.details,
                    category=alert.category,
                    first_seen=alert.first_seen,
                    published=alert.published,
                    signed_on=alert.signed_on,
                    windows=self.windows,
                )
            ]
        return render_post(alert, max_characters=max_characters)

    def _retry(self, post_id: int, attempts: int, exc: PublishError, report: PublishReport):
        if attempts + 1 >= MAX_POST_ATTEMPTS:
            self.store.update_post(post_id, status="failed", error=str(exc), attempts=attempts + 1)
            report.failed += 1
        else:
            wait = getattr(exc, "retry_after", None) or 30.0 * 2**attempts
            self.store.retry_later(post_id, str(exc), timedelta(seconds=wait))
            report.retrying += 1
        report.errors.append(str(exc))
        outcome = "failed" if attempts + 1 >= MAX_POST_ATTEMPTS else "retrying"
        event(log, logging.WARNING, "publish", outcome, post=post_id, error=exc)


def _aware(when: datetime) -> datetime:
    """SQLite gives back naive datetimes; ours are all UTC."""
    return when if when.tzinfo else when.replace(tzinfo=UTC)


__all__ = ["DRY_RUN", "PublishReport", "Publisher", "utcnow"]
