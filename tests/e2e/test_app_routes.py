"""The app over HTTP: the PDF route serves only report PDFs inside the corpus; the
`ask` API matches the CLI's JSON; admin handlers refuse without the password;
one re-index at a time."""

from __future__ import annotations

import json
import shutil
import time
from urllib.parse import quote

import httpx
import pytest

from assistant.index.build import Busy, build_lock
from assistant.search.conversation import Context
from tests.support.apps import get, queue_event, serve
from tests.support.corpora import BEDFORD_2017
from tests.support.paths import ROOT

PASSWORD = "correct horse battery staple"
HTML_AS_PDF = "80431_blackpool/children's services inspection - 13 july 2012.pdf"


@pytest.fixture(scope="module")
def app_dirs(tmp_path_factory, sample_corpus, sample_index):
    root = tmp_path_factory.mktemp("app")
    corpus = root / "corpus"
    shutil.copytree(sample_corpus, corpus)
    index = root / "index"
    shutil.copytree(sample_index, index, ignore=shutil.ignore_patterns("build.lock"))
    outside = root / "outside"
    outside.mkdir()
    shutil.copy(corpus / BEDFORD_2017, outside / "secret.pdf")
    (outside / "notes.txt").write_text("not for the web")
    # Traps inside the corpus folder.
    (corpus / "leak.pdf").symlink_to(outside / "secret.pdf")
    (corpus / "passwd.pdf").symlink_to("/etc/passwd")
    shutil.copy(corpus / BEDFORD_2017, corpus / ".hidden.pdf")
    (corpus / "inside-link.pdf").symlink_to(corpus / BEDFORD_2017)
    return corpus, index, outside


@pytest.fixture(scope="module")
def service(app_dirs, embedder):
    from assistant.app.service import Service
    from assistant.search.searcher import Searcher
    from assistant.settings import AppSettings

    corpus, index, _ = app_dirs
    settings = AppSettings(corpus=corpus, index=index, admin_password=PASSWORD, max_upload_bytes=5 * 1024 * 1024)
    return Service(settings, embedder, Searcher(index, embedder=embedder))


@pytest.fixture(scope="module")
def server(service):
    """The real app (FastAPI + Gradio) served by uvicorn in a thread of this process."""
    with serve(service) as url:
        yield url


def test_serves_a_corpus_pdf_inline(server):
    r = get(server, "/report/" + quote(BEDFORD_2017))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"].startswith("inline")
    assert r.content.startswith(b"%PDF-")


@pytest.mark.parametrize(
    "raw_path",
    [
        "/report/../app.py",
        "/report/%2e%2e/%2e%2e/etc/passwd",
        "/report/..%2f..%2fetc%2fpasswd",
        "/report/80428_bedford/..%2f..%2foutside%2fsecret.pdf",
        "/report//etc/passwd",
        "/report/%2fetc%2fpasswd",
        "/report/leak.pdf",  # symlink to a PDF outside the corpus
        "/report/passwd.pdf",  # symlink to /etc/passwd
        "/report/.hidden.pdf",
        "/report/manifest.csv",
        "/report/" + quote(HTML_AS_PDF),  # an HTML page named .pdf must never be served as a page
        "/report/80428_bedford",
        "/report/",
        "/report/no-such.pdf",
        "/report/80428_bedford%5c..%5c..%5capp.py",
    ],
)
def test_refuses_anything_but_report_pdfs_in_the_corpus(server, raw_path):
    r = get(server, raw_path)
    assert r.status_code == 404, (raw_path, r.status_code)
    assert b"%PDF" not in r.content and b"root:" not in r.content


def test_symlink_inside_the_corpus_is_served(server):
    assert get(server, "/report/inside-link.pdf").status_code == 200


def test_index_files_are_not_served_even_inside_the_corpus(tmp_path, sample_corpus):
    from assistant.app.service import corpus_file

    corpus = tmp_path / "c"
    (corpus / "index" / "generations").mkdir(parents=True)
    shutil.copy(sample_corpus / BEDFORD_2017, corpus / "index" / "generations" / "x.pdf")
    shutil.copy(sample_corpus / BEDFORD_2017, corpus / "ok.pdf")
    assert corpus_file(corpus, corpus / "index", "index/generations/x.pdf") is None
    assert corpus_file(corpus, corpus / "index", "ok.pdf") == (corpus / "ok.pdf").resolve()
    assert corpus_file(corpus, corpus / "index", str((corpus / "ok.pdf").resolve())) is None


def test_gradio_file_route_does_not_serve_corpus_or_index(server, app_dirs):
    corpus, index, outside = app_dirs
    for p in (corpus / BEDFORD_2017, index / "CURRENT", outside / "notes.txt"):
        r = httpx.get(f"{server}/gradio_api/file={p.resolve()}")
        assert r.status_code in (403, 404), p


def test_ask_api_matches_the_cli_json(server, sample_index, tmp_path, embedder):
    from gradio_client import Client

    # The CLI caches the exported model under INDEX/models: point it at the session's cache
    # (conftest.MODEL_CACHE, filled by the `embedder` fixture) instead of exporting it again.
    index = tmp_path / "index"
    shutil.copytree(sample_index, index, ignore=shutil.ignore_patterns("build.lock"))
    (index / "models").symlink_to(ROOT / "index" / "models")

    client = Client(server + "/", verbose=False)
    assert list(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == ["/ask", "/across"]
    q = "Bedford 2017: how effective was the MASH?"
    got = client.predict(q, api_name="/ask")
    import subprocess
    import sys

    cli = subprocess.run(
        [sys.executable, "-m", "assistant", "ask", "--json", "--index", str(index), q],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=120,
    )
    assert got == json.loads(cli.stdout)
    assert got["hits"] and got["filters"]["from"] == 2017
    narrowed = client.predict("how are care leavers supported?", ["Blackpool"], None, None, 2, api_name="/ask")
    assert len(narrowed["hits"]) == 2 and {h["local_authority"] for h in narrowed["hits"]} == {"Blackpool Borough Council"}


def queue_call(server: str, fn_name: str, data: list) -> list:
    """Call a (private) event handler the way the browser does, via the queue."""
    msg = queue_event(server, fn_name, data, timeout=60)
    assert msg.get("msg") == "process_completed" and msg.get("success"), msg
    return msg["output"]["data"]


def test_admin_handlers_refuse_a_wrong_password(server, service, app_dirs):
    corpus, _, _ = app_dirs
    gen = service.searcher.generation.name
    before = sorted(p.relative_to(corpus).as_posix() for p in corpus.rglob("*"))
    for given in ["", "wrong", PASSWORD + "x"]:
        out = queue_call(server, "on_reindex", [given])
        assert out[0] == "Wrong password."
        out = queue_call(server, "on_delete", [given, BEDFORD_2017])
        assert out[0] == "Wrong password."
    assert sorted(p.relative_to(corpus).as_posix() for p in corpus.rglob("*")) == before
    assert service.searcher.generation.name == gen and service.admin.reindexer.last is None
    assert queue_call(server, "on_login", ["nope"])[0] == "Wrong password."
    assert queue_call(server, "on_login", [PASSWORD])[0] == "Logged in."


def test_no_admin_password_means_no_admin(service):
    from dataclasses import replace

    from assistant.app.service import Service

    closed = Service(replace(service.settings, admin_password=""), service.embedder, service.searcher)
    assert not closed.password_ok("") and not closed.password_ok("anything")


def test_two_reindex_requests_one_runs_one_is_busy(service):
    job = service.admin.reindexer.start()
    with pytest.raises(Busy):
        service.admin.reindexer.start()
    assert job.finished.wait(120)
    assert not job.error, job.error
    # Another process holding the index's build lock (e.g. `python -m assistant index`).
    with build_lock(service.settings.index):
        job2 = service.admin.reindexer.start()
        assert job2.finished.wait(60)
    assert job2.error.startswith("busy")


def test_upload_checks_content_and_size(service, tmp_path):
    fake = tmp_path / "fake.pdf"
    fake.write_text("<html><body>not a pdf</body></html>")
    with pytest.raises(ValueError, match="not a PDF"):
        service.admin.save_upload(fake, "fake.pdf")
    big = tmp_path / "big.pdf"
    with big.open("wb") as fh:
        fh.write(b"%PDF-1.4\n")
        fh.truncate(6 * 1024 * 1024)
    with pytest.raises(ValueError, match="limit"):
        service.admin.save_upload(big, "big.pdf")
    real = tmp_path / "r.pdf"
    shutil.copy(service.settings.corpus / BEDFORD_2017, real)
    rel = service.admin.save_upload(real, "../../etc/evil name<script>.pdf")
    assert rel.startswith("uploads/") and ".." not in rel and "<" not in rel and "/" not in rel.removeprefix("uploads/")
    saved = service.settings.corpus / rel
    assert saved.resolve().is_relative_to(service.settings.corpus.resolve())
    saved.unlink()


def test_chat_answer_is_fast(service):
    service.reply("Bedford 2017: how effective was the MASH?", Context(), 5)  # warm
    t = time.perf_counter()
    r = service.reply("Blackpool 2019: how are children in care supported?", Context(), 5)
    assert r.answer.hits
    assert time.perf_counter() - t < 1.0


def test_library_lists_every_report_and_failure(service):
    from assistant.app.library import HEADERS, rows, table

    gen = service.searcher.generation
    got = rows(gen)
    assert {r.file for r in got} == {r.path for r in gen.reports} | {f.path for f in gen.failures}
    failed = {r.file: r.status for r in got if r.status.startswith("failed")}
    assert failed[HTML_AS_PDF].startswith("failed: not a PDF")
    assert got[-len(failed) :] == [r for r in got if r.file in failed]  # failures listed last
    bedford = next(r for r in got if r.file == BEDFORD_2017)
    assert bedford.status == "indexed" and bedford.pages and bedford.paragraphs and bedford.published == "2017-04-07"
    assert len(table(gen)[0]) == len(HEADERS)


def test_admin_tab_without_password_says_how_to_enable(service):
    from dataclasses import replace

    from assistant.app.service import Service
    from assistant.app.ui import build_blocks

    closed = Service(replace(service.settings, admin_password=""), service.embedder, service.searcher)
    config = build_blocks(closed).get_config_file()
    values = [str(c.get("props", {}).get("value", "")) for c in config["components"]]
    assert any("ASSISTANT_ADMIN_PASSWORD" in v for v in values)
    assert not any(c.get("props", {}).get("elem_id", "").startswith("admin-") for c in config["components"])


def test_delete_removes_the_file_and_reindexes(service):
    with pytest.raises(ValueError):
        service.admin.delete_file("../outside/secret.pdf")
    with pytest.raises(ValueError):
        service.admin.delete_file("")
    service.admin.delete_file(HTML_AS_PDF)
    assert not (service.settings.corpus / HTML_AS_PDF).exists()
    job = service.admin.reindexer.start()
    assert job.finished.wait(120) and not job.error, job.error
    assert HTML_AS_PDF not in {f.path for f in service.searcher.generation.failures}
