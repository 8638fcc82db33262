"""``attrap demo``: the whole pipeline against the bundled fixture site, with no network."""

from __future__ import annotations

from collections.abc import Callable

from attrap.config import Settings
from attrap.crawl.sources import registry
from attrap.fixtureserver import FixtureServer
from attrap.resources import data_dir
from attrap.run.pipeline import Attrap

DEMO_SOURCE = "pref13"


def run_demo(
    settings: Settings,
    *,
    port: int = 0,
    echo: Callable[[str], None] = print,
    show: Callable[[str, str], None] | None = None,
) -> int:
    """Serve fixtures/sites/pref13 on 127.0.0.1, scan it and print the posts (dry run)."""
    settings.channels = []  # the demo never posts for real
    settings.request_delay = 0.0  # our own loopback server: no politeness delay needed
    root = data_dir("fixtures/sites") / DEMO_SOURCE
    with FixtureServer(root, port=port) as server:
        source = registry()[DEMO_SOURCE].rebased(server.base_url)
        echo(f"Fixture site for {source.name} served at {server.base_url}")
        echo(f"Database: {settings.database_url}")
        app = Attrap(settings)
        try:
            report = app.scan(source, dry_run=True)
            echo(
                f"{report.pdfs_found} RAA found, {report.pdfs_new} new, {report.processed} read, "
                f"{len(report.flagged)} decree(s) flagged"
            )
            for f in report.flagged:
                echo(f"  [{', '.join(f.categories)}] {f.title}\n      {f.link}")
            pub = app.publish(dry_run=True, show=show)
            echo(f"{pub.shown} post(s) printed (dry run; nothing is sent).")
            if report.pdfs_new == 0:
                echo("Nothing new since the last demo run: delete the data directory to start over.")
        finally:
            app.close()
    return 0
