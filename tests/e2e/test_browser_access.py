"""What a person sees, in a real browser (issue 20): `python app.py` on a copy of the sample
corpus, driven by headless Debian Chromium through playwright.

- axe-core (WCAG 2.0-2.2 A/AA rules, bundled by axe-playwright-python: nothing is
  downloaded) finds no serious or critical violation on any view: Ask with an answer,
  over time, Across with results, Library, Admin login and its panels;
- a skip link is the first Tab stop and leads to the question box; focus is visible;
- the across chart draws its bars in the browser window (not only in a full-page
  capture), with axis, legend and a text alternative, for two themes; empty year filters
  are empty;
- after an answer, its first (best) passage is in the viewport;
- a link reproduces an answer (same passages, same order) and an across answer; exports
  carry it; hostile values in the address are shown as text, never run or fetched;
- the Library's headers never break inside a word; it sorts and filters by authority,
  year and grade, and shows a screenful of rows.

Screenshots go to tests/artifacts/ (git-ignored); they are viewport captures.
"""

from __future__ import annotations

import csv
import re
import shutil
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.support.apps import run_app
from tests.support.browser import CHROMIUM, FLAGS
from tests.support.paths import ARTIFACTS

PASSWORD = "access-test-password"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# The design card's question (one report in the sample, 2017, good: a single year and
# grade), and a theme several reports of several years and grades discuss.
DESIGN_CARD = "what did inspectors say about early help performance data?"
THEME = "return home interviews for children who go missing"
QUESTION = "how well are care leavers supported?"
HOSTILE = "<img src=x onerror=alert(1)> **adoption** [x](http://evil.example) </div><script>alert(2)</script>"


@pytest.fixture(scope="module")
def app(tmp_path_factory, sample_corpus, sample_index):
    if not CHROMIUM.exists():
        pytest.skip(f"chromium is not installed at {CHROMIUM} (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    pytest.importorskip("axe_playwright_python", reason="axe-playwright-python is not installed (requirements.txt)")
    root = tmp_path_factory.mktemp("browser-access")
    corpus = root / "corpus"
    shutil.copytree(sample_corpus, corpus)
    index = root / "index"
    shutil.copytree(sample_index, index, ignore=shutil.ignore_patterns("build.lock"))
    with run_app(root, corpus, index, PASSWORD) as running:
        yield running


@pytest.fixture(scope="module")
def browser(app):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield b
        finally:
            b.close()


def _page(browser, app, path: str = "/", width: int = 1400, height: int = 1000):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.dialogs = []  # type: ignore[attr-defined]
    page.outside = []  # type: ignore[attr-defined]
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))  # type: ignore[attr-defined]
    page.on(
        "request",
        lambda r: page.outside.append(r.url) if not r.url.startswith(app.url) and not r.url.startswith("data:") else None,  # type: ignore[attr-defined]
    )
    page.goto(app.url + path)
    page.locator("#question textarea").wait_for(state="attached", timeout=15_000)
    return page


def axe_serious(page, view: str) -> list[str]:
    """Serious and critical axe-core violations on the page as it stands, printed per view."""
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import Error

    # A tab fades in: contrast is measured once its animations have finished.
    try:
        page.wait_for_function("() => document.getAnimations().every((a) => a.playState !== 'running')", timeout=3_000)
    except Error:
        pass
    page.wait_for_timeout(300)
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG}, "resultTypes": ["violations"]})
    found = results.response["violations"]
    bad = [f"{v['impact']} {v['id']}: {[n['target'] for n in v['nodes'][:3]]}" for v in found if v["impact"] in ("serious", "critical")]
    print(f"axe {view}: {len(found)} violations, {len(bad)} serious or critical")
    return bad


def bots(page):
    return page.locator("#chat [data-testid='bot']")


def ask(page, question: str, timeout_ms: int = 15_000) -> float:
    """Type a question, press Enter, wait until its answer (and its link) is drawn; seconds."""
    n = bots(page).count()
    box = page.get_by_label("Question", exact=True)
    box.fill(question)
    t = time.perf_counter()
    box.press("Enter")
    page.wait_for_function(
        "n => document.querySelectorAll(\"#chat [data-testid='bot']\").length > n && !document.querySelector('#chat .pending')",
        arg=n,
        timeout=timeout_ms,
    )
    seconds = time.perf_counter() - t
    bots(page).last.get_by_role("link", name="Link to this answer").wait_for(timeout=timeout_ms)
    return seconds


def in_viewport(page, locator) -> bool:
    """The element's box intersects the browser window and its scrolling container's view,
    and the point at its centre (or top, for a tall one) is that element: a person sees it."""
    return page.evaluate(
        """(el) => {
            const r = el.getBoundingClientRect();
            if (r.width <= 0 || r.height <= 0 || r.bottom <= 0 || r.top >= innerHeight || r.right <= 0 || r.left >= innerWidth) return false;
            for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
                const s = getComputedStyle(p);
                if (s.overflowY === 'auto' || s.overflowY === 'scroll' || s.overflowY === 'hidden') {
                    const b = p.getBoundingClientRect();
                    if (r.bottom <= b.top || r.top >= b.bottom) return false;
                }
            }
            const x = Math.min(Math.max(r.left + r.width / 2, 0), innerWidth - 1);
            const y = Math.min(Math.max(r.top + Math.min(r.height / 2, 20), 0), innerHeight - 1);
            const hit = document.elementFromPoint(x, y);
            return !!hit && (hit === el || el.contains(hit));
        }""",
        locator.element_handle(),
    )


def chart_bars_seen(page, selector: str) -> list[dict]:
    """The chart's bars as drawn in the window: scrolled into view, each one on screen and
    painted in its colour in a viewport screenshot (not a full-page capture)."""
    from PIL import Image

    figure = page.locator(f"{selector} svg[role=img]")
    figure.scroll_into_view_if_needed()
    page.wait_for_timeout(200)
    bars = page.locator(f"{selector} rect.bar")
    shot = ARTIFACTS / f"chart-{selector.strip('#')}-{int(time.time() * 1000)}.png"
    page.screenshot(path=str(shot))  # the viewport only
    image = Image.open(shot).convert("RGB")
    seen = []
    for i in range(bars.count()):
        bar = bars.nth(i)
        assert in_viewport(page, bar), f"bar {i} is not in the window"
        box = bar.bounding_box()
        assert box and box["height"] >= 2 and box["width"] >= 2, box
        fill = bar.get_attribute("fill").lstrip("#")
        want = tuple(int(fill[j : j + 2], 16) for j in (0, 2, 4))
        got = image.getpixel((int(box["x"] + box["width"] / 2), int(box["y"] + box["height"] / 2)))
        assert all(abs(a - b) <= 12 for a, b in zip(got, want, strict=True)), (i, got, want)
        seen.append(
            {"year": bar.get_attribute("data-year"), "grade": bar.get_attribute("data-grade"), "reports": int(bar.get_attribute("data-reports"))}
        )
    return seen


def run_across(page, theme: str) -> None:
    page.get_by_role("tab", name="Across all reports").click()
    page.locator("#across-question textarea, #across-question input").first.fill(theme)
    page.locator("#across-search").click()
    page.locator("#across-summary").get_by_text("matched fully").wait_for(timeout=30_000)
    page.locator("#across-chart rect.bar, #across-chart figure p").first.wait_for(timeout=10_000)


def test_every_view_accessible_skip_link_focus_and_answer_from_its_start(app, browser):
    page = _page(browser, app)
    try:
        page.get_by_label("Question", exact=True).wait_for(timeout=15_000)
        failures: dict[str, list[str]] = {}
        # The skip link is the first Tab stop, visible when focused, and leads to the question box.
        page.locator("body").click(position={"x": 5, "y": 5})
        page.keyboard.press("Tab")
        focused = page.evaluate("() => [document.activeElement.className, document.activeElement.textContent]")
        assert "skip-link" in focused[0] and "question" in focused[1], focused
        assert in_viewport(page, page.locator("a.skip-link"))
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.activeElement && document.activeElement.closest('#question')", timeout=5_000)
        # Focus is visible: the question box, then the next control a Tab reaches, are outlined.
        outline = "() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"
        style, width = page.evaluate(outline)
        assert style != "none" and width >= 2, (style, width)
        failures["start"] = axe_serious(page, "start")

        # Ask twice: the second answer is shown from its start, the first passage in sight.
        ask(page, "Bedford 2017: how effective was the MASH?")
        seconds = ask(page, QUESTION)
        print(f"answer in the browser: {seconds:.2f} s after Enter")
        assert seconds < 3.0  # the target is 1 s; the margin is for a loaded CI machine
        latest = bots(page).last
        first_passage = latest.locator("blockquote").first
        page.wait_for_timeout(300)
        assert in_viewport(page, first_passage), "the new answer's first passage is not in the window"
        assert in_viewport(page, latest.locator("h4").first), "its first report heading is not in the window"
        page.screenshot(path=str(ARTIFACTS / "access-1-answer-start.png"))
        # A long answer stays readable: the title once per report, the citation folded away.
        titles = latest.locator("h4").all_inner_texts()
        assert len(titles) == len(set(titles))
        assert latest.locator("details:not([open])").count() == latest.locator("blockquote").count()
        failures["ask"] = axe_serious(page, "ask with an answer")

        # Over time: one authority's reports, charted with a text alternative.
        page.locator("#ot-authority input").click()
        page.get_by_role("option", name=re.compile("^Bedford")).first.click()
        page.locator("#over-time").click()
        page.locator("#over-time-chart rect.bar").first.wait_for(timeout=15_000)
        assert sum(b["reports"] for b in chart_bars_seen(page, "#over-time-chart")) == 3
        failures["over time"] = axe_serious(page, "over time")

        # Across: empty year filters are empty; results; the chart in the window.
        page.get_by_role("tab", name="Across all reports").click()
        assert page.locator("#across-from input").input_value() == "" and page.locator("#across-to input").input_value() == ""
        run_across(page, THEME)
        chart_bars_seen(page, "#across-chart")
        failures["across"] = axe_serious(page, "across with results")

        page.get_by_role("tab", name="Library").click()
        page.locator("#library table").wait_for(timeout=10_000)
        failures["library"] = axe_serious(page, "library")

        page.get_by_role("tab", name="Admin").click()
        page.get_by_label("Admin password").wait_for(timeout=10_000)
        failures["admin login"] = axe_serious(page, "admin login")
        page.get_by_label("Admin password").fill(PASSWORD)
        page.locator("#admin-login").click()
        page.locator("#admin-status").get_by_text("Serving generation").wait_for(timeout=15_000)
        failures["admin panels"] = axe_serious(page, "admin panels")
        page.screenshot(path=str(ARTIFACTS / "access-2-admin.png"))
        assert not any(failures.values()), failures
        assert not page.dialogs and not page.outside, (page.dialogs, page.outside[:5])
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "access-failure.png"))
        print(app.log.read_text()[-3000:])
        raise
    finally:
        page.close()


@pytest.mark.parametrize("theme", [DESIGN_CARD, THEME])
def test_across_chart_bars_in_the_window_with_axis_legend_and_text(app, browser, theme):
    from gradio_client import Client

    api = Client(app.url + "/", verbose=False).predict(theme, api_name="/across")
    tally = [(t["year"], t["grade"], t["reports"]) for t in api["by_year_grade"] if t["year"].isdigit()]
    assert tally, "the theme has full matches in the sample"
    # The framing words of the question are not concepts ("about" was counted).
    assert not {"about", "what", "inspectors", "say"} & set(api["concepts"]), api["concepts"]
    page = _page(browser, app)
    try:
        run_across(page, theme)
        # A small window, as a person's may be: the bars are drawn there too.
        page.set_viewport_size({"width": 1024, "height": 700})
        seen = chart_bars_seen(page, "#across-chart")
        assert sorted((b["year"], b["grade"], b["reports"]) for b in seen) == sorted(tally)
        page.screenshot(path=str(ARTIFACTS / f"access-3-chart-{len(tally)}.png"))
        svg = page.locator("#across-chart svg[role=img]")
        # A readable axis: whole-number ticks from 0, the years under the bars, both titled.
        ticks = [t.strip() for t in svg.locator("text.tick").all_text_contents()]
        assert ticks[0] == "0" and all(re.fullmatch(r"\d+", t) for t in ticks)
        assert {y for y, _, _ in tally} <= set(ticks)
        assert {"Reports", "Year published"} <= set(svg.locator("text.axis-title").all_text_contents())
        # A legend naming each grade drawn, and a text alternative with the same counts.
        legend = page.locator("#across-chart .legend li").all_inner_texts()
        assert sorted(legend) == sorted({g[:1].upper() + g[1:] for _, g, _ in tally})
        name = page.evaluate(
            "(el) => el.getAttribute('aria-labelledby').split(' ').map((i) => document.getElementById(i).textContent).join(' ')",
            svg.element_handle(),
        )
        total = sum(n for _, _, n in tally)
        assert f"{total} reports" in name and all(y in name for y, _, _ in tally), name
        page.locator("#across-chart summary").click()
        rows = page.locator("#across-chart table tbody tr")
        assert rows.count() == len({y for y, _, _ in tally})
        assert sum(int(r.locator("td").last.inner_text()) for r in rows.all()) == total
        # A bar leads to its passages.
        page.locator("#across-chart rect.bar").first.click()
        year = seen[0]["year"] if seen[0]["year"] == min(b["year"] for b in seen) else min(b["year"] for b in seen)
        page.locator("#across-passages").get_by_text(f"Showing {year}").wait_for(timeout=10_000)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "access-chart-failure.png"))
        raise
    finally:
        page.close()


def _passages(message) -> list[str]:
    return [" ".join(t.split()) for t in message.locator("blockquote").all_inner_texts()]


def test_links_reproduce_answers_exports_carry_them_and_hostile_values_stay_text(app, browser):
    page = _page(browser, app)
    try:
        # An answer with filters set, three passages, newest report first.
        page.locator("#f-authority input").click()
        page.get_by_role("option", name=re.compile("^Bedford")).first.click()
        page.keyboard.press("Escape")
        page.locator("#f-k input[type=number]").fill("3")
        page.locator("#f-k input[type=number]").press("Enter")
        ask(page, QUESTION)
        page.get_by_label("Newest report first").check()
        page.wait_for_function("() => location.search.includes('order=date')", timeout=10_000)
        first = bots(page).last
        link = page.locator("#permalink textarea, #permalink input").first.input_value()
        assert link.startswith(app.url + "/?") and "order=date" in link and "k=3" in link and "authority=" in link, link
        assert page.url == link, "the address bar holds the answer's link"
        assert first.get_by_role("link", name="Link to this answer").get_attribute("href") == link
        want, want_heads = _passages(first), first.locator("h4").all_inner_texts()
        assert len(want) == 3
        # The exports carry it.
        with page.expect_download() as dl:
            page.locator("#export-csv").click()
        rows = list(csv.DictReader(Path(dl.value.path()).read_text(encoding="utf-8").splitlines()))
        assert rows and {r["answer_link"] for r in rows} == {link}
        with page.expect_download() as dl:
            page.locator("#export-md").click()
        assert f"Link to this answer: <{link}>" in Path(dl.value.path()).read_text(encoding="utf-8")

        # Opened afresh, the link gives the same passages in the same order, and the same filters.
        other = _page(browser, app, link[len(app.url) :])
        bots(other).first.get_by_role("link", name="Link to this answer").wait_for(timeout=15_000)
        again = bots(other).first
        assert _passages(again) == want and again.locator("h4").all_inner_texts() == want_heads
        assert other.get_by_label("Newest report first").is_checked()
        assert "Bedford" in other.locator("#f-authority").inner_text()
        assert other.locator("#permalink textarea, #permalink input").first.input_value() == link
        other.close()

        # The across view's link: the same reports in the same order.
        run_across(page, THEME)
        across_link = page.locator("#across-permalink textarea, #across-permalink input").first.input_value()
        assert "tab=across" in across_link and page.url == across_link
        table = page.locator("#across-table").inner_text()
        other = _page(browser, app, across_link[len(app.url) :])
        other.locator("#across-summary").get_by_text("matched fully").wait_for(timeout=30_000)
        assert other.locator("#across-question textarea, #across-question input").first.input_value() == THEME
        assert other.locator("#across-table").inner_text() == table
        with other.expect_download() as dl:
            other.locator("#across-csv").click()
        rows = list(csv.DictReader(Path(dl.value.path()).read_text(encoding="utf-8").splitlines()))
        assert rows and {r["answer_link"] for r in rows} == {across_link}
        other.close()

        # Hostile values in the address: data, never markup; the page still works.
        bad = (
            f"/?q={quote(HOSTILE)}&authority={quote('<script>alert(3)</script>')}&authority=..%2F..%2Fetc"
            f"&from=abc&to=99999999&tab={quote('<b>x</b>')}&order=javascript:alert(4)&k=-7&grade={quote('<i>')}"
        )
        evil = _page(browser, app, bad)
        bots(evil).first.get_by_role("link", name="Link to this answer").wait_for(timeout=15_000)
        user = evil.locator("#chat [data-testid='user']").first.inner_text()
        assert HOSTILE.split(" **")[0] in user and "**adoption**" in user, user
        assert evil.locator("#chat img, #chat script, #chat a[href^='http://evil'], #chat a[href^='javascript']").count() == 0
        assert evil.locator("#f-authority").inner_text().strip() in ("", "Local authority")
        assert evil.locator("#f-from input").input_value() == "" and evil.locator("#f-to input").input_value() == ""
        assert evil.get_by_label("Best passage first").is_checked()
        clean = evil.locator("#permalink textarea, #permalink input").first.input_value()
        assert "javascript" not in clean and "from=" not in clean and "k=" not in clean and "authority=" not in clean, clean
        ask(evil, QUESTION)  # still answers
        evil.screenshot(path=str(ARTIFACTS / "access-4-hostile-link.png"))
        assert not evil.dialogs and not evil.outside, (evil.dialogs, evil.outside[:5])
        evil.close()
        assert not page.dialogs and not page.outside
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "access-link-failure.png"))
        print(app.log.read_text()[-3000:])
        raise
    finally:
        page.close()


def test_library_headers_sorting_filters_and_a_screenful(app, browser):
    page = _page(browser, app, "/?tab=library")
    try:
        table = page.locator("#library table")
        table.wait_for(timeout=15_000)
        # No header breaks inside a word: every word of every header lies on one line.
        broken = page.evaluate(
            """() => [...document.querySelectorAll('#library th')].flatMap((th) => {
                const out = [];
                const walk = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
                for (let n = walk.nextNode(); n; n = walk.nextNode()) {
                    for (const m of n.textContent.matchAll(/\\S+/g)) {
                        const r = document.createRange();
                        r.setStart(n, m.index); r.setEnd(n, m.index + m[0].length);
                        const tops = new Set([...r.getClientRects()].map((b) => Math.round(b.top)));
                        if (tops.size > 1) out.push(m[0]);
                    }
                }
                return out;
            })"""
        )
        assert broken == [], broken
        rows = page.locator("#library tbody tr")
        n = rows.count()
        assert n == 7  # six reports and the HTML page saved as a PDF
        # A screenful: every row of the sample is in the window without scrolling the table,
        # and no row is taller than three lines of text.
        assert all(in_viewport(page, rows.nth(i)) for i in range(n))
        assert max(rows.nth(i).bounding_box()["height"] for i in range(n)) <= 3 * 1.3 * 13 + 12
        page.screenshot(path=str(ARTIFACTS / "access-5-library.png"))

        def column(name: str) -> list[str]:
            i = [h.strip(" ▲▼") for h in page.locator("#library th").all_inner_texts()].index(name)
            return [c.strip() for c in page.locator(f"#library tbody tr td:nth-child({i + 1})").all_inner_texts()]

        # Sorted by a header's button, then reversed; undated rows stay last.
        page.get_by_role("button", name=re.compile("^published")).click()
        page.locator("#library th[aria-sort=ascending]", has_text="published").wait_for(timeout=10_000)
        dated = [d for d in column("published") if d]
        assert dated == sorted(dated) and column("published")[-1] == ""
        page.get_by_role("button", name=re.compile("^published")).click()
        page.locator("#library th[aria-sort=descending]", has_text="published").wait_for(timeout=10_000)
        assert [d for d in column("published") if d] == sorted(dated, reverse=True)

        # Filtered by authority, year and grade.
        def pick(elem_id: str, option: str) -> None:
            page.locator(f"#{elem_id} input").click()
            page.get_by_role("option", name=option, exact=True).click()

        pick("lib-authority", "Bedford Borough")
        page.locator("#library caption", has_text="2 of 7").wait_for(timeout=10_000)
        assert set(column("authority")) == {"Bedford Borough"}
        pick("lib-year", "2022")
        page.locator("#library caption", has_text="1 of 7").wait_for(timeout=10_000)
        assert column("published") == ["2022-01-14"]
        pick("lib-authority", "all authorities")
        pick("lib-year", "all years")
        pick("lib-grade", "Requires improvement")
        page.locator("#library caption", has_text="2 of 7").wait_for(timeout=10_000)
        assert all(g.lower().startswith("requires improvement") for g in column("overall"))
        assert axe_serious(page, "library, filtered and sorted") == []
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "access-library-failure.png"))
        raise
    finally:
        page.close()


def test_page_reflows_at_320_px(app, browser):
    page = _page(browser, app, width=320, height=800)
    try:
        ask(page, QUESTION)
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= 320 + 1, wide
        assert in_viewport(page, bots(page).last.locator("blockquote").first)
        page.screenshot(path=str(ARTIFACTS / "access-6-320px.png"))
    finally:
        page.close()
