"""Posts: rendered from a template (``attrap/templates/post.txt``, or ``ATTRAP_POST_TEMPLATE``).

The template is plain text with ``$heading``, ``$prefecture``, ``$title``, ``$details``, ``$url``
and ``$hashtags``; a maintainer changes the wording without touching code. The post always fits
the instance's limit, counting a link as 23 characters as Mastodon does: only the title is
shortened. Text from PDFs is untrusted: control characters are dropped and "@" cannot mention.
"""

from __future__ import annotations

import os
import string
from pathlib import Path

import regex

from attrap.frdates import format_date
from attrap.model import Alert

URL_LENGTH = 23
_URL = regex.compile(r"https?://\S+")
_CONTROL = regex.compile(r"[\p{Cc}\p{Cf}]")

HEADINGS = {
    "drone": "🚁 Autorisation de drones",
    "avs": "🎥 Autorisation de vidéosurveillance algorithmique (VSA)",
    "videoprotection": "📹 Autorisation de vidéoprotection",
}
HASHTAGS = {
    "drone": "#drones #Technopolice",
    "avs": "#VSA #Technopolice",
    "videoprotection": "#vidéoprotection",
}


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


def render_post(alert: Alert, *, max_characters: int = 500, template: str | None = None) -> str:
    tpl = string.Template(template if template is not None else load_template())
    tags = HASHTAGS.get(alert.category, "#Technopolice")
    if alert.department:
        tags += f" #dep{alert.department}"
    values = {
        "heading": HEADINGS.get(alert.category, f"Autorisation ({alert.category})"),
        "prefecture": clean(alert.source_name),
        "details": f"Signé le {format_date(alert.signed_on)}\n" if alert.signed_on else "",
        "url": alert.url,
        "hashtags": tags,
    }
    title = clean(alert.title) or "(sans titre)"
    text = tpl.safe_substitute(values, title=title).strip()
    over = post_length(text) - max_characters
    if over > 0:
        keep = max(0, len(title) - over - 1)
        short = title[:keep].rstrip(" ,;:-") + "…"
        text = tpl.safe_substitute(values, title=short).strip()
    return text
