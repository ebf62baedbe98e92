"""In a real browser: the Admin tab fetches a pasted link from a local HTTP server, shows
the progress and summary, and its change log shows the fetch and the re-index, newest first.
Then an upload for review: the table shows what the report states, the admin corrects its
date, re-indexes, and the answer cites the corrected date.
(`python app.py` on a two-report corpus, driven by headless Debian Chromium.)"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from assistant.admin import audit
from tests.support import reportserver as rs
from tests.support.apps import queue_event, run_app
from tests.support.browser import CHROMIUM, FLAGS, ask, assistant_messages
from tests.support.corpora import copy_corpus
from tests.support.paths import ARTIFACTS

PASSWORD = "browser-admin-password"
NORTH_NORTHANTS = "2637539_north northamptonshire/children's services inspection - 07 july 2026.pdf"
BEDFORD_2025 = "80428_bedford/children's services inspection - 27 august 2025.pdf"
BEDFORD_2022 = "80428_bedford/children's services inspection - 14 january 2022.pdf"  # prints no publication date


def test_admin_fetch_and_change_log(tmp_path, sample_corpus):
    if not CHROMIUM.exists():
        pytest.skip(f"chromium is not installed at {CHROMIUM} (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    from playwright.sync_api import expect, sync_playwright

    corpus = copy_corpus(sample_corpus, tmp_path / "corpus", [BEDFORD_2025])
    upload = tmp_path / "inspection report.pdf"
    upload.write_bytes((sample_corpus / BEDFORD_2022).read_bytes())
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

                # Upload for review: what the report states, before any re-index.
                t0 = time.monotonic()
                file_input = page.locator("#admin-upload input[type=file]")
                file_input.wait_for(state="attached", timeout=10_000)
                file_input.set_input_files(str(upload))
                page.locator("#admin-upload").get_by_text(upload.name).wait_for(timeout=30_000)
                page.locator("#admin-add-review").click()
                review = page.locator("#admin-review")
                # inner text: the data frame also keeps hidden copies of its cells for measuring.
                expect(review).to_contain_text("Margaret Burke", use_inner_text=True, timeout=30_000)
                table = review.inner_text()
                assert all(t in table for t in ("uploads/inspection report.pdf", "Bedford Borough", "not stated", "Good")), table
                assert "not indexed yet" in page.locator("#admin-message").inner_text()
                # A wrong password changes nothing, over raw HTTP as in the browser.
                refused = queue_event(app.url, "on_correct", ["wrong", "uploads/inspection report.pdf", "Luton", "2021-12-03", []])
                assert refused["output"]["data"][0] == "Wrong password."
                date_box = page.locator("#admin-fix-date textarea, #admin-fix-date input").first
                date_box.fill("2021-02-30")
                page.locator("#admin-fix-save").click()
                page.locator("#admin-message").get_by_text("does not exist").wait_for(timeout=30_000)
                date_box.fill("2021-12-03")
                page.locator("#admin-fix-save").click()
                page.locator("#admin-message").get_by_text("Saved for").wait_for(timeout=30_000)
                expect(review).to_contain_text("Bedford Borough; 2021-12-03", use_inner_text=True, timeout=30_000)
                page.screenshot(path=str(ARTIFACTS / "admin-upload-review.png"), full_page=True)
                page.locator("#admin-reindex").click()
                page.locator("#admin-message").get_by_text("1 indexed").wait_for(timeout=60_000)
                page.get_by_role("tab", name="Ask").click()
                ask(page, "How well were care leavers supported in 2021?", 0, timeout_ms=60_000)
                answer = assistant_messages(page).nth(0)
                # The title names the authority, so the heading does not repeat it (issue 20: the title once).
                assert "Bedford Borough local authority children’s services — 3 December 2021" in answer.inner_text()
                assert "published 2021-12-03" in answer.text_content()  # the citation, folded under "copy citation"
                page.screenshot(path=str(ARTIFACTS / "admin-upload-corrected.png"), full_page=True)
                print(f"upload for review, correct the date, re-index and ask in the browser: {time.monotonic() - t0:.1f} s")
            except Exception:
                page.screenshot(path=str(ARTIFACTS / "admin-failure.png"), full_page=True)
                print(app.log.read_text()[-3000:])
                raise
            finally:
                browser.close()
    # What the browser showed is what the log on disk holds.
    records = audit.read(index)
    admin = "admin tab (127.0.0.1)"
    assert [(r.who, r.action) for r in records] == [(admin, a) for a in ("reindex", "correct", "upload", "reindex", "fetch")] + [("app", "reindex")]
    assert records[4].files[0].sha256 == audit.file_refs(sample_corpus, [NORTH_NORTHANTS])[0].sha256
    assert (Path(corpus) / "corrections.csv").read_text().splitlines()[1] == "uploads/inspection report.pdf,Bedford Borough,2021-12-03"
    assert (Path(corpus) / "manifest.csv").read_text().count(link) == 1
