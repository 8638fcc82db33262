"""Write the README's screenshots of the web interface: docs/home.png and docs/decree.png.

    .venv/bin/python docs/screenshots.py [--out DIR] [--chromium /usr/bin/chromium]

Fills a throwaway SQLite store from the bundled fixture site (the Bouches-du-Rhône, served on
127.0.0.1, scanned with posting as a dry run), serves it with ``attrap serve``'s app under uvicorn
(in a thread, on a free port), and takes the pictures in Debian's chromium driven by Playwright,
JavaScript off, as the browser test does.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from attrap.config import Settings
from attrap.fixtureserver import FixtureServer
from attrap.resources import data_dir
from attrap.serve.api import serving_in_thread

HERE = Path(__file__).resolve().parent


def serving(env: dict[str, str]):
    """``attrap serve``'s app over the environment's store, on a free port of 127.0.0.1."""
    return serving_in_thread(Settings.load(env=env))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="where to write the PNGs (default: docs/)")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="the browser to drive")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, FixtureServer(data_dir("fixtures/sites") / "pref13") as site:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ATTRAP_", "MASTODON_"))}
        env.update(
            ATTRAP_DATA_DIR=f"{tmp}/data",
            ATTRAP_DATABASE_URL=f"sqlite:///{tmp}/attrap.db",
            ATTRAP_REQUEST_DELAY="0",
        )
        scan = ["scan", "pref13", "--base-url", site.base_url, "--dry-run"]
        subprocess.run([sys.executable, "-m", "attrap.cli", *scan], env=env, check=True, capture_output=True)
        with serving(env) as base, sync_playwright() as p:
            # on Linux, chromium takes the locale of date fields from the environment
            browser = p.chromium.launch(
                executable_path=args.chromium, headless=True, env={**os.environ, "LANGUAGE": "fr"}
            )
            page = browser.new_page(
                java_script_enabled=False, locale="fr-FR", viewport={"width": 1200, "height": 1150}
            )
            page.goto(base + "/")
            page.screenshot(path=str(args.out / "home.png"))
            page.goto(base + "/?q=v%C3%A9lodrome")
            page.locator("li.decree h2 a").first.click()
            page.wait_for_url("**/decret/*")
            page.screenshot(path=str(args.out / "decree.png"), full_page=True)
            browser.close()
    for name in ("home.png", "decree.png"):
        print(args.out / name)


if __name__ == "__main__":
    main()
