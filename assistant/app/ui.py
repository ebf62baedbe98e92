"""The browser app: chat, across-reports, library and admin tabs (Gradio), and the route serving report PDFs."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import gradio as gr
from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse

from ..search import conversation, themes
from ..settings import DEFAULT_K, MAX_K
from . import PRIVATE, exports, labels, library, markdown
from .admin_ui import admin_panel
from .service import Service, Settings, corpus_file, start_service


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
    'in the question ("Bedford 2017: how effective was the MASH?"), or set the filters.'
)


def _filters(authorities: list[str] | None, year_from: float | None, year_to: float | None) -> conversation.Filters:
    yf = int(year_from) if year_from else None
    yt = int(year_to) if year_to else None
    if yf and yt and yf > yt:
        yf, yt = yt, yf
    return conversation.Filters(tuple(authorities or ()), yf, yt)


def build_blocks(service: Service) -> gr.Blocks:
    """The app's page: the Ask tab (chat, filters, over time), Library and Admin, and the `ask` API."""

    def authority_choices() -> list[tuple[str, str]]:
        return sorted(((name, key) for key, name in service.searcher.authorities().items()), key=lambda c: c[0].lower())

    with gr.Blocks(title="Ofsted report assistant", analytics_enabled=False) as demo:
        ctx_state = gr.State(conversation.Context())
        gr.Markdown(INTRO)
        with gr.Tabs():
            with gr.Tab("Ask", id="ask"):
                ask_tab = _ask_tab(authority_choices)
            with gr.Tab("Across all reports", id="across"):
                _across_tab(service)
            with gr.Tab("Library", id="library"):
                lib = _library_tab(service)
            with gr.Tab("Admin", id="admin"):
                if not service.settings.admin_password:
                    gr.Markdown(
                        "The Admin tab is disabled. To enable it, set the environment variable "
                        "`ASSISTANT_ADMIN_PASSWORD` to a password of your choice and restart the app "
                        "(`ASSISTANT_ADMIN_PASSWORD=... python app.py`)."
                    )
                else:
                    admin_panel(service, lib, authority_choices)

        _wire_chat(service, ask_tab, ctx_state, authority_choices)
        _wire_over_time(service, ask_tab, ctx_state)

        def on_load():
            choices = authority_choices()
            return library.table(service.searcher.generation), gr.update(choices=choices), gr.update(choices=choices)

        demo.load(on_load, None, [lib, ask_tab.auth, ask_tab.ot_auth], api_visibility=PRIVATE)
        _add_api(service)
    return demo


@dataclass(frozen=True)
class _AskTab:
    """The Ask tab's components that its events read or write."""

    chat: gr.Chatbot
    question: gr.Textbox
    new_topic: gr.Button
    csv_btn: gr.DownloadButton
    md_btn: gr.DownloadButton
    auth: gr.Dropdown
    y_from: gr.Number
    y_to: gr.Number
    k: gr.Slider
    apply_btn: gr.Button
    ot_auth: gr.Dropdown
    ot_btn: gr.Button
    over_time: gr.Markdown
    order: gr.Radio  # report groups by best passage or by date
    cite_btns: tuple[gr.DownloadButton, ...]  # BibTeX, RIS, CSL-JSON of the cited reports
    ot_chart: gr.BarPlot


def _ask_tab(authority_choices) -> _AskTab:
    """Chat on the left; the filters it searched with and the over-time controls on the right."""
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
            with gr.Row():
                order = gr.Radio(
                    [("Best passage first", labels.RELEVANCE), ("Newest report first", labels.DATE)],
                    value=labels.RELEVANCE,
                    label="Order of reports",
                    elem_id="order",
                )
                cite_btns = tuple(
                    gr.DownloadButton(f"Cited reports ({name})", visible=False, elem_id=f"export-{eid}")
                    for name, eid in (("BibTeX", "bib"), ("RIS", "ris"), ("CSL-JSON", "csl"))
                )
        with gr.Column(scale=1):
            gr.Markdown("### Searched with")
            auth = gr.Dropdown(choices=authority_choices(), value=[], multiselect=True, label="Local authority", elem_id="f-authority")
            with gr.Row():
                y_from = gr.Number(label="From year", precision=0, value=None, elem_id="f-from")
                y_to = gr.Number(label="To year", precision=0, value=None, elem_id="f-to")
            k = gr.Slider(1, MAX_K, value=DEFAULT_K, step=1, label="Number of passages", elem_id="f-k")
            apply_btn = gr.Button("Search again with these filters", elem_id="apply")
            gr.Markdown("### Over time")
            ot_auth = gr.Dropdown(choices=authority_choices(), value=None, label="Authority", elem_id="ot-authority")
            ot_btn = gr.Button("Best passage from each of its reports", elem_id="over-time")
    ot_chart = gr.BarPlot(
        value=markdown.chart_frame(()),
        x="year",
        y="reports",
        color="grade",
        color_map=markdown.GRADE_COLOURS,
        title="Its reports by year and grade of the judgement the best passage sits under",
        x_title="Year published",
        y_title="Reports",
        color_title="Grade",
        height=260,
        visible=False,
        elem_id="over-time-chart",
    )
    over_time = gr.Markdown(latex_delimiters=[], elem_id="over-time-view")
    return _AskTab(
        chat, question, new_topic, csv_btn, md_btn, auth, y_from, y_to, k, apply_btn, ot_auth, ot_btn, over_time, order, cite_btns, ot_chart
    )


def _library_tab(service: Service) -> gr.Dataframe:
    """Every report of the serving generation, indexed or failed (library.rows)."""
    return gr.Dataframe(
        value=library.table(service.searcher.generation),
        headers=list(library.HEADERS),
        interactive=False,
        show_search="search",
        wrap=True,
        max_height=700,
        column_widths=["9%", "7%", "17%", "8%", "4%", "5%", "8%", "16%", "8%", "8%", "10%"],
        elem_id="library",
    )


def _wire_chat(service: Service, t: _AskTab, ctx_state: gr.State, authority_choices) -> None:
    """Ask, search again with edited filters, start a new topic."""

    last = gr.State(None)  # the last Reply, re-rendered when the order changes

    def rendered(reply, order):
        if order == labels.RELEVANCE or not reply.answer.hits:
            return reply.markdown
        return markdown.answer_markdown(reply.answer, reply.searched_text, (), order)

    def show(reply, history, q_shown, order):
        f = reply.context.filters
        csv_path, md_path = service.export_files(reply.answer)
        cite_paths = service.citation_files(exports.cited_reports(reply.answer.hits))
        history = list(history or []) + ([{"role": "user", "content": q_shown}] if q_shown else [])
        history.append({"role": "assistant", "content": rendered(reply, order)})
        choices = authority_choices()
        return (
            reply,
            *(gr.update(value=str(p), visible=bool(reply.answer.hits)) for p in cite_paths),
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

    outputs = [last, *t.cite_btns, t.question, t.chat, ctx_state, t.auth, t.y_from, t.y_to, t.csv_btn, t.md_btn, t.ot_auth]

    def on_ask(q, history, ctx, authorities, yf, yt, kk, order):
        q = (q or "").strip()
        if not q:
            return (gr.update(),) * len(outputs)
        ctx = conversation.with_filters(ctx, _filters(authorities, yf, yt))
        reply = service.reply(q, ctx, int(kk or 5))
        return show(reply, history, markdown.escape_text(q), order)

    def on_apply(history, ctx, authorities, yf, yt, kk, order):
        ctx = conversation.with_filters(ctx, _filters(authorities, yf, yt))
        if not ctx.topic:
            return (gr.update(),) * len(outputs)
        reply = service.rerun(ctx, int(kk or 5))
        return show(reply, history, "", order)

    def on_new_topic():
        hidden = gr.update(visible=False)
        return (
            None,
            hidden,
            hidden,
            hidden,
            "",
            [],
            conversation.Context(),
            gr.update(value=[]),
            None,
            None,
            hidden,
            hidden,
            gr.update(value=None),
            "",
            gr.update(visible=False),
        )

    def on_order(reply, history, order):
        # The latest answer is shown again in the new order; earlier ones keep theirs.
        history = list(history or [])
        if reply is None or not history or history[-1].get("role") != "assistant":
            return gr.update()
        history[-1] = {"role": "assistant", "content": rendered(reply, order)}
        return history

    inputs = [t.chat, ctx_state, t.auth, t.y_from, t.y_to, t.k, t.order]
    t.question.submit(on_ask, [t.question, *inputs], outputs, api_visibility=PRIVATE)
    t.apply_btn.click(on_apply, inputs, outputs, api_visibility=PRIVATE)
    t.new_topic.click(on_new_topic, None, outputs + [t.over_time, t.ot_chart], api_visibility=PRIVATE)
    t.order.change(on_order, [last, t.chat, t.order], t.chat, api_visibility=PRIVATE)


def _wire_over_time(service: Service, t: _AskTab, ctx_state: gr.State) -> None:
    """One authority's best passage per report, on the chat's current topic."""

    def on_over_time(ctx, key):
        if not ctx.topic:
            return "Ask a question first; the over-time view follows its topic.", gr.update(visible=False)
        if not key:
            return "Choose an authority.", gr.update(visible=False)
        names = service.searcher.authorities()
        hits = service.searcher.best_per_report(ctx.topic, key)
        chart = markdown.chart_frame(themes.tally_hits(service.searcher, hits))
        return markdown.over_time_markdown(hits, names.get(key, key), ctx.topic), gr.update(value=chart, visible=bool(hits))

    t.ot_btn.click(on_over_time, [ctx_state, t.ot_auth], [t.over_time, t.ot_chart], api_visibility=PRIVATE)


def _across_tab(service: Service) -> None:
    """One theme over every report: the count, a chart by year and grade whose bars lead to
    their passages, the best passage of each report, and exports (search.themes)."""
    grade_choices = [(g[:1].upper() + g[1:], g) for g in themes.GRADE_ORDER]
    with gr.Row():
        question = gr.Textbox(
            label="Theme", placeholder="e.g. return home interviews for children who go missing", elem_id="across-question", max_length=1000, scale=4
        )
        search_btn = gr.Button("Search all reports", variant="primary", elem_id="across-search", scale=1)
    with gr.Row():
        y_from = gr.Number(label="From year", precision=0, value=None, elem_id="across-from")
        y_to = gr.Number(label="To year", precision=0, value=None, elem_id="across-to")
        grades = gr.CheckboxGroup(choices=grade_choices, value=[], label="Only where the judgement was", elem_id="across-grades", scale=3)
        per_report = gr.Slider(1, 3, value=1, step=1, label="Passages per report", elem_id="across-per-report")
    summary = gr.Markdown(elem_id="across-summary")
    chart = gr.BarPlot(
        value=markdown.chart_frame(()),
        x="year",
        y="reports",
        color="grade",
        color_map=markdown.GRADE_COLOURS,
        title="Reports discussing the theme fully, by year and grade of the judgement",
        x_title="Year published",
        y_title="Reports",
        color_title="Grade",
        height=320,
        elem_id="across-chart",
    )
    with gr.Row():
        bar_year = gr.Dropdown(choices=[("all years", "")], value="", label="Passages for year", elem_id="across-year")
        bar_grade = gr.Dropdown(choices=[("all grades", "")] + grade_choices, value="", label="and grade", elem_id="across-grade")
    with gr.Row():
        csv_btn = gr.DownloadButton("Table (CSV)", visible=False, elem_id="across-csv")
        bib_btn = gr.DownloadButton("BibTeX", visible=False, elem_id="across-bib")
        ris_btn = gr.DownloadButton("RIS", visible=False, elem_id="across-ris")
        csl_btn = gr.DownloadButton("CSL-JSON", visible=False, elem_id="across-csl")
    passages = gr.Markdown(latex_delimiters=[], elem_id="across-passages")
    table = gr.Dataframe(value=[], headers=list(markdown.ACROSS_TABLE_HEADERS), interactive=False, wrap=True, max_height=500, elem_id="across-table")
    state = gr.State(None)

    def on_search(q, yf, yt, gs, n):
        q = (q or "").strip()
        if not q:
            return (gr.update(), "Type a theme to search every report.") + (gr.update(),) * 9
        try:
            a = service.across(q, _filters(None, yf, yt), tuple(gs or ()), int(n or 1))
        except ValueError as exc:
            return (gr.update(), markdown.escape_text(str(exc))) + (gr.update(),) * 9
        files = service.across_files(a)
        years = sorted({t.year for t in a.tally() if t.year.isdigit()})
        shown = bool(a.rows)
        return (
            a,
            f"**{markdown.escape_text(a.summary())}** {len(a.full)} matched fully, {len(a.partial)} in part\\.",
            markdown.chart_frame(a.tally()),
            gr.update(choices=[("all years", "")] + [(y, y) for y in years], value=""),
            gr.update(value=""),
            *(gr.update(value=str(f), visible=shown) for f in files),
            markdown.across_markdown(a),
            markdown.across_table(a),
        )

    def on_bar(a, year, grade):
        if a is None:
            return gr.update()
        return markdown.across_markdown(a, year or None, grade or None)

    def on_select(a, evt: gr.SelectData):
        # A bar (or a brush over several) selects its year: the passages below follow.
        if a is None:
            return gr.update()
        years = sorted({t.year for t in a.tally() if t.year.isdigit()})
        picked = evt.index if isinstance(evt.index, (list, tuple)) else [evt.index]
        if len(picked) == 2 and all(isinstance(x, (int, float)) for x in picked):
            lo, hi = sorted(picked)
            chosen = [y for y in years if lo - 0.5 <= int(y) <= hi + 0.5]
        else:
            chosen = [y for y in years if y in {str(x) for x in picked}]
        return chosen[0] if len(chosen) == 1 else ""

    outs = [state, summary, chart, bar_year, bar_grade, csv_btn, bib_btn, ris_btn, csl_btn, passages, table]
    ins = [question, y_from, y_to, grades, per_report]
    question.submit(on_search, ins, outs, api_visibility=PRIVATE)
    search_btn.click(on_search, ins, outs, api_visibility=PRIVATE)
    bar_year.change(on_bar, [state, bar_year, bar_grade], passages, api_visibility=PRIVATE)
    bar_grade.change(on_bar, [state, bar_year, bar_grade], passages, api_visibility=PRIVATE)
    chart.select(on_select, [state], bar_year, api_visibility=PRIVATE)


def _add_api(service: Service) -> None:
    """The public `ask` endpoint (the same JSON as `python -m assistant ask --json`)
    and `across` (themes.AcrossAnswer.to_json)."""

    def ask(question: str, authorities: list[str] | None = None, year_from: int | None = None, year_to: int | None = None, k: int = 5) -> dict:
        """Verbatim passages answering `question`: the JSON of `python -m assistant ask --json`."""
        return service.ask_json(question, authorities, year_from, year_to, k)

    gr.api(ask, api_name="ask")

    def across(
        question: str,
        authorities: list[str] | None = None,
        year_from: int | None = None,
        year_to: int | None = None,
        grades: list[str] | None = None,
        per_report: int = 1,
    ) -> dict:
        """Across all reports: the best passage of each report that discusses `question`, with the
        count of reports matching fully and in part and the count per year and grade."""
        try:
            return service.across_json(question, authorities, year_from, year_to, grades, per_report)
        except ValueError as exc:
            raise gr.Error(str(exc)) from None

    gr.api(across, api_name="across")


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
