"""End to end in a real browser: `python app.py` on a temp corpus and an empty index,
driven by headless Debian Chromium through playwright.

Screenshots go to tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.support.apps import run_app
from tests.support.browser import CHROMIUM, FLAGS, ask, assistant_messages
from tests.support.paths import ARTIFACTS, ROOT

PASSWORD = "browser-test-password"
SHARED_UPLOAD = ROOT.parent / "shared" / "corpus" / "ofsted-ilacs" / "80426_barnsley" / "children's services inspection - 27 october 2023.pdf"
SAMPLE_UPLOAD = "2637539_north northamptonshire/children's services inspection - 07 july 2026.pdf"


@pytest.fixture(scope="module")
def app(tmp_path_factory, sample_corpus):
    if not CHROMIUM.exists():
        pytest.skip(f"chromium is not installed at {CHROMIUM} (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    root = tmp_path_factory.mktemp("browser")
    corpus = root / "corpus"
    if SHARED_UPLOAD.is_file():
        shutil.copytree(sample_corpus, corpus)
        upload = root / "upload" / SHARED_UPLOAD.name
        upload.parent.mkdir()
        shutil.copy(SHARED_UPLOAD, upload)
        upload_question, upload_authority = "Barnsley: how well are care leavers supported?", "Barnsley"
    else:
        # Leave one sample report out of the corpus, to be uploaded under a new name.
        shutil.copytree(sample_corpus, corpus, ignore=lambda d, names: [n for n in names if (Path(d) / n).match("*07 july 2026.pdf")])
        upload = root / "upload" / "new-report.pdf"
        upload.parent.mkdir()
        shutil.copy(sample_corpus / SAMPLE_UPLOAD, upload)
        upload_question, upload_authority = "North Northamptonshire: how well are care leavers supported?", "North Northamptonshire"
    index = root / "index"  # empty: the app builds it on start
    t0 = time.monotonic()
    with run_app(root, corpus, index, PASSWORD) as running:
        yield {
            "url": running.url + "/",
            "log": running.log,
            "upload": upload,
            "question": upload_question,
            "authority": upload_authority,
            "corpus": corpus,
            "startup": time.monotonic() - t0,
        }


def test_chat_library_and_admin_upload(app):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    log = app["log"].read_text()
    assert "embedding passages" in log, "the first start builds the index with a progress bar"
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            outside: list[str] = []
            page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(app["url"]) and not r.url.startswith("data:") else None)
            page.goto(app["url"])
            page.get_by_label("Question", exact=True).wait_for(timeout=15_000)

            # 1. A question: a cited passage with page and paragraph, quickly.
            seconds = ask(page, "Bedford 2017: how effective was the MASH?", 0)
            first = assistant_messages(page).nth(0)
            text = first.inner_text()
            assert "Bedford" in text.splitlines()[0] and "2017" in text.splitlines()[0]
            assert "p. " in text and "¶ " in text and "open PDF at p." in text
            assert first.locator("blockquote").count() >= 1
            assert first.locator("mark").count() >= 1
            # Every passage has its citation in a code block, which has a copy button.
            assert first.locator("pre").count() == first.locator("blockquote").count()
            href = first.locator("a", has_text="open PDF at p.").first.get_attribute("href")
            assert href.startswith("/report/80428_bedford/") and "#page=" in href
            pdf = page.request.get(app["url"].rstrip("/") + href.split("#")[0])
            assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
            page.screenshot(path=str(ARTIFACTS / "1-answer.png"), full_page=True)
            print(f"\nfirst answer {seconds:.2f} s after Enter (app start {app['startup']:.1f} s)")
            assert seconds < 3.0  # the target is 1 s; the margin is for a loaded CI machine

            # 2. A follow-up keeps Bedford 2017, and the filters show it.
            ask(page, "what about care leavers?", 1)
            second = assistant_messages(page).nth(1).inner_text()
            assert "Bedford" in second.splitlines()[0] and "2017" in second.splitlines()[0]
            assert "7 April 2017" in second and "14 January 2022" not in second
            assert page.locator("#f-from input").input_value() == "2017"
            assert "Bedford" in page.locator("#f-authority").inner_text()

            # Researchers: export the answer's passages, and see the topic over time.
            with page.expect_download() as dl:
                page.locator("#export-csv").click()
            exported = Path(dl.value.path()).read_text(encoding="utf-8")
            assert exported.startswith("rank,quote,") and "7 April 2017" not in exported and "2017-04-07" in exported
            with page.expect_download() as dl:
                page.locator("#export-md").click()
            assert "Page " in Path(dl.value.path()).read_text(encoding="utf-8")
            page.locator("#over-time").click()
            view = page.locator("#over-time-view")
            view.get_by_text("over time").wait_for(timeout=10_000)
            years = [y for y in ("2017", "2022", "2025") if y in view.inner_text()]
            assert years == ["2017", "2022", "2025"]
            dates = view.inner_text()
            assert dates.index("April 2017") < dates.index("January 2022") < dates.index("August 2025")

            # 3. Markup in a question is shown as text, never run or fetched.
            ask(page, "<img src=x onerror=alert(1)> **adoption** [x](http://evil.example)", 2)
            assert page.locator("#chat img").count() == 0 and page.locator("#chat a[href^='http://evil']").count() == 0
            assert "<img src=x onerror=alert(1)>" in page.locator("#chat [data-testid='user']").nth(2).inner_text()
            page.screenshot(path=str(ARTIFACTS / "2-follow-up.png"), full_page=True)

            # Everyday words: the field's terms are searched too, and the answer says which.
            ask(page, "Bedford 2022: who checks on kids living with relatives rather than in foster care?", 3)
            everyday = assistant_messages(page).nth(3)
            assert "Also searched:" in everyday.inner_text() and "kinship" in everyday.inner_text()
            assert everyday.locator("blockquote").count() >= 1
            # A place the library holds no report for: said plainly, and no other council quoted.
            ask(page, "what did inspectors say about child protection in Swansea?", 4)
            elsewhere = assistant_messages(page).nth(4)
            assert "Not in this library" in elsewhere.inner_text() and "Swansea" in elsewhere.inner_text()
            assert elsewhere.locator("blockquote").count() == 0
            page.screenshot(path=str(ARTIFACTS / "2b-everyday-and-elsewhere.png"), full_page=True)

            # 4. The library lists every report, failures with their reason.
            page.get_by_role("tab", name="Library").click()
            lib = page.locator("#library")
            lib.get_by_text("80428_bedford/children's services inspection - 14 january 2022.pdf").wait_for(timeout=10_000)
            expect(lib).to_contain_text("failed: not a PDF", use_inner_text=True, timeout=10_000)
            lib_text = lib.inner_text()
            assert "indexed" in lib_text and "failed: not a PDF" in lib_text
            page.screenshot(path=str(ARTIFACTS / "3-library.png"), full_page=True)

            # 5. Admin: log in, upload a report, re-index; it becomes answerable.
            page.get_by_role("tab", name="Admin").click()
            page.get_by_label("Admin password").fill(PASSWORD)
            page.locator("#admin-login").click()
            page.locator("#admin-status").get_by_text("Serving generation").wait_for(timeout=10_000)
            file_input = page.locator("#admin-upload input[type=file]")
            file_input.wait_for(state="attached", timeout=10_000)
            file_input.set_input_files(str(app["upload"]))
            page.locator("#admin-upload").get_by_text(app["upload"].name).wait_for(timeout=15_000)
            page.locator("#admin-add").click()
            page.locator("#admin-message").get_by_text("1 indexed").wait_for(timeout=60_000)
            assert "Added uploads/" in page.locator("#admin-message").inner_text()
            page.screenshot(path=str(ARTIFACTS / "4-admin-upload.png"), full_page=True)

            page.get_by_role("tab", name="Ask").click()
            page.locator("#new-topic").click()
            page.wait_for_function("() => document.querySelectorAll(\"#chat [data-testid='bot']\").length === 0")
            ask(page, app["question"], 0)
            answer = assistant_messages(page).nth(0)
            assert app["authority"] in answer.inner_text().splitlines()[0]
            hrefs = [a.get_attribute("href") for a in answer.locator("a", has_text="open PDF at p.").all()]
            assert hrefs and all(h.startswith("/report/uploads/") for h in hrefs)
            page.screenshot(path=str(ARTIFACTS / "5-uploaded-answer.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "failure.png"), full_page=True)
            print(app["log"].read_text()[-3000:])
            raise
        finally:
            browser.close()
    assert not dialogs
    assert not outside, f"the page fetched outside addresses: {outside[:5]}"
    assert (app["corpus"] / "uploads").is_dir()
