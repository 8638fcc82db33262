"""The polite fetcher against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from attrap.config import USER_AGENT
from attrap.crawl.fetch import Fetcher, HostThrottle
from attrap.errors import FetchError, NotAPdfError
from attrap.fixtureserver import FixtureServer

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def site(tmp_path: Path):
    root = tmp_path / "site"
    (root / "Publications" / "RAA").mkdir(parents=True)
    (root / "Publications" / "RAA" / "index.html").write_text("<html><main>RAA</main></html>")
    (root / "files").mkdir()
    (root / "files" / "raa.pdf").write_bytes(PDF)
    (root / "private").mkdir()
    (root / "private" / "index.html").write_text("secret")
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /private\n")
    with FixtureServer(root) as server:
        yield server


def _fetcher(server, tmp_path=None, **kw) -> Fetcher:
    host = server.base_url.split("//", 1)[1]
    kw.setdefault("delay", 0)
    kw.setdefault("backoff", 0.05)
    return Fetcher(source_id="pref13", allowed_hosts={host}, throttle=HostThrottle(), **kw)


def test_page_is_fetched_with_an_honest_user_agent(site):
    with _fetcher(site) as f:
        page = f.get_page(site.base_url + "/Publications/RAA")
    assert "RAA" in page.text
    agents = {r.headers.get("User-Agent") for r in site.requests}
    assert agents == {USER_AGENT}
    assert "+https://" in USER_AGENT  # a contact URL


def test_robots_txt_is_honoured(site):
    with _fetcher(site) as f, pytest.raises(FetchError, match="robots.txt"):
        f.get_page(site.base_url + "/private")
    assert not any(r.path.startswith("/private") for r in site.requests)


@pytest.mark.parametrize("status", [429, 503])
def test_429_and_503_are_retried_honouring_retry_after(site, status):
    site.inject("/Publications/RAA", status, times=2, headers={"Retry-After": "1"})
    with _fetcher(site) as f:
        t0 = time.monotonic()
        page = f.get_page(site.base_url + "/Publications/RAA")
        waited = time.monotonic() - t0
    assert "RAA" in page.text
    hits = [r.status for r in site.requests if r.path == "/Publications/RAA"]
    assert hits == [status, status, 200]
    assert waited >= 2.0  # Retry-After: 1, twice


def test_retries_are_bounded(site):
    site.inject("/Publications/RAA", 503, times=10)
    with _fetcher(site, max_retries=2) as f, pytest.raises(FetchError, match="HTTP 503 after 3"):
        f.get_page(site.base_url + "/Publications/RAA")


def test_a_pdf_is_downloaded_to_a_content_addressed_file(site, tmp_path):
    with _fetcher(site) as f:
        dl = f.download_pdf(site.base_url + "/files/raa.pdf", tmp_path / "pdfs")
    assert dl.path.read_bytes() == PDF and dl.size == len(PDF)
    assert dl.path.name == f"{dl.sha256}.pdf"


def test_html_served_as_a_pdf_is_an_error_and_leaves_nothing(site, tmp_path):
    site.replace("/files/raa.pdf", b"<!DOCTYPE html><html>Challenge</html>", "text/html")
    with _fetcher(site) as f, pytest.raises(NotAPdfError, match="HTML page"):
        f.download_pdf(site.base_url + "/files/raa.pdf", tmp_path / "pdfs")
    assert list((tmp_path / "pdfs").iterdir()) == []


def test_a_pdf_over_the_size_cap_is_refused(site, tmp_path):
    with _fetcher(site) as f, pytest.raises(FetchError, match="over the cap"):
        f.download_pdf(site.base_url + "/files/raa.pdf", tmp_path / "pdfs", max_bytes=10)
    assert list((tmp_path / "pdfs").iterdir()) == []


def test_a_redirect_to_another_host_is_refused(site):
    site.inject("/Publications/RAA", 302, headers={"Location": "http://example.org/elsewhere"})
    with _fetcher(site) as f, pytest.raises(FetchError, match="host not allowed") as err:
        f.get_page(site.base_url + "/Publications/RAA")
    assert err.value.source == "pref13"


def test_requests_to_one_host_are_spaced_by_the_delay(site):
    with _fetcher(site, delay=0.3) as f:
        for _ in range(3):
            f.get_page(site.base_url + "/Publications/RAA")
    times = [r.time for r in site.requests]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 0.25


def test_no_test_reaches_a_real_site():
    """tests/conftest.py sends every request not to 127.0.0.1 to a local recorder that refuses
    it and fails the test that made it: a source's real URL is never looked up, here and in the
    CLI subprocesses, whose environment (``cli_env``) is a copy of this one."""
    import os

    from attrap.errors import FetchError
    from tests.conftest import _WEB_GUARD

    real = "https://www.bouches-du-rhone.gouv.fr/Publications/RAA-et-Archives"
    with Fetcher(
        source_id="pref13", allowed_hosts={"www.bouches-du-rhone.gouv.fr"}, delay=0, max_retries=0
    ) as f:
        with pytest.raises(FetchError):
            f.get_page(real)
    assert set(_WEB_GUARD.tried) == {"CONNECT www.bouches-du-rhone.gouv.fr:443 HTTP/1.1"}  # robots.txt, page
    _WEB_GUARD.tried.clear()  # made on purpose here: not this test's failure
    assert os.environ["HTTPS_PROXY"] == _WEB_GUARD.url and "127.0.0.1" in os.environ["NO_PROXY"]
