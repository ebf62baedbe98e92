"""The browser app: chat, library and admin tabs (Gradio), and the route serving report PDFs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Before gradio is imported: it reads this at import time.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402
from fastapi import FastAPI, HTTPException  # noqa: E402
from fastapi.responses import FileResponse  # noqa: E402

from . import conversation, library, ui_format  # noqa: E402
from .indexer import Busy  # noqa: E402
from .service import Service, Settings, corpus_file, start_service  # noqa: E402


def add_report_route(app: FastAPI, settings: Settings) -> None:
    @app.get("/report/{rel:path}", include_in_schema=False)
    def report(rel: str) -> FileResponse:
        path = corpus_file(settings.corpus, settings.index, rel)
        if path is None:
            raise HTTPException(status_code=404, detail="no such report")
        return FileResponse(
            path,
            media_type="application/pdf",
            filename=path.name,
            content_disposition_type="inline",
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"},
        )


INTRO = (
    "# Ofsted report assistant\n\n"
    "Ask about children's services inspection reports. Answers are the reports' own words, "
    "quoted with report, page and paragraph; nothing is paraphrased. Name an authority and a year "
    "in the question (\"Bedford 2017: how effective was the MASH?\"), or set the filters."
)
PRIVATE = "private"  # UI-only events: not callable through the API clients


def _filters(authorities: list[str] | None, year_from: float | None, year_to: float | None) -> conversation.Filters:
    yf = int(year_from) if year_from else None
    yt = int(year_to) if year_to else None
    if yf and yt and yf > yt:
        yf, yt = yt, yf
    return conversation.Filters(tuple(authorities or ()), yf, yt)


def build_blocks(service: Service) -> gr.Blocks:
    def authority_choices() -> list[tuple[str, str]]:
        return sorted(((name, key) for key, name in service.searcher.authorities().items()), key=lambda c: c[0].lower())

    with gr.Blocks(title="Ofsted report assistant", analytics_enabled=False) as demo:
        ctx_state = gr.State(conversation.Context())
        gr.Markdown(INTRO)
        with gr.Tabs():
            with gr.Tab("Ask", id="ask"):
                with gr.Row():
                    with gr.Column(scale=3):
                        chat = gr.Chatbot(
                            label="Answers",
                            height=600,
                            latex_delimiters=[],
                            sanitize_html=True,
                            render_markdown=True,
                            allow_tags=False,
                            feedback_options=None,
                            buttons=["copy"],
                            elem_id="chat",
                        )
                        question = gr.Textbox(
                            label="Question",
                            placeholder="e.g. Bedford 2017: how effective was the MASH?",
                            elem_id="question",
                            max_length=1000,
                            autofocus=True,
                        )
                        with gr.Row():
                            new_topic = gr.Button("New topic", elem_id="new-topic")
                            csv_btn = gr.DownloadButton("Export passages (CSV)", visible=False, elem_id="export-csv")
                            md_btn = gr.DownloadButton("Export passages (Markdown)", visible=False, elem_id="export-md")
                    with gr.Column(scale=1):
                        gr.Markdown("### Searched with")
                        auth = gr.Dropdown(choices=authority_choices(), value=[], multiselect=True, label="Local authority", elem_id="f-authority")
                        with gr.Row():
                            y_from = gr.Number(label="From year", precision=0, value=None, elem_id="f-from")
                            y_to = gr.Number(label="To year", precision=0, value=None, elem_id="f-to")
                        k = gr.Slider(1, 20, value=5, step=1, label="Number of passages", elem_id="f-k")
                        apply_btn = gr.Button("Search again with these filters", elem_id="apply")
                        gr.Markdown("### Over time")
                        ot_auth = gr.Dropdown(choices=authority_choices(), value=None, label="Authority", elem_id="ot-authority")
                        ot_btn = gr.Button("Best passage from each of its reports", elem_id="over-time")
                over_time = gr.Markdown(latex_delimiters=[], elem_id="over-time-view")

            with gr.Tab("Library", id="library"):
                lib = gr.Dataframe(
                    value=library.table(service.searcher.generation),
                    headers=list(library.HEADERS),
                    interactive=False,
                    show_search="search",
                    wrap=True,
                    max_height=700,
                    column_widths=["9%", "7%", "17%", "8%", "4%", "5%", "8%", "16%", "8%", "8%", "10%"],
                    elem_id="library",
                )

            with gr.Tab("Admin", id="admin"):
                if not service.settings.admin_password:
                    gr.Markdown(
                        "The Admin tab is disabled. To enable it, set the environment variable "
                        "`ASSISTANT_ADMIN_PASSWORD` to a password of your choice and restart the app "
                        "(`ASSISTANT_ADMIN_PASSWORD=... python app.py`)."
                    )
                    admin = None
                else:
                    admin = _admin_panel(service, lib, authority_choices)

        # --- chat events ---------------------------------------------------------------

        def show(reply, history, q_shown):
            f = reply.context.filters
            csv_path, md_path = service.export_files(reply.answer)
            history = list(history or []) + ([{"role": "user", "content": q_shown}] if q_shown else [])
            history.append({"role": "assistant", "content": reply.markdown})
            choices = authority_choices()
            return (
                "",
                history,
                reply.context,
                gr.update(choices=choices, value=list(f.authorities)),
                f.year_from,
                f.year_to,
                gr.update(value=str(csv_path), visible=bool(reply.answer.hits)),
                gr.update(value=str(md_path), visible=bool(reply.answer.hits)),
                gr.update(choices=choices, value=f.authorities[0] if f.authorities else None),
            )

        outputs = [question, chat, ctx_state, auth, y_from, y_to, csv_btn, md_btn, ot_auth]

        def on_ask(q, history, ctx, authorities, yf, yt, kk):
            q = (q or "").strip()
            if not q:
                return (gr.update(),) * len(outputs)
            ctx = conversation.with_filters(ctx, _filters(authorities, yf, yt))
            reply = service.reply(q, ctx, int(kk or 5))
            return show(reply, history, ui_format.escape_text(q))

        def on_apply(history, ctx, authorities, yf, yt, kk):
            ctx = conversation.with_filters(ctx, _filters(authorities, yf, yt))
            if not ctx.topic:
                return (gr.update(),) * len(outputs)
            reply = service.rerun(ctx, int(kk or 5))
            return show(reply, history, "")

        def on_new_topic():
            return ("", [], conversation.Context(), gr.update(value=[]), None, None,
                    gr.update(visible=False), gr.update(visible=False), gr.update(value=None), "")

        def on_over_time(ctx, key):
            if not ctx.topic:
                return "Ask a question first; the over-time view follows its topic."
            if not key:
                return "Choose an authority."
            names = service.searcher.authorities()
            hits = service.searcher.best_per_report(ctx.topic, key)
            return ui_format.over_time_markdown(hits, names.get(key, key), ctx.topic)

        inputs = [chat, ctx_state, auth, y_from, y_to, k]
        question.submit(on_ask, [question] + inputs, outputs, api_visibility=PRIVATE)
        apply_btn.click(on_apply, inputs, outputs, api_visibility=PRIVATE)
        new_topic.click(on_new_topic, None, outputs + [over_time], api_visibility=PRIVATE)
        ot_btn.click(on_over_time, [ctx_state, ot_auth], over_time, api_visibility=PRIVATE)

        def on_load():
            choices = authority_choices()
            return library.table(service.searcher.generation), gr.update(choices=choices), gr.update(choices=choices)

        demo.load(on_load, None, [lib, auth, ot_auth], api_visibility=PRIVATE)

        # --- the public API ----------------------------------------------------------

        def ask(question: str, authorities: list[str] | None = None, year_from: int | None = None,
                year_to: int | None = None, k: int = 5) -> dict:
            """Verbatim passages answering `question`: the JSON of `python -m assistant ask --json`."""
            return service.ask_json(question, authorities, year_from, year_to, k)

        gr.api(ask, api_name="ask")
    return demo


def _admin_panel(service: Service, lib: gr.Dataframe, authority_choices) -> None:
    pw = gr.Textbox(label="Admin password", type="password", elem_id="admin-password")
    login = gr.Button("Log in", elem_id="admin-login")
    login_msg = gr.Markdown()
    with gr.Column(visible=False) as panel:
        status = gr.Markdown(elem_id="admin-status")
        files = gr.File(label="Report PDFs to add", file_count="multiple", file_types=[".pdf"], type="filepath", elem_id="admin-upload")
        upload_btn = gr.Button("Add to corpus and re-index", variant="primary", elem_id="admin-add")
        reindex_btn = gr.Button("Re-index now", elem_id="admin-reindex")
        with gr.Row():
            # Custom values allowed: the list may be stale after another session's change, and
            # Service.delete_file checks the path itself.
            to_delete = gr.Dropdown(choices=service.report_files(), value=None, allow_custom_value=True,
                                    label="Report file to delete", elem_id="admin-delete-choice")
            delete_btn = gr.Button("Delete and re-index", variant="stop", elem_id="admin-delete")
        admin_msg = gr.Markdown(elem_id="admin-message")

    def on_login(given):
        if not service.password_ok(given):
            return "Wrong password.", gr.update(visible=False), gr.update(), gr.update()
        return "Logged in.", gr.update(visible=True), service.index_status(), gr.update(choices=service.report_files(), value=None)

    def refreshed(message: str):
        return (
            message,
            service.index_status(),
            library.table(service.searcher.generation),
            gr.update(choices=service.report_files(), value=None),
        )

    denied = ("Wrong password.", gr.update(), gr.update(), gr.update())

    def run_reindex(progress: gr.Progress) -> str:
        try:
            job = service.reindexer.start()
        except Busy as exc:
            return f"Busy: {exc}"
        while not job.finished.wait(0.25):
            progress((job.done, job.total) if job.total else None, desc=job.stage)
        if job.error:
            return f"Re-index failed: {ui_format.escape_text(job.error)}"
        return "  \n".join(ui_format.escape_text(line) for line in job.summary.lines())

    def on_upload(given, paths, progress=gr.Progress()):
        if not service.password_ok(given):
            return denied
        saved, errors = [], []
        for p in paths or []:
            try:
                saved.append(service.save_upload(Path(p), Path(p).name))
            except (ValueError, OSError) as exc:
                errors.append(str(exc))
        msg = [f"Added {ui_format.escape_text(s)}." for s in saved] + [f"Refused {ui_format.escape_text(e)}." for e in errors]
        if saved:
            msg.append(run_reindex(progress))
        elif not errors:
            msg.append("Choose one or more PDF files first.")
        return refreshed("  \n".join(msg))

    def on_reindex(given, progress=gr.Progress()):
        if not service.password_ok(given):
            return denied
        return refreshed(run_reindex(progress))

    def on_delete(given, rel, progress=gr.Progress()):
        if not service.password_ok(given):
            return denied
        try:
            service.delete_file(rel or "")
        except (ValueError, OSError) as exc:
            return refreshed(f"Not deleted: {ui_format.escape_text(str(exc))}")
        return refreshed(f"Deleted {ui_format.escape_text(rel)}.  \n" + run_reindex(progress))

    outs = [admin_msg, status, lib, to_delete]
    login.click(on_login, pw, [login_msg, panel, status, to_delete], api_visibility=PRIVATE)
    pw.submit(on_login, pw, [login_msg, panel, status, to_delete], api_visibility=PRIVATE)
    upload_btn.click(on_upload, [pw, files], outs, api_visibility=PRIVATE)
    reindex_btn.click(on_reindex, pw, outs, api_visibility=PRIVATE)
    delete_btn.click(on_delete, [pw, to_delete], outs, api_visibility=PRIVATE)



def build_app(service: Service) -> FastAPI:
    """The FastAPI app: /report/<path> for PDFs, and the Gradio UI at /."""
    s = service.settings
    blocks = build_blocks(service)
    # api_open=False: Gradio otherwise also answers POST /gradio_api/run/<name> and /api/<name>
    # outside the queue, which would lift the queue bound and the concurrency limit.
    blocks.queue(max_size=s.queue_size, default_concurrency_limit=s.concurrency, api_open=False)
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    add_report_route(app, s)
    mounted = gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        server_name=s.host,
        server_port=s.port,
        footer_links=["api"],
        run_history=False,
        max_file_size=s.max_upload_bytes,
        blocked_paths=[str(s.index.resolve()), str(s.corpus.resolve())],
        show_error=False,  # exception text stays in the server log
        ssr_mode=False,
        mcp_server=False,
        pwa=False,
        enable_monitoring=False,
        theme=gr.themes.Default(),
        css=CSS,
    )
    # Gradio accepts only files uploaded through /gradio_api/upload as event inputs once a
    # Blocks "has launched", which launch() sets and mount_gradio_app does not. Unset, any
    # request could name any server path (even without the admin password) and Gradio would
    # copy it into its cache before our handler runs.
    blocks.has_launched = True
    return mounted


CSS = """
mark { background: #fff3a3; color: inherit; padding: 0 .1em; }
.message blockquote { border-left: 4px solid #888; margin: .4em 0; padding-left: .8em; }
#chat pre, #chat pre code { white-space: pre-wrap !important; word-break: break-word; }
"""


def serve(settings: Settings) -> None:
    import uvicorn

    service = start_service(settings)
    app = build_app(service)
    print(f"serving on http://{settings.host}:{settings.port}", file=sys.stderr, flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
