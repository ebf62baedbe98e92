"""In a real browser: the Admin tab fetches a pasted link from a local HTTP server, shows
the progress and summary, and its change log shows the fetch and the re-index, newest first.
(`python app.py` on a two-report corpus, driven by headless Debian Chromium.)"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import reportserver as rs
from apps import run_app
from corpora import copy_corpus
from test_browser import ARTIFACTS, CHROMIUM, FLAGS

from assistant import audit

PASSWORD = "browser-admin-password"
NORTH_NORTHANTS = "2637539_north northamptonshire/children's services inspection - 07 july 2026.pdf"
BEDFORD_2025 = "80428_bedford/children's services inspection - 27 august 2025.pdf"


def test_admin_fetch_and_change_log(tmp_path, sample_corpus):
    if not CHROMIUM.exists():
        pytest.skip(f"chromium is not installed at {CHROMIUM} (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    from playwright.sync_api import sync_playwright

    corpus = copy_corpus(sample_corpus, tmp_path / "corpus", [BEDFORD_2025])
    index = tmp_path / "index"
    files = rs.Files()
    ARTIFACTS.mkdir(exist_ok=True)
    with rs.serve(files) as base, run_app(tmp_path, corpus, index, PASSWORD) as app:
        link = base + rs.add_file(files, "50306548", sample_corpus / NORTH_NORTHANTS)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            try:
                page.goto(app.url + "/")
                page.get_by_role("tab", name="Admin").click()
                page.get_by_label("Admin password").fill(PASSWORD)
                page.locator("#admin-login").click()
                log = page.locator("#admin-log")
                # The first start built the index: the log says so, by the app.
                log.get_by_text("reindex").first.wait_for(timeout=15_000)
                page.locator("#admin-links textarea").fill(link)
                t0 = time.monotonic()
                page.locator("#admin-fetch").click()
                page.locator("#admin-message").get_by_text("1 indexed").wait_for(timeout=90_000)
                seconds = time.monotonic() - t0
                message = page.locator("#admin-message").inner_text()
                assert "fetched 1 (" in message and "0 failed" in message
                rows = log.locator("tbody tr")
                rows.nth(2).wait_for(timeout=10_000)
                newest, fetched = rows.nth(0).inner_text(), rows.nth(1).inner_text()
                assert "reindex" in newest and "admin tab (127.0.0.1)" in newest and "fetched/50306548.pdf" in newest
                assert "fetch" in fetched and "admin tab (127.0.0.1)" in fetched and "fetched/50306548.pdf" in fetched
                assert "app" in rows.nth(2).inner_text()
                page.screenshot(path=str(ARTIFACTS / "admin-fetch-log.png"), full_page=True)
                print(f"\nadmin fetch + re-index of one report in the browser: {seconds:.1f} s")
            except Exception:
                page.screenshot(path=str(ARTIFACTS / "admin-failure.png"), full_page=True)
                print(app.log.read_text()[-3000:])
                raise
            finally:
                browser.close()
    # What the browser showed is what the log on disk holds.
    records = audit.read(index)
    assert [(r.who, r.action) for r in records] == [("admin tab (127.0.0.1)", "reindex"), ("admin tab (127.0.0.1)", "fetch"), ("app", "reindex")]
    assert records[1].files[0].sha256 == audit.file_refs(sample_corpus, [NORTH_NORTHANTS])[0].sha256
    assert (Path(corpus) / "manifest.csv").read_text().count(link) == 1
