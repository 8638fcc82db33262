"""Publishing: the outbox in the database, flushed to Mastodon channels.

Each flagged decree in a published category gets one post per channel, recorded in the
``posts`` table before anything is sent (queued → sending → posted | failed). Every send carries
an Idempotency-Key derived from the decree and the channel.

Without Mastodon credentials, or with ``--dry-run``, posts go to the ``dry-run`` channel: they
are printed instead of sent, and recorded there so that nothing is printed twice. Posts queued
for a real channel stay queued through a dry run and are sent by the next real one.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from attrap import faults
from attrap.config import Settings
from attrap.crawl.sources import Source
from attrap.errors import ConfigError, PublishError
from attrap.logs import event
from attrap.publish.mastodon import MastodonChannel, RetryablePublishError
from attrap.publish.render import render_post
from attrap.rules.classify import Ruleset
from attrap.rules.details import assess, load_windows
from attrap.rules.review import REASONS
from attrap.store.db import Post, Route, Store, aware, utcnow

log = logging.getLogger(__name__)

DRY_RUN = "dry-run"
DEFAULT_MAX_CHARACTERS = 500
#: retries of a post before it is marked failed
MAX_POST_ATTEMPTS = 8
#: Mastodon keeps an Idempotency-Key about an hour; a post first sent longer ago than this and
#: not known posted is looked for on the account before it is sent again
IDEMPOTENCY_WINDOW = timedelta(minutes=50)
#: how far before its first send a post's status is looked for (clocks differ)
RECONCILE_MARGIN = timedelta(minutes=10)
#: a post claimed by a sender on another machine is taken back after this long (a send takes
#: at most the client's 30 s timeout; on this machine a dead sender is seen at once)
CLAIM_LEASE = timedelta(minutes=5)


def _process_start(pid: int) -> str | None:
    """The kernel's start time of process ``pid`` (Linux), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


#: who claims posts from this process: host, pid and the process's start time
OWNER = f"{socket.gethostname()}:{os.getpid()}:{_process_start(os.getpid()) or 0}"


def owner_alive(owner: str | None) -> bool:
    """False when ``owner`` is a process of this machine that is gone; True when it lives or
    is on another machine (its claim then ends with the lease)."""
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    pid, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    if not Path("/proc/self/stat").exists():  # no /proc to tell: the lease decides
        return True
    return _process_start(int(pid)) == start


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
        #: every category, as categories.toml presents it (headings, hashtags)
        self.presented = dict(ruleset.categories)
        self.names = {s.id: s.name for s in sources.values()}
        self.departments = {s.id: s.department for s in sources.values()}
        wanted = settings.publish_categories
        self.categories = [
            c.id for c in ruleset.categories.values() if (c.id in wanted if wanted else c.publish)
        ]
        self.windows = load_windows()
        #: categories whose doubtful decisions wait for ``attrap review`` (the others: marked)
        self.review = frozenset(c.id for c in ruleset.categories.values() if c.doubtful == "hold")
        self.channels: dict[str, MastodonChannel] = {}
        #: per channel: the categories it posts, and the sources it posts from (None: all)
        self.channel_routes: list[Route] = []
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
                sources_ok = frozenset(s.id for s in sources.values() if s.department in m.departments)
            self.channel_routes.append(Route(m.name, tuple(cats), sources_ok, self.review))

    @property
    def is_dry_run(self) -> bool:
        return not self.channels

    def routes(self, *, dry_run: bool = False) -> list[Route]:
        """Where flagged decrees are posted: every channel, and the dry-run one when nothing
        is sent (no credentials, or ``dry_run``)."""
        if dry_run or self.is_dry_run:
            return [*self.channel_routes, Route(DRY_RUN, tuple(self.categories), review=self.review)]
        return self.channel_routes

    def sweep(self, *, stuck_after: timedelta) -> int:
        """Run with each publishing pass: queue what has no post yet, put stuck recueils back."""
        routes = self.routes()
        self.store.register_channels([r.channel for r in routes])
        added = self.store.queue_missing(routes)
        if added:
            reason = "flagged decrees without a post"
            event(log, logging.WARNING, "publish", "swept", queued=added, reason=reason)
        for url in self.store.requeue_stuck(stuck_after):
            reason = f"left queued or reading over {stuck_after}"
            event(log, logging.WARNING, "publish", "requeued", url, reason=reason)
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
        ``only`` names the one channel to publish (a worker's job). Each post is claimed
        atomically before it is sent, so publishers running at once never send one twice.
        """
        report = PublishReport()
        show = show or (lambda channel, text: log.info("[%s] %s", channel, text))
        for post in self.store.due_posts(DRY_RUN, limit=limit) if only in (None, DRY_RUN) else ():
            if self._claim(post) is None:
                continue
            show(DRY_RUN, self._render(post.id, DEFAULT_MAX_CHARACTERS)[0])
            self.store.update_post(post.id, status="posted", text=None, attempts=post.attempts + 1)
            report.shown += 1
        for name, channel in self.channels.items():
            if only is not None and name != only:
                continue
            remaining = None if limit is None else max(0, limit - report.posted)
            if remaining == 0:
                break
            for post in self.store.due_posts(name, limit=remaining, flush=flush):
                if dry_run:
                    show(name, self._render(post.id, channel.max_characters())[0])
                    report.shown += 1
                    continue
                self._send(post, channel, report)
        return report

    def _claim(self, post: Post) -> Post | None:
        """The post, now ours to send; None when a live sender holds it."""
        dead = post.claimed_by if post.status == "sending" and not owner_alive(post.claimed_by) else None
        return self.store.claim_post(post.id, OWNER, lease=CLAIM_LEASE, dead_owner=dead)

    def _send(self, queued: Post, channel: MastodonChannel, report: PublishReport) -> None:
        post = self._claim(queued)
        if post is None:
            return
        name = post.channel
        faults.point("claimed")
        try:
            text, link = self._render(post.id, channel.max_characters())
        except PublishError as exc:
            self._retry(post.id, post.attempts, exc, report)
            return
        expired = post.first_sent_at is not None and utcnow() - aware(post.first_sent_at) > IDEMPOTENCY_WINDOW
        # past the key's lifetime the server may have forgotten it: was it published before?
        if expired and self._reconcile(post, channel, link, report):
            return
        self.store.sending(post.id, text, new_window=expired)
        try:
            sent = channel.post(text, idempotency_key=post.idempotency_key)
        except RetryablePublishError as exc:
            self._retry(post.id, post.attempts, exc, report)
            return
        except PublishError as exc:
            self.store.update_post(post.id, status="failed", error=str(exc), attempts=post.attempts + 1)
            report.failed += 1
            report.errors.append(str(exc))
            event(log, logging.WARNING, f"channel:{name}", "failed", post=post.id, error=exc)
            return
        faults.point("sent")
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

    def _reconcile(self, post: Post, channel: MastodonChannel, link: str, report: PublishReport) -> bool:
        """A post first sent longer ago than the key's lifetime and not known posted: look for
        it on the account, by its link (the decree's exact page: its identity), among the
        statuses made since it was first sent that no other post took as its own."""
        assert post.first_sent_at is not None
        try:
            found = channel.find_status(
                link,
                since=aware(post.first_sent_at) - RECONCILE_MARGIN,
                exclude=self.store.posted_status_urls(),
            )
        except PublishError as exc:
            self._retry(post.id, post.attempts, exc, report)
            return True
        if found is None:
            return False
        self.store.update_post(
            post.id, status="posted", status_id=found.status_id, status_url=found.url, error=None
        )
        event(log, logging.INFO, f"channel:{post.channel}", "already-posted", found.url, post=post.id)
        return True

    def _render(self, post_id: int, max_characters: int) -> tuple[str, str]:
        """The post's text, and the link to the decree's page it carries (its identity)."""
        alert = self.store.alert_for(post_id, self.names, self.departments)
        alert.flags = [
            f.text
            for f in assess(
                alert.details,
                category=alert.category,
                first_seen=alert.first_seen,
                published=alert.published,
                signed_on=alert.signed_on,
                windows=self.windows,
                from_sommaire=alert.from_sommaire,
                pages_missing=alert.pages_missing,
            )
        ]
        category = self.presented.get(alert.category)
        if alert.doubts and alert.change is None and alert.category not in self.review:
            alert.flags.append("À vérifier : " + " ; ".join(REASONS.get(r, r) for r in alert.doubts))
        return render_post(alert, max_characters=max_characters, category=category), alert.url

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


__all__ = ["DRY_RUN", "PublishReport", "Publisher", "utcnow"]
