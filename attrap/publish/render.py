"""Posts: rendered from a template (``attrap/templates/post.txt``, or ``ATTRAP_POST_TEMPLATE``).

The template is plain text with ``$heading``, ``$prefecture``, ``$title``, ``$where`` (places and
event), ``$when`` (the authorised period), ``$who`` (the service, the number of aircraft or
cameras), ``$flags`` (published late, outside any legal window), ``$details`` (signature date),
``$url`` and ``$hashtags``; each detail line is empty when the decree does not state it. A
maintainer changes the wording without touching code. The post always fits the instance's
limit, counting a link as 23 characters as Mastodon does: the title is shortened first, then
the places. Text from PDFs is untrusted: control characters are dropped and "@" cannot mention.
"""

from __future__ import annotations

import functools
import os
import string
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import regex

from attrap.model import Alert, Change, Details
from attrap.rules.changes import PARTICIPLES, VERBS
from attrap.rules.frdates import format_date, format_period

if TYPE_CHECKING:
    from attrap.rules.classify import Category

URL_LENGTH = 23
_URL = regex.compile(r"https?://\S+")
_CONTROL = regex.compile(r"[\p{Cc}\p{Cf}]")


def _categories() -> dict[str, Category]:
    """The categories of the patterns directory in use (ATTRAP_PATTERNS_DIR, else patterns/)."""
    from attrap.resources import data_dir

    return _categories_of(data_dir("patterns", "ATTRAP_PATTERNS_DIR"))


@functools.cache
def _categories_of(directory: Path) -> dict[str, Category]:
    from attrap.rules.classify import load_categories

    return load_categories(directory)


def post_length(text: str) -> int:
    """Length as Mastodon counts it: every http(s) link is 23 characters."""
    return len(_URL.sub("x" * URL_LENGTH, text))


def clean(text: str) -> str:
    """Untrusted text made safe to post: one line, no control characters, no mentions."""
    text = _CONTROL.sub(" ", text)
    text = " ".join(text.split())
    return text.replace("@", "@\u200b")


def load_template() -> str:
    path = os.environ.get("ATTRAP_POST_TEMPLATE")
    file = Path(path) if path else Path(__file__).parent / "templates" / "post.txt"
    return file.read_text(encoding="utf-8")


def render_post(
    alert: Alert, *, max_characters: int = 500, template: str | None = None, category: Category | None = None
) -> str:
    """The post for ``alert``; ``category`` (patterns/categories.toml) gives its heading and
    hashtags (by default, those of the project's categories file). An alert about a change (an
    abrogation, a modification of a decree posted before) is told as that change."""
    if category is None:
        category = _categories().get(alert.category)
    if alert.change is not None:
        return _render_change(alert, alert.change, max_characters, category)
    tpl = string.Template(template if template is not None else load_template())
    tags = category.hashtags if category else "#Technopolice"
    if alert.department:
        tags += f" #dep{alert.department}"
    d = alert.details
    places = [clean(p) for p in d.places] if d else []
    event = clean(d.event) if d and d.event else ""
    # the parts that may give way, each shortened or dropped in this order when over the limit
    parts = {
        "title": clean(alert.title) or "(sans titre)",
        "where": " — ".join(x for x in ("; ".join(places), event) if x),
        "who": _who(d) if d else "",
        "details": f"Signé le {format_date(alert.signed_on)}" if alert.signed_on else "",
        "when": format_period(d.start, d.end) if d else "",
        "flags": "\n".join([f"⚠️ {clean(f)}" for f in alert.flags] + [_changes(c) for c in alert.changes]),
    }
    fixed = {
        "heading": category.heading if category else f"Autorisation ({alert.category})",
        "prefecture": clean(alert.source_name),
        "url": alert.url,
        "hashtags": tags,
    }

    def fill() -> str:
        values = {
            **fixed,
            "title": parts["title"],
            "where": _line("📍 ", parts["where"]),
            "when": _line("🗓 ", parts["when"]),
            "who": _line("👮 ", parts["who"]),
            "details": _line("", parts["details"]),
            "flags": _line("", parts["flags"]),
        }
        return tpl.safe_substitute(values).strip()

    # Over the limit: the title gives way first (down to 60 characters), then long places, then
    # the rest of the title, the places, the service, the signature date, the period, the flags.
    order = [("title", 60), ("where", 60), ("title", 0), ("where", 0), ("who", 0)]
    order += [("details", 0), ("when", 0), ("flags", 0)]
    for part, floor in order:
        over = post_length(fill()) - max_characters
        if over <= 0:
            break
        text = parts[part]
        if len(text) > floor:
            parts[part] = _shorten(text, max(floor, len(text) - over - 1))
    return fill()


def _shorten(text: str, keep: int) -> str:
    if len(text) <= keep:
        return text
    return text[:keep].rstrip(" ,;:-") + "…" if keep > 0 else ""


def _line(prefix: str, value: str) -> str:
    return f"{prefix}{value}\n" if value else ""


def _who(d: Details) -> str:
    parts = [clean(d.service)] if d.service else []
    if d.aircraft:
        parts.append(f"{d.aircraft} aéronef{'s' if d.aircraft > 1 else ''}")
    if d.cameras:
        parts.append(f"{d.cameras} caméra{'s' if d.cameras > 1 else ''}")
    return ", ".join(parts)


#: how a change opens its post, before the changed decree's category heading
CHANGE_HEADINGS = {
    "abrogation": "↩️ Abrogée", "retrait": "↩️ Retirée", "suspension": "⏸️ Suspendue",
    "modification": "✏️ Modifiée",
}  # fmt: skip


def _changes(c: Change) -> str:
    """ "✏️ Modifie l'arrêté n° … du … (publication : URL)" on a decree's own post."""
    said = f"✏️ {VERBS.get(c.kind, c.kind)} {_cited('', c.number, c.signed_on)}"
    return said + (f" (publication : {c.status_url})" if c.status_url else "")


def _cited(title: str, number: str | None, signed_on: date | None) -> str:
    name = "l'arrêté" + (f" n° {clean(number)}" if number else "")
    if signed_on:
        name += f" du {format_date(signed_on)}"
    return f"{name} « {title} »" if title else name


def _render_change(alert: Alert, change: Change, max_characters: int, category: Category | None) -> str:
    """ "↩️ Abrogée : 🚁 Autorisation de drones", the decree changed and the one changing it, the
    post that announced the first, the link to the second's page."""
    tpl = string.Template((Path(__file__).parent / "templates" / "change.txt").read_text(encoding="utf-8"))
    heading = category.heading if category else f"Autorisation ({alert.category})"
    tags = (category.hashtags if category else "#Technopolice") + (
        f" #dep{alert.department}" if alert.department else ""
    )
    participle = PARTICIPLES.get(change.kind, change.kind)
    titles = {"changed": clean(change.title), "by": clean(alert.title)}

    def fill() -> str:
        changed = _cited(titles["changed"], change.number, change.signed_on)
        values = {
            "heading": f"{CHANGE_HEADINGS.get(change.kind, '↩️')} : {heading}",
            "prefecture": clean(alert.source_name),
            "changed": changed[0].upper() + changed[1:],
            "by": f"est {participle} par {_cited(titles['by'], alert.number, alert.signed_on)}.",
            "original": _line("Publication d'origine : ", change.status_url or ""),
            "url": alert.url,
            "hashtags": tags,
        }
        return tpl.safe_substitute(values).strip()

    for part in ("by", "changed"):  # the titles give way, the changing one first
        over = post_length(fill()) - max_characters
        if over > 0:
            titles[part] = _shorten(titles[part], max(0, len(titles[part]) - over - 1))
    return fill()
