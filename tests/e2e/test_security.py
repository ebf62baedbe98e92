"""Security of the running app (`python app.py` in a subprocess, on a temp corpus).

What test_app_routes already covers is not repeated: here are the traversal
forms it does not try, the admin handlers through every way in (Gradio client,
raw queue calls, the REST routes, the browser), upload limits through the app,
report markup shown in a real browser, the queue's bounds, monitoring and
analytics, and the address the app listens on.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.support import hostile
from tests.support.apps import App, fn_index, get, queue_event, run_app, serve
from tests.support.browser import CHROMIUM, FLAGS
from tests.support.corpora import BEDFORD_2017
from tests.support.paths import ARTIFACTS, ROOT

PASSWORD = "security-test-password"
XSS_REPORT = "xss/markup report.pdf"
SECRET_TEXT = "not-for-the-web-" + uuid.uuid4().hex
ADMIN_HANDLERS = ("on_login", "on_reindex", "on_upload", "on_delete", "on_fetch", "on_upload_review", "on_pick_upload", "on_correct")


def refused(msg: dict) -> bool:
    """An admin event that did nothing: an error, or the handler's own refusal."""
    return not msg.get("success") or msg["output"]["data"][0] == "Wrong password."


def upload(url: str, name: str, data: bytes) -> dict:
    """Send a file through Gradio's upload route; the FileData an event input refers to."""
    r = httpx.post(f"{url}/gradio_api/upload", files={"files": (name, data)})
    r.raise_for_status()
    return {"path": r.json()[0], "orig_name": name, "meta": {"_type": "gradio.FileData"}}


@dataclass(frozen=True)
class DiskState:
    corpus: tuple[str, ...]
    generations: tuple[str, ...]
    current: str


def disk_state(app: App) -> DiskState:
    files = tuple(sorted(p.relative_to(app.corpus).as_posix() for p in app.corpus.rglob("*")))
    gens = tuple(sorted(p.name for p in (app.index / "generations").iterdir()))
    return DiskState(files, gens, (app.index / "CURRENT").read_text())


# --- sockets of a process, from /proc ------------------------------------------------------


@dataclass(frozen=True)
class Sock:
    local: ipaddress.IPv4Address | ipaddress.IPv6Address
    local_port: int
    remote: ipaddress.IPv4Address | ipaddress.IPv6Address
    listening: bool


def _addr(hex_addr: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]:
    host, port = hex_addr.split(":")
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        ip = ipaddress.IPv4Address(raw[::-1])  # /proc prints the address in host (little-endian) order
    else:
        ip = ipaddress.IPv6Address(b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4)))
        ip = ip.ipv4_mapped or ip
    return ip, int(port, 16)


def tcp_sockets(pid: int) -> list[Sock]:
    """TCP sockets held open by process `pid` (its fds matched to /proc/net/tcp{,6} by inode)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    out = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            f = line.split()
            if f[9] in inodes:
                (lip, lport), (rip, _) = _addr(f[1]), _addr(f[2])
                out.append(Sock(lip, lport, rip, f[3] == "0A"))
    return out


def local_non_loopback_addresses() -> list[str]:
    """IPv4 addresses of this machine's own interfaces, other than loopback (from the routing table)."""
    out, prev = set(), ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/fib_trie").read_text().splitlines():
            if "/32 host LOCAL" in line:
                ip = prev.strip().split()[-1]
                if not ipaddress.IPv4Address(ip).is_loopback:
                    out.add(ip)
            prev = line
    return sorted(out)


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(tmp_path_factory, sample_corpus, sample_index, embedder):
    from assistant.index.build import build_index

    root = tmp_path_factory.mktemp("security")
    corpus, index, outside = root / "corpus", root / "index", root / "outside"
    shutil.copytree(sample_corpus, corpus)
    shutil.copytree(sample_index, index, ignore=shutil.ignore_patterns("build.lock"))
    # The XSS fixture: a report whose own words are markup.
    (corpus / XSS_REPORT).parent.mkdir()
    (corpus / XSS_REPORT).write_bytes(hostile.text_pdf([[line] for line in hostile.MARKUP_LINES]))
    summary = build_index(corpus, index, embedder=embedder)
    assert summary.indexed == [XSS_REPORT], summary.lines()
    # Traps: files the report route must never serve.
    outside.mkdir()
    shutil.copy(corpus / BEDFORD_2017, outside / "secret.pdf")
    (outside / "notes.txt").write_text(SECRET_TEXT)
    (corpus / "linkdir").symlink_to(outside, target_is_directory=True)
    shutil.copy(corpus / BEDFORD_2017, index / "planted.pdf")
    (corpus / "from-index.pdf").symlink_to(index / "planted.pdf")
    with run_app(root, corpus, index, PASSWORD, ("--max-upload-mb", "1")) as running:
        yield running


@pytest.fixture(scope="module")
def browser(app):
    if not CHROMIUM.exists():
        pytest.skip(f"chromium is not installed at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield b
        finally:
            b.close()


# --- where the app listens ----------------------------------------------------------------


def test_settings_default_to_loopback_unless_told_otherwise():
    sys.path.insert(0, str(ROOT))
    from app import settings_from

    assert settings_from([], env={}).host == "127.0.0.1"
    assert settings_from([], env={"ASSISTANT_HOST": "0.0.0.0"}).host == "0.0.0.0"
    assert settings_from(["--host", "::1"], env={}).host == "::1"


def test_app_started_without_host_listens_on_loopback_only(app):
    listening = [s for s in tcp_sockets(app.proc.pid) if s.listening]
    assert [(str(s.local), s.local_port) for s in listening] == [("127.0.0.1", app.port)]
    # Knocking on this machine's own other addresses: nothing answers there.
    for ip in local_non_loopback_addresses():
        with pytest.raises(OSError), socket.create_connection((ip, app.port), timeout=2):
            pass


# --- the report route ---------------------------------------------------------------------


def test_report_route_serves_the_indexed_markup_report(app):
    r = get(app.url, "/report/" + quote(XSS_REPORT))
    assert r.status_code == 200 and r.content.startswith(b"%PDF-")


def _traversals(app_root: Path) -> list[str]:
    corpus_pdf = str((app_root / "corpus" / BEDFORD_2017).resolve())
    return [
        "/report/%2e%2e%2f%2e%2e%2fetc%2fpasswd",  # fully encoded ../
        "/report/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "/report/%2e%2e%2findex%2fCURRENT",
        "/report/..%2findex%2fCURRENT",
        "/report/..%2findex%2fplanted.pdf",
        "/report/%2e%2e%2foutside%2fsecret.pdf",
        "/report/xss/%2e%2e%2f%2e%2e%2foutside%2fsecret.pdf",
        "/report/%252e%252e%252f%252e%252e%252fetc%252fpasswd",  # double encoded
        "/report/%c0%ae%c0%ae%2f%c0%ae%c0%ae%2fetc%2fpasswd",  # overlong UTF-8 dots
        "/report/..%2foutside%2fsecret.pdf%00.pdf",  # NUL byte
        "/report/linkdir/secret.pdf",  # a directory symlink leading out
        "/report/linkdir/notes.txt",
        "/report/from-index.pdf",  # a symlink into the index folder
        "/report/" + quote(corpus_pdf, safe=""),  # absolute path, even of a corpus file
        "/report/" + quote(corpus_pdf),
        "/report/file:%2f%2f%2fetc%2fpasswd",
        "/report/~/.bashrc",
    ]


def test_report_route_refuses_encoded_traversal_links_and_index_files(app):
    for raw in _traversals(app.corpus.parent):
        r = get(app.url, raw)
        assert r.status_code == 404, (raw, r.status_code)
        assert b"%PDF" not in r.content and b"root:" not in r.content and SECRET_TEXT.encode() not in r.content, raw


def test_gradio_file_route_serves_no_index_or_outside_file(app):
    gen = (app.index / "CURRENT").read_text().strip()
    for p in (
        app.index / "generations" / gen / "chunks.jsonl",
        app.index / "planted.pdf",
        app.corpus.parent / "outside" / "notes.txt",
        Path("/etc/passwd"),
    ):
        r = httpx.get(f"{app.url}/gradio_api/file={p.resolve()}")
        assert r.status_code in (403, 404), (p, r.status_code)


# --- admin functions without the password -------------------------------------------------


def test_gradio_client_cannot_reach_admin_functions(app):
    from gradio_client import Client

    before = disk_state(app)
    client = Client(app.url + "/", verbose=False)
    api = client.view_api(print_info=False, return_format="dict")
    assert list(api["named_endpoints"]) == ["/ask", "/across"] and not api["unnamed_endpoints"]
    for name in ADMIN_HANDLERS:
        with pytest.raises(ValueError):
            client.predict(PASSWORD, api_name="/" + name)
        with pytest.raises(ValueError):
            client.predict(PASSWORD, fn_index=fn_index(app.url, name))
    assert disk_state(app) == before


def test_rest_routes_do_not_run_events_outside_the_queue(app):
    # Gradio's /run/<name> and /api/<name> would skip the queue (and its bound) when api_open.
    for name in ("ask", *ADMIN_HANDLERS):
        for route in ("run", "api"):
            r = httpx.post(f"{app.url}/gradio_api/{route}/{name}", json={"data": ["wrong"]})
            assert r.status_code == 404, (route, name, r.status_code, r.text[:200])


WRONG = [
    "",
    None,
    "wrong",
    PASSWORD.upper(),
    PASSWORD + " ",
    " " + PASSWORD,
    PASSWORD[:-1],
    PASSWORD + "\x00",
    PASSWORD * 100,
    [PASSWORD],
    {"value": PASSWORD},
    0,
    True,
]


def test_admin_events_refuse_every_wrong_password_over_raw_http(app):
    before = disk_state(app)
    pdf = upload(app.url, "new.pdf", hostile.text_pdf([["A report nobody may add without the password."]]))
    outcomes = Counter()
    for given in WRONG:
        for name, data in [
            ("on_login", [given]),
            ("on_reindex", [given]),
            ("on_delete", [given, BEDFORD_2017]),
            ("on_upload", [given, [pdf]]),
        ]:
            msg = queue_event(app.url, name, data)
            assert refused(msg), (name, given, msg)
            outcomes["refused" if msg.get("success") else "error"] += 1
            if name == "on_login" and msg.get("success"):
                assert msg["output"]["data"][1].get("visible") is False
    # The `/call/<name>` route reaches private events too: the password still decides.
    r = httpx.post(f"{app.url}/gradio_api/call/on_reindex", json={"data": ["wrong"]})
    if r.status_code == 200:
        events = httpx.get(f"{app.url}/gradio_api/call/on_reindex/{r.json()['event_id']}", timeout=60).text
        assert "Wrong password." in events and "event: complete" in events
    assert disk_state(app) == before
    print(f"\nwrong passwords: {len(WRONG)} values x 4 admin events: {dict(outcomes)}; corpus and index unchanged")


# --- uploads ---------------------------------------------------------------------------------


def test_upload_size_and_type_limits_hold_through_the_app(app):
    """The app runs with --max-upload-mb 1."""
    before = disk_state(app)
    big = b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 1)
    r = httpx.post(f"{app.url}/gradio_api/upload", files={"files": ("big.pdf", big)})
    assert r.status_code == 413
    assert not [p for p in app.cache.rglob("*") if p.is_file() and p.stat().st_size > 1024 * 1024]

    html_pdf = upload(app.url, "page.pdf", hostile.HTML_PAGE)
    out = queue_event(app.url, "on_upload", [PASSWORD, [html_pdf]])
    assert out["success"] and "not a PDF" in out["output"]["data"][0]
    html = upload(app.url, "page.html", hostile.HTML_PAGE)
    assert not queue_event(app.url, "on_upload", [PASSWORD, [html]])["success"]  # Gradio: not a .pdf

    # A path on the server that nobody uploaded: refused before any handler runs, and not copied.
    outside = app.corpus.parent / "outside"
    for p in (outside / "secret.pdf", outside / "notes.txt"):
        for given in (PASSWORD, "wrong"):
            fake = {"path": str(p), "orig_name": p.name, "meta": {"_type": "gradio.FileData"}}
            assert not queue_event(app.url, "on_upload", [given, [fake]])["success"], (p, given)
    cached = [p for p in app.cache.rglob("*") if p.is_file()]
    assert not [p for p in cached if p.name in ("secret.pdf", "notes.txt")]
    assert not [p for p in cached if SECRET_TEXT.encode() in p.read_bytes()]
    assert disk_state(app) == before

    # Control: a small real PDF within the limit is added and indexed.
    ok = upload(app.url, "small report.pdf", hostile.text_pdf([["A small report added by the administrator."]]))
    out = queue_event(app.url, "on_upload", [PASSWORD, [ok]])
    assert out["success"] and "Added uploads/" in out["output"]["data"][0].replace("\\", ""), out
    assert "1 indexed" in out["output"]["data"][0]
    assert (app.corpus / "uploads" / "small report.pdf").is_file()


# --- the browser -----------------------------------------------------------------------------


def _watch(page, app: App) -> tuple[list[str], list[str]]:
    dialogs: list[str] = []
    odd: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    # A rendered <img src=x> would fetch <page>/x; anything off the app is also suspect.
    page.on(
        "request",
        lambda r: (
            odd.append(r.url) if (not r.url.startswith(app.url) and not r.url.startswith("data:")) or r.url.rstrip("/").endswith("/x") else None
        ),
    )
    return dialogs, odd


INJECTED = """() => ({
  img: document.querySelectorAll('#chat img, img[src="x"], img[onerror]').length,
  style: [...document.querySelectorAll('style')].filter(s => s.textContent.includes('before the summary')).length
         // Gradio's own SVG icons carry a <style>; one outside an <svg> would be injected.
         + [...document.querySelectorAll('#chat style, #library style')].filter(s => !s.closest('svg')).length,
  js_links: [...document.querySelectorAll('a[href]')].filter(a => a.protocol === 'javascript:').length,
  onerror: document.querySelectorAll('[onerror]').length,
})"""


def test_report_markup_is_shown_as_inert_text_in_the_browser(app, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    dialogs, odd = _watch(page, app)
    try:
        page.goto(app.url + "/")
        box = page.get_by_label("Question", exact=True)
        box.wait_for(timeout=15_000)
        box.fill("leaders wrote a case note; a link found in a plan; a template ended before the summary")
        box.press("Enter")
        bot = page.locator("#chat [data-testid='bot']").first
        bot.wait_for(timeout=15_000)
        page.wait_for_function("() => !document.querySelector('#chat .pending')", timeout=15_000)
        text = bot.inner_text()
        hrefs = [a.get_attribute("href") for a in bot.locator("a", has_text="open PDF at p.").all()]
        assert "/report/" + quote(XSS_REPORT) + "#page=1" in hrefs, hrefs
        for piece in ("<img src=x onerror=alert(1)>", "[x](javascript:alert(1))", "</div><style>"):
            assert piece in text, (piece, text[:2000])
        page.wait_for_timeout(500)  # an onerror handler or a fetch would have fired by now
        assert page.evaluate(INJECTED) == {"img": 0, "style": 0, "js_links": 0, "onerror": 0}
        # The library shows the report too: still nothing injected.
        page.get_by_role("tab", name="Library").click()
        page.locator("#library").get_by_text(XSS_REPORT).wait_for(timeout=10_000)
        assert page.evaluate(INJECTED) == {"img": 0, "style": 0, "js_links": 0, "onerror": 0}
        ARTIFACTS.mkdir(exist_ok=True)
        page.get_by_role("tab", name="Ask").click()
        page.screenshot(path=str(ARTIFACTS / "security-markup.png"), full_page=True)
    finally:
        page.close()
    assert not dialogs, dialogs
    assert not odd, odd


def test_admin_panel_stays_closed_in_the_browser_without_the_password(app, browser):
    before = disk_state(app)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    dialogs, odd = _watch(page, app)
    try:
        page.goto(app.url + "/")
        page.get_by_role("tab", name="Admin").click()
        pw = page.get_by_label("Admin password")
        pw.wait_for(timeout=15_000)
        msg = page.locator("#admin-login").locator("xpath=following::*[contains(., 'Wrong password.')][1]")
        for given, how in [("", "click"), ("wrong", "enter"), (PASSWORD + "x", "click"), (PASSWORD.upper(), "enter")]:
            pw.fill(given)
            pw.press("Enter") if how == "enter" else page.locator("#admin-login").click()
            msg.wait_for(timeout=10_000)
            for elem in ("#admin-reindex", "#admin-add", "#admin-delete", "#admin-upload", "#admin-status"):
                assert not page.locator(elem).is_visible(), (given, elem)
        # Control: the right password opens it, so the checks above can fail.
        pw.fill(PASSWORD)
        page.locator("#admin-login").click()
        page.locator("#admin-reindex").wait_for(state="visible", timeout=10_000)
    finally:
        page.close()
    assert disk_state(app) == before
    assert not dialogs and not odd


# --- queue, monitoring, analytics ------------------------------------------------------------


def _blocks_of(fastapi_app):
    for route in fastapi_app.routes:
        sub = getattr(route, "app", None)
        if sub is not None and hasattr(sub, "get_blocks"):
            return sub.get_blocks()
    raise AssertionError("no Gradio app mounted")


def test_queue_is_bounded_with_a_concurrency_limit(app, sample_corpus, sample_index, embedder):
    from assistant.app.service import Service
    from assistant.app.ui import build_app
    from assistant.search.searcher import Searcher
    from assistant.settings import AppSettings

    config = httpx.get(app.url + "/config").json()
    # Steps that only run script in the browser (scroll to an answer, put its link in the
    # address bar) have no server function: nothing of theirs can bypass the queue.
    assert config["enable_queue"] and all(d["queue"] is not False for d in config["dependencies"] if d["backend_fn"])

    settings = AppSettings(corpus=sample_corpus, index=sample_index)
    blocks = _blocks_of(build_app(Service(settings, embedder, Searcher(sample_index, embedder=embedder))))
    q = blocks._queue
    assert q.max_size == settings.queue_size == 64
    assert q.default_concurrency_limit == settings.concurrency == 4
    assert blocks.api_open is False
    for fn in blocks.fns.values():
        if fn.fn is None:
            continue  # browser-only script, no server work
        assert fn.queue and fn.concurrency_limit == "default", fn.name  # i.e. 4, never unlimited


def test_a_full_queue_refuses_new_work_and_the_app_recovers(sample_corpus, sample_index, embedder):
    from assistant.app.service import Service
    from assistant.search.searcher import Searcher
    from assistant.settings import AppSettings

    settings = AppSettings(corpus=sample_corpus, index=sample_index, queue_size=2, concurrency=1)
    with serve(Service(settings, embedder, Searcher(sample_index, embedder=embedder))) as url:
        idx = fn_index(url, "ask")

        async def burst() -> list[httpx.Response]:
            async with httpx.AsyncClient(timeout=30) as c:
                return await asyncio.gather(
                    *[
                        c.post(
                            f"{url}/gradio_api/queue/join",
                            json={
                                "data": ["how well are care leavers supported into education and work?", None, None, None, 20],
                                "fn_index": idx,
                                "session_hash": uuid.uuid4().hex,
                            },
                        )
                        for _ in range(40)
                    ]
                )

        # In a thread of its own: playwright's sync API may hold this thread's event loop.
        with ThreadPoolExecutor(1) as pool:
            codes = Counter(r.status_code for r in pool.submit(asyncio.run, burst()).result())
        assert codes[503] > 0 and codes[200] > 0 and set(codes) == {200, 503}, codes
        time.sleep(1)
        r = httpx.post(f"{url}/gradio_api/call/ask", json={"data": ["Bedford 2022: how effective is the front door?", None, None, None, 5]})
        assert r.status_code == 200
        events = httpx.get(f"{url}/gradio_api/call/ask/{r.json()['event_id']}", timeout=60).text
        assert "event: complete" in events and "80428_bedford" in events
        print(f"\nburst of 40 joins at queue size 2, concurrency 1: {dict(codes)}; answered again afterwards")


def test_monitoring_and_analytics_are_off(app):
    for path in ("/monitoring", "/monitoring/summary", "/monitoring/" + uuid.uuid4().hex, "/gradio_api/monitoring"):
        r = httpx.get(app.url + path)
        assert r.status_code in (403, 404), (path, r.status_code)
    config = httpx.get(app.url + "/config").json()
    assert config["analytics_enabled"] is False and config["mcp_server"] is False
    assert httpx.get(app.url + "/gradio_api/mcp/sse").status_code == 404
    # After everything above, the app process holds no connection to any outside address.
    outside = [s for s in tcp_sockets(app.proc.pid) if not s.listening and not s.remote.is_loopback]
    assert not outside, outside
    # app.py turns Gradio's usage reports off even when the environment asks for them.
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="True")
    out = subprocess.run(
        [sys.executable, "-c", "import app, os; print(os.environ['GRADIO_ANALYTICS_ENABLED'])"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == "False"
