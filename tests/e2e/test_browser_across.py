"""The across-reports view and the answer order, in a real browser: `python app.py` on
a copy of the sample corpus, driven by headless Debian Chromium through playwright.

An across question draws its chart; the count, the table, the API's JSON and the
exports (CSV, BibTeX) agree; a bar's year narrows the passages; the chat switches
between best-passage-first and newest-report-first.

Screenshots go to tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

import csv
import re
import shutil
from datetime import datetime
from pathlib import Path

import bibtexparser
import pytest

from tests.support.apps import run_app
from tests.support.browser import CHROMIUM, FLAGS
from tests.support.paths import ARTIFACTS

THEME = "return home interviews for children who go missing"
# Asked of every report, several reports answer each; the test takes the first whose best
# passage is not from the newest report (which one that is moves with the model), so that
# "newest report first" visibly reorders the answer.
SPREAD = (
    "how well are care leavers supported?",
    "are social workers' caseloads manageable?",
    "how are children in care helped with school?",
    "what did inspectors say about the front door?",
    "how good is supervision of social workers?",
)


@pytest.fixture(scope="module")
def app(tmp_path_factory, sample_corpus, sample_index):
    if not CHROMIUM.exists():
        pytest.skip(f"chromium is not installed at {CHROMIUM} (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    root = tmp_path_factory.mktemp("browser-across")
    corpus = root / "corpus"
    shutil.copytree(sample_corpus, corpus)
    index = root / "index"  # the session's built index, so the app starts without building
    shutil.copytree(sample_index, index, ignore=shutil.ignore_patterns("build.lock"))
    with run_app(root, corpus, index, "across-test-password") as running:
        yield running


def _downloaded(page, selector: str) -> str:
    with page.expect_download() as dl:
        page.locator(selector).click()
    return Path(dl.value.path()).read_text(encoding="utf-8")


def _pick(page, elem_id: str, option: str) -> None:
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=option, exact=True).click()


def _headings_dates(message) -> list[datetime | None]:
    out = []
    for h in message.locator("h4").all_inner_texts():
        m = re.search(r"(\d{1,2} [A-Z][a-z]+ \d{4})$", h.strip())
        out.append(datetime.strptime(m.group(1), "%d %B %Y") if m else None)
    return out


def _reports_in_order(hits: list[dict]) -> list[str]:
    """Each report's publication date once, in the order its best passage comes."""
    seen: dict[str, str] = {}
    for h in hits:
        seen.setdefault(h["source"], h["published"])
    return list(seen.values())


def _spread_question(client) -> str:
    for question in SPREAD:
        dates = _reports_in_order(client.predict(question, api_name="/ask")["hits"])
        if len(dates) >= 3 and dates != sorted(dates, reverse=True):
            return question
    raise AssertionError(f"every one of {SPREAD} has its best passage in the newest report: add a question")


def test_across_reports_chart_count_table_exports_and_order(app):
    from gradio_client import Client
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    api = Client(app.url + "/", verbose=False).predict(THEME, api_name="/across")
    assert api["reports_full"] >= 3 and api["rows"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        try:
            page.goto(app.url + "/")
            page.get_by_role("tab", name="Across all reports").click()
            page.locator("#across-question textarea, #across-question input").first.fill(THEME)
            page.locator("#across-search").click()
            summary = page.locator("#across-summary")
            summary.get_by_text("matched fully").wait_for(timeout=20_000)

            # The count on screen is the API's, and so are the rows of the table.
            text = summary.inner_text()
            assert text.startswith(api["summary"].rstrip(".")), (text, api["summary"])
            assert f"{api['reports_full']} matched fully, {api['reports_partial']} in part" in text
            table = page.locator("#across-table")
            table.get_by_text(api["rows"][0]["local_authority"]).first.wait_for(timeout=10_000)
            # The grid virtualises its rows; it states how many it has (the header row included).
            assert int(table.locator("[role=grid]").get_attribute("aria-rowcount")) - 1 == len(api["rows"])
            cells = [c.strip() for c in table.inner_text().splitlines()]
            assert cells.count("full") == api["reports_full"] and cells.count("partial") == api["reports_partial"]

            # The chart renders: one bar per (year, grade) the JSON counts.
            chart = page.locator("#across-chart")
            chart.locator("svg").first.wait_for(timeout=15_000)
            bars = chart.locator("rect.bar")
            bars.first.wait_for(timeout=15_000)
            assert bars.count() == len(api["by_year_grade"]), chart.inner_html()[:2000]
            page.screenshot(path=str(ARTIFACTS / "across-1-chart.png"), full_page=True)

            # Exports agree with the table: one CSV row and one BibTeX entry per report.
            rows = list(csv.DictReader(_downloaded(page, "#across-csv").splitlines()))
            assert [r["source"] for r in rows] == [r["source"] for r in api["rows"]]
            assert sum(r["coverage"] == "full" for r in rows) == api["reports_full"]
            lib = bibtexparser.parse_string(_downloaded(page, "#across-bib"))
            assert not lib.failed_blocks and len(lib.entries) == len(api["rows"])
            csl = _downloaded(page, "#across-csl")
            assert csl.lstrip().startswith("[")

            # The year list narrows the passages to one year's reports.
            year = api["by_year_grade"][0]["year"]
            in_year = sum(t["reports"] for t in api["by_year_grade"] if t["year"] == year)
            _pick(page, "across-year", year)
            passages = page.locator("#across-passages")
            passages.get_by_text(f"Showing {year}").wait_for(timeout=10_000)
            assert f"Showing {year}: {in_year} report" in passages.inner_text()
            assert passages.locator("blockquote").count() == in_year
            page.screenshot(path=str(ARTIFACTS / "across-2-year.png"), full_page=True)
            # The grade list narrows further, to one grade of the chart's colours.
            grade = api["by_year_grade"][0]["grade"]
            label = grade[:1].upper() + grade[1:]
            _pick(page, "across-grade", label)
            passages.get_by_text(f"Showing {year} · {label}").wait_for(timeout=10_000)
            # A bar (one grade of one year) selects both lists: the passages behind it.
            _pick(page, "across-year", "all years")
            _pick(page, "across-grade", "all grades")
            bars.first.click()
            passages.get_by_text(f"Showing {year} · {label}").wait_for(timeout=10_000)
            assert page.locator("#across-year input").input_value() == year

            # The chat: groups by best passage; then newest report first.
            page.get_by_role("tab", name="Ask").click()
            box = page.get_by_label("Question", exact=True)
            spread = _spread_question(Client(app.url + "/", verbose=False))
            box.fill(spread)
            box.press("Enter")
            bot = page.locator("#chat [data-testid='bot']")
            bot.first.wait_for(timeout=15_000)
            page.wait_for_function("() => !document.querySelector('#chat .pending')", timeout=15_000)
            first_hit = Client(app.url + "/", verbose=False).predict(spread, api_name="/ask")["hits"][0]
            headings = bot.first.locator("h4").all_inner_texts()
            assert first_hit["local_authority"] in headings[0]
            by_relevance = _headings_dates(bot.first)
            assert len(by_relevance) >= 3 and by_relevance != sorted(by_relevance, reverse=True), (
                "this question's best passage is not from the newest report"
            )
            # The title once per report group, the full citation folded under "copy citation".
            msg = bot.first
            assert msg.locator("summary", has_text="copy citation").count() == msg.locator("blockquote").count()
            page.get_by_label("Newest report first").check()
            # The groups reorder (the first may already be the newest report: wait for the order).
            page.wait_for_function(
                "n => { const b = document.querySelector(\"#chat [data-testid='bot']\");"
                " return b && [...b.querySelectorAll('h4')].map(h => h.innerText).join('|') !== n; }",
                arg="|".join(headings),
                timeout=10_000,
            )
            by_date = _headings_dates(bot.first)
            assert sorted(by_date, reverse=True) == by_date and sorted(by_date) == sorted(by_relevance)
            page.screenshot(path=str(ARTIFACTS / "across-3-order.png"), full_page=True)
            # The chat's cited reports export for citation managers.
            entries = bibtexparser.parse_string(_downloaded(page, "#export-bib")).entries
            assert len(entries) == len(headings)

            # The over-time view draws the same chart for one authority: Bedford's three reports, three years.
            page.locator("#ot-authority input").click()
            page.get_by_role("option", name=re.compile("^Bedford")).first.click()
            page.locator("#over-time").click()
            ot_bars = page.locator("#over-time-chart rect.bar")
            ot_bars.first.wait_for(timeout=15_000)
            assert ot_bars.count() == 3
            page.screenshot(path=str(ARTIFACTS / "across-4-over-time.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "across-failure.png"), full_page=True)
            print(app.log.read_text()[-3000:])
            raise
        finally:
            browser.close()
