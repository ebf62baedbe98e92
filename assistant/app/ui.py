"""The browser app: chat, across-reports, library and admin tabs (Gradio), and the route serving report PDFs."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import gradio as gr
from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse

from ..language.vocab import GRADE_ORDER, grade_label
from ..search import conversation, themes
from ..settings import DEFAULT_K, MAX_K, AppSettings, clamp_k
from . import PRIVATE, chart, exports, labels, library, markdown, permalink
from .admin_ui import admin_panel
from .service import Service, corpus_file, start_service


def add_report_route(app: FastAPI, settings: AppSettings) -> None:
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

# The page's first focusable element: keyboard users reach the question box in two presses
# (Tab, Enter) from whichever tab is open, not 22.
SKIP_LINK = '<a class="skip-link" href="#question">Skip to the question box</a>'
SKIP_JS = """
element.addEventListener('click', (e) => {
  if (!e.target.closest('a.skip-link')) return;
  e.preventDefault();
  const box = () => document.querySelector('#question textarea, #question input');
  if (!box() || !box().offsetParent) {
    const ask = [...document.querySelectorAll('[role=tab]')].find((t) => t.textContent.trim() === 'Ask');
    if (ask) ask.click();
  }
  let tries = 0;
  const focus = () => { const b = box(); if (b && b.offsetParent) { b.focus(); } else if (tries++ < 40) { setTimeout(focus, 25); } };
  focus();
});
"""
# After an answer: show it from its start (the best passage), not the chat's end, and put
# its link in the address bar. Waits for the message holding that link to be drawn.
AFTER_ANSWER_JS = """
(link) => {
  const query = (link || '').slice((link || '').indexOf('?'));
  const scroller = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const s = getComputedStyle(p);
      if ((s.overflowY === 'auto' || s.overflowY === 'scroll') && p.scrollHeight > p.clientHeight) return p;
    }
    return null;
  };
  let tries = 0;
  const show = () => {
    const bots = document.querySelectorAll('#chat [data-testid="bot"]');
    const last = bots[bots.length - 1];
    const drawn = last && (!query || [...last.querySelectorAll('a[href]')].some((a) => a.getAttribute('href').endsWith(query)));
    if (!drawn) { if (tries++ < 100) setTimeout(show, 30); return; }
    const box = scroller(last);
    if (box) box.scrollTop += last.getBoundingClientRect().top - box.getBoundingClientRect().top - 40;
    const top = last.getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight - 120) last.scrollIntoView({block: 'start'});
  };
  setTimeout(show, 0);
  if (link) { try { history.replaceState(null, '', link); } catch (e) {} }
}
"""
# After an across answer: its link in the address bar.
ADDRESS_JS = "(link) => { if (link) { try { history.replaceState(null, '', link); } catch (e) {} } }"
# A chart's bar (app.chart) asks for the passages behind it.
BAR_JS = """
element.addEventListener('click', (e) => {
  const bar = e.target.closest('.bar');
  if (bar) trigger('select', {year: bar.dataset.year, grade: bar.dataset.grade});
});
"""
# A Library header's button sorts by its column (app.library).
SORT_JS = """
element.addEventListener('click', (e) => {
  const b = e.target.closest('button.sort');
  if (b) trigger('select', {sort: b.dataset.sort});
});
"""


def _filters(authorities: list[str] | None, year_from, year_to) -> conversation.Filters:
    yf, yt = _year(year_from), _year(year_to)
    if yf and yt and yf > yt:
        yf, yt = yt, yf
    return conversation.Filters(tuple(authorities or ()), yf, yt)


def _year(value) -> int | None:
    """A year from a year list (a string, or a number from an older client); else None."""
    try:
        y = int(str(value).strip()) if value not in (None, "") else None
    except ValueError:
        return None
    return y if y is not None and 1900 <= y <= 2100 else None


def _years_of(service: Service) -> list[str]:
    """The years the library's reports were published in, newest first: the year lists' choices."""
    return sorted({r.meta.published[:4] for r in service.searcher.generation.reports if r.meta.published[:4].isdigit()}, reverse=True)


def _year_list(label: str, elem_id: str, years: list[str]) -> gr.Dropdown:
    # A list, not a number box: empty means any year (a number box showed "0"), and only
    # years the library holds are offered; a year typed or linked in is still read.
    return gr.Dropdown(choices=years, value=None, label=label, allow_custom_value=True, elem_id=elem_id, min_width=100)


def _link_box(label: str, elem_id: str) -> gr.Textbox:
    """Where an answer's link is shown to copy (hidden until there is an answer)."""
    return gr.Textbox(label=label, interactive=False, buttons=["copy"], visible=False, elem_id=elem_id)


def _base(request: gr.Request | None) -> str:
    """The page's address, from which an answer's link is made (relative without one)."""
    headers = getattr(request, "headers", None) or {}
    return permalink.page_address(headers.get("referer"))


def build_blocks(service: Service) -> gr.Blocks:
    """The app's page: the Ask tab (chat, filters, over time), Across all reports, Library and
    Admin, the `ask` and `across` API, and links that open the page on an answer (app.permalink)."""

    def authority_choices() -> list[tuple[str, str]]:
        return sorted(((name, key) for key, name in service.searcher.authorities().items()), key=lambda c: c[0].lower())

    with gr.Blocks(title="Ofsted report assistant", analytics_enabled=False) as demo:
        gr.HTML(SKIP_LINK, js_on_load=SKIP_JS, elem_id="skip", padding=False, container=False, apply_default_css=False)
        ctx_state = gr.State(conversation.Context())
        link_state = gr.State(permalink.Link())
        gr.Markdown(INTRO)
        with gr.Tabs() as tabs:
            with gr.Tab("Ask", id=permalink.ASK):
                ask_tab = _ask_tab(service, authority_choices)
            with gr.Tab("Across all reports", id=permalink.ACROSS):
                across_tab = _across_tab(service)
            with gr.Tab("Library", id=permalink.LIBRARY) as lib_tab:
                lib = _library_tab(service, lib_tab)
            with gr.Tab("Admin", id=permalink.ADMIN):
                if not service.settings.admin_password:
                    gr.Markdown(
                        "The Admin tab is disabled. To enable it, set the environment variable "
                        "`ASSISTANT_ADMIN_PASSWORD` to a password of your choice and restart the app "
                        "(`ASSISTANT_ADMIN_PASSWORD=... python app.py`)."
                    )
                else:
                    admin_panel(service, lib, authority_choices)

        ask_outputs, show_reply = _wire_chat(service, ask_tab, ctx_state, authority_choices)
        _wire_over_time(service, ask_tab, ctx_state)
        across_outputs, run_across, across_inputs = across_tab

        def on_load(request: gr.Request):
            """The page as a link asks for it (app.permalink): its tab, filters and question;
            the question itself is answered by the next steps. Without a link only the
            lists' choices are refreshed: nothing a fast user already did is undone."""
            choices = authority_choices()
            names = service.searcher.authorities()
            params = request.query_params if request is not None else {}
            link = permalink.parse(params, names, GRADE_ORDER)
            years = _years_of(service)
            in_ask = bool(params) and link.tab == permalink.ASK
            in_across = link.tab == permalink.ACROSS
            keep = gr.update()

            def year(y: int | None, here: bool):
                return gr.update(choices=years, value=str(y) if y else None) if here else gr.update(choices=years)

            return (
                link,
                gr.update(selected=link.tab) if link.tab != permalink.ASK else keep,
                library.view(service.searcher.generation),
                gr.update(choices=choices, value=list(link.authorities)) if in_ask else gr.update(choices=choices),
                year(link.year_from, in_ask),
                year(link.year_to, in_ask),
                link.k if in_ask else keep,
                link.order if in_ask else keep,
                gr.update(choices=choices),
                link.q if in_across else keep,
                year(link.year_from, in_across),
                year(link.year_to, in_across),
                list(link.grades) if in_across else keep,
                link.per_report if in_across else keep,
            )

        def on_link_ask(link, request: gr.Request):
            if link.tab != permalink.ASK or not link.q:
                return (gr.update(),) * len(ask_outputs)
            ctx = conversation.with_filters(conversation.Context(), conversation.Filters(link.authorities, link.year_from, link.year_to))
            reply = service.reply(link.q, ctx, link.k)
            return show_reply(reply, [], markdown.escape_text(link.q), link.order, link.k, _base(request))

        def on_link_across(link, request: gr.Request):
            if link.tab != permalink.ACROSS or not link.q:
                return (gr.update(),) * len(across_outputs)
            return run_across(link.q, link.year_from, link.year_to, list(link.grades), link.per_report, request)

        t = ask_tab
        across_link = across_outputs[-1]
        demo.load(
            on_load,
            None,
            [link_state, tabs, lib, t.auth, t.y_from, t.y_to, t.k, t.order, t.ot_auth, *across_inputs],
            api_visibility=PRIVATE,
        ).then(on_link_ask, [link_state], ask_outputs, api_visibility=PRIVATE).then(
            None, [t.permalink], None, js=AFTER_ANSWER_JS, api_visibility=PRIVATE
        ).then(on_link_across, [link_state], across_outputs, api_visibility=PRIVATE).then(
            None, [across_link], None, js=ADDRESS_JS, api_visibility=PRIVATE
        )
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
    y_from: gr.Dropdown
    y_to: gr.Dropdown
    k: gr.Slider
    apply_btn: gr.Button
    ot_auth: gr.Dropdown
    ot_btn: gr.Button
    over_time: gr.Markdown
    order: gr.Radio  # report groups by best passage or by date
    cite_btns: tuple[gr.DownloadButton, ...]  # BibTeX, RIS, CSL-JSON of the cited reports
    ot_chart: gr.HTML
    permalink: gr.Textbox  # the link that reproduces the latest answer


def _ask_tab(service: Service, authority_choices) -> _AskTab:
    """Chat on the left; the filters it searched with and the over-time controls on the right."""
    years = _years_of(service)
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
                # A new answer is shown from its start (AFTER_ANSWER_JS), not scrolled to its end.
                autoscroll=False,
                elem_id="chat",
            )
            question = gr.Textbox(
                label="Question",
                placeholder="e.g. Bedford 2017: how effective was the MASH?",
                elem_id="question",
                max_length=permalink.MAX_QUESTION,
                autofocus=True,
            )
            link = _link_box("Link to this answer (opens the app on the same question, filters and order)", "permalink")
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
                y_from = _year_list("From year", "f-from", years)
                y_to = _year_list("To year", "f-to", years)
            k = gr.Slider(1, MAX_K, value=DEFAULT_K, step=1, label="Number of passages", elem_id="f-k")
            apply_btn = gr.Button("Search again with these filters", elem_id="apply")
            gr.Markdown("### Over time")
            ot_auth = gr.Dropdown(choices=authority_choices(), value=None, label="Authority", elem_id="ot-authority")
            ot_btn = gr.Button("Best passage from each of its reports", elem_id="over-time")
    ot_chart = gr.HTML("", visible=False, elem_id="over-time-chart", apply_default_css=False)
    over_time = gr.Markdown(latex_delimiters=[], elem_id="over-time-view")
    return _AskTab(
        chat, question, new_topic, csv_btn, md_btn, auth, y_from, y_to, k, apply_btn, ot_auth, ot_btn, over_time, order, cite_btns, ot_chart, link
    )


def _options(everything: str, values: list[str]) -> list[tuple[str, str]]:
    """A filter's choices: `everything` (the value "") first, then each value as itself."""
    return [(everything, "")] + [(v, v) for v in values]


def _library_tab(service: Service, tab: gr.Tab) -> gr.HTML:
    """Every report of the serving generation, indexed or failed (app.library), filtered by
    authority, year and overall grade and sorted by any column (its header's button)."""
    authorities, years, grades = library.choices(library.rows(service.searcher.generation))
    with gr.Row():
        authority = gr.Dropdown(choices=_options("all authorities", authorities), value="", label="Authority", elem_id="lib-authority")
        year = gr.Dropdown(choices=_options("all years", years), value="", label="Year published", elem_id="lib-year")
        grade = gr.Dropdown(
            choices=[("all grades", "")] + [(grade_label(g), g) for g in grades], value="", label="Overall grade", elem_id="lib-grade"
        )
        text = gr.Textbox(label="Search the table", max_length=200, elem_id="lib-search")
    table = gr.HTML(library.view(service.searcher.generation), js_on_load=SORT_JS, elem_id="library", padding=False, apply_default_css=False)
    state = gr.State(library.View())

    def shown(v: library.View):
        return v, library.view(service.searcher.generation, v)

    def on_filter(v, a, y, g, q):
        return shown(library.View(a or "", y or "", g or "", (q or "")[:200], v.sort, v.descending))

    def on_sort(v, evt: gr.EventData):
        column = (getattr(evt, "_data", None) or {}).get("sort") if evt is not None else None
        return shown(v.sorted_by(str(column or "")))

    def on_open(v):
        # The library may have changed since the page loaded (an upload, a re-index).
        a, y, g = library.choices(library.rows(service.searcher.generation))
        return (
            *shown(v),
            gr.update(choices=_options("all authorities", a)),
            gr.update(choices=_options("all years", y)),
            gr.update(choices=[("all grades", "")] + [(grade_label(x), x) for x in g]),
        )

    ins = [state, authority, year, grade, text]
    for c in (authority, year, grade):
        c.change(on_filter, ins, [state, table], api_visibility=PRIVATE)
    text.submit(on_filter, ins, [state, table], api_visibility=PRIVATE)
    text.blur(on_filter, ins, [state, table], api_visibility=PRIVATE)
    table.select(on_sort, [state], [state, table], api_visibility=PRIVATE)
    tab.select(on_open, [state], [state, table, authority, year, grade], api_visibility=PRIVATE)
    return table


def _wire_chat(service: Service, t: _AskTab, ctx_state: gr.State, authority_choices):
    """Ask, search again with edited filters, start a new topic. Returns the outputs of an
    answer and the function that fills them (for a link's question, on load)."""

    last = gr.State(None)  # (the last Reply, the page's address, k): re-rendered when the order changes

    def link_of(reply, order, k, base) -> str:
        f = reply.context.filters
        order = order if order in permalink.ORDERS else permalink.RELEVANCE
        return permalink.url(
            permalink.Link(q=reply.searched_text, authorities=f.authorities, year_from=f.year_from, year_to=f.year_to, order=order, k=clamp_k(k)),
            base,
        )

    def rendered(reply, order, link):
        body = reply.markdown
        if order != labels.RELEVANCE and reply.answer.hits:
            body = markdown.answer_markdown(reply.answer, reply.searched_text, (), order)
        return body + "\n\n" + markdown.link_markdown(link)

    def show(reply, history, q_shown, order, k, base):
        f = reply.context.filters
        link = link_of(reply, order, k, base)
        csv_path, md_path = service.export_files(reply.answer, link)
        cite_paths = service.citation_files(exports.cited_reports(reply.answer.hits))
        history = list(history or []) + ([{"role": "user", "content": q_shown}] if q_shown else [])
        history.append({"role": "assistant", "content": rendered(reply, order, link)})
        choices = authority_choices()
        years = _years_of(service)
        return (
            (reply, base, k),
            *(gr.update(value=str(p), visible=bool(reply.answer.hits)) for p in cite_paths),
            "",
            history,
            reply.context,
            gr.update(choices=choices, value=list(f.authorities)),
            gr.update(choices=years, value=str(f.year_from) if f.year_from else None),
            gr.update(choices=years, value=str(f.year_to) if f.year_to else None),
            gr.update(value=str(csv_path), visible=bool(reply.answer.hits)),
            gr.update(value=str(md_path), visible=bool(reply.answer.hits)),
            gr.update(choices=choices, value=f.authorities[0] if f.authorities else None),
            gr.update(value=link, visible=True),
            order,
            clamp_k(k),
        )

    outputs = [last, *t.cite_btns, t.question, t.chat, ctx_state, t.auth, t.y_from, t.y_to, t.csv_btn, t.md_btn, t.ot_auth, t.permalink, t.order, t.k]

    def on_ask(q, history, ctx, authorities, yf, yt, kk, order, request: gr.Request):
        q = (q or "").strip()
        if not q:
            return (gr.update(),) * len(outputs)
        ctx = conversation.with_filters(ctx, _filters(authorities, yf, yt))
        reply = service.reply(q, ctx, clamp_k(kk))
        return show(reply, history, markdown.escape_text(q), order, kk, _base(request))

    def on_apply(history, ctx, authorities, yf, yt, kk, order, request: gr.Request):
        ctx = conversation.with_filters(ctx, _filters(authorities, yf, yt))
        if not ctx.topic:
            return (gr.update(),) * len(outputs)
        reply = service.rerun(ctx, clamp_k(kk))
        return show(reply, history, "", order, kk, _base(request))

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
            gr.update(value="", visible=False),
            gr.update(),
            gr.update(),
            "",
            gr.update(visible=False),
        )

    def on_order(shown, history, order):
        # The latest answer is shown again in the new order (its link and exports too); earlier ones keep theirs.
        history = list(history or [])
        if shown is None or not history or history[-1].get("role") != "assistant":
            return (gr.update(),) * 4
        reply, base, k = shown
        link = link_of(reply, order, k, base)
        history[-1] = {"role": "assistant", "content": rendered(reply, order, link)}
        csv_path, md_path = service.export_files(reply.answer, link)
        visible = bool(reply.answer.hits)
        return history, gr.update(value=link), gr.update(value=str(csv_path), visible=visible), gr.update(value=str(md_path), visible=visible)

    inputs = [t.chat, ctx_state, t.auth, t.y_from, t.y_to, t.k, t.order]
    after = {"fn": None, "inputs": [t.permalink], "outputs": None, "js": AFTER_ANSWER_JS, "api_visibility": PRIVATE}
    t.question.submit(on_ask, [t.question, *inputs], outputs, api_visibility=PRIVATE).then(**after)
    t.apply_btn.click(on_apply, inputs, outputs, api_visibility=PRIVATE).then(**after)
    t.new_topic.click(on_new_topic, None, outputs + [t.over_time, t.ot_chart], api_visibility=PRIVATE).then(
        None, None, None, js="() => { try { history.replaceState(null, '', location.pathname); } catch (e) {} }", api_visibility=PRIVATE
    )
    t.order.input(on_order, [last, t.chat, t.order], [t.chat, t.permalink, t.csv_btn, t.md_btn], api_visibility=PRIVATE).then(
        None, [t.permalink], None, js=ADDRESS_JS, api_visibility=PRIVATE
    )
    return outputs, show


def _wire_over_time(service: Service, t: _AskTab, ctx_state: gr.State) -> None:
    """One authority's best passage per report, on the chat's current topic."""

    def on_over_time(ctx, key):
        if not ctx.topic:
            return "Ask a question first; the over-time view follows its topic.", gr.update(visible=False)
        if not key:
            return "Choose an authority.", gr.update(visible=False)
        snap = service.searcher.acquire()  # one generation for the names, the passages and the chart
        names = dict(snap.names)
        hits = service.searcher.best_per_report(ctx.topic, key, snapshot=snap)
        figure = chart.chart_html(
            themes.tally_hits(hits),
            f"{names.get(key, key)}: its reports by year and grade of the judgement the best passage sits under",
            "over-time",
        )
        return markdown.over_time_markdown(hits, names.get(key, key), ctx.topic), gr.update(value=figure, visible=bool(hits))

    t.ot_btn.click(on_over_time, [ctx_state, t.ot_auth], [t.over_time, t.ot_chart], api_visibility=PRIVATE)


ACROSS_CHART_TITLE = "Reports discussing the theme fully, by year and grade of the judgement"


def _across_tab(service: Service):
    """One theme over every report: the count, a chart by year and grade whose bars lead to
    their passages, the best passage of each report, a link and exports (search.themes).
    Returns (the outputs of a search, the function that fills them, its inputs)."""
    grade_choices = [(grade_label(g), g) for g in GRADE_ORDER]
    years = _years_of(service)
    with gr.Row():
        question = gr.Textbox(
            label="Theme",
            placeholder="e.g. return home interviews for children who go missing",
            elem_id="across-question",
            max_length=permalink.MAX_QUESTION,
            scale=4,
        )
        search_btn = gr.Button("Search all reports", variant="primary", elem_id="across-search", scale=1)
    with gr.Row():
        y_from = _year_list("From year", "across-from", years)
        y_to = _year_list("To year", "across-to", years)
        grades = gr.CheckboxGroup(choices=grade_choices, value=[], label="Only where the judgement was", elem_id="across-grades", scale=3)
        per_report = gr.Slider(1, 3, value=1, step=1, label="Passages per report", elem_id="across-per-report")
    summary = gr.Markdown(elem_id="across-summary")
    figure = gr.HTML(chart.chart_html((), ACROSS_CHART_TITLE, "across"), js_on_load=BAR_JS, elem_id="across-chart", apply_default_css=False)
    with gr.Row():
        bar_year = gr.Dropdown(choices=[("all years", "")], value="", label="Passages for year", elem_id="across-year")
        bar_grade = gr.Dropdown(choices=[("all grades", "")] + grade_choices, value="", label="and grade", elem_id="across-grade")
    link = _link_box("Link to these results (opens the app on the same theme and filters)", "across-permalink")
    with gr.Row():
        csv_btn = gr.DownloadButton("Table (CSV)", visible=False, elem_id="across-csv")
        bib_btn = gr.DownloadButton("BibTeX", visible=False, elem_id="across-bib")
        ris_btn = gr.DownloadButton("RIS", visible=False, elem_id="across-ris")
        csl_btn = gr.DownloadButton("CSL-JSON", visible=False, elem_id="across-csl")
    passages = gr.Markdown(latex_delimiters=[], elem_id="across-passages")
    table = gr.Dataframe(value=[], headers=list(markdown.ACROSS_TABLE_HEADERS), interactive=False, wrap=True, max_height=500, elem_id="across-table")
    state = gr.State(None)
    outs = [state, summary, figure, bar_year, bar_grade, csv_btn, bib_btn, ris_btn, csl_btn, passages, table, link]
    ins = [question, y_from, y_to, grades, per_report]

    def run(q, yf, yt, gs, n, request: gr.Request | None):
        q = (q or "").strip()[: permalink.MAX_QUESTION]
        if not q:
            return (gr.update(), "Type a theme to search every report.") + (gr.update(),) * (len(outs) - 2)
        f = _filters(None, yf, yt)
        try:
            a = service.across(q, f, tuple(gs or ()), int(n or 1))
        except ValueError as exc:
            return (gr.update(), markdown.escape_text(str(exc))) + (gr.update(),) * (len(outs) - 2)
        address = permalink.url(
            permalink.Link(
                q=q, year_from=f.year_from, year_to=f.year_to, tab=permalink.ACROSS, grades=a.grades, per_report=max(1, min(int(n or 1), 3))
            ),
            _base(request),
        )
        files = service.across_files(a, address)
        years = sorted({t.year for t in a.tally() if t.year.isdigit()})
        shown = bool(a.rows)
        return (
            a,
            f"**{markdown.escape_text(a.summary())}** {len(a.full)} matched fully, {len(a.partial)} in part\\.",
            chart.chart_html(a.tally(), ACROSS_CHART_TITLE, "across"),
            gr.update(choices=[("all years", "")] + [(y, y) for y in years], value=""),
            gr.update(value=""),
            *(gr.update(value=str(p), visible=shown) for p in files),
            markdown.across_markdown(a),
            markdown.across_table(a),
            gr.update(value=address, visible=True),
        )

    def on_search(q, yf, yt, gs, n, request: gr.Request):
        return run(q, yf, yt, gs, n, request)

    def on_bar(a, year, grade):
        if a is None:
            return gr.update()
        return markdown.across_markdown(a, year or None, grade or None)

    def on_select(a, evt: gr.EventData):
        # A bar's segment selects its year and grade: the passages below follow. What the
        # browser sends is checked against the chart's own years and grades.
        if a is None:
            return gr.update(), gr.update()
        data = getattr(evt, "_data", None) or {}
        bars = {(t.year, t.grade) for t in a.tally()}
        year, grade = str(data.get("year") or ""), str(data.get("grade") or "")
        if (year, grade) not in bars:
            return gr.update(), gr.update()
        return year, grade

    question.submit(on_search, ins, outs, api_visibility=PRIVATE).then(None, [link], None, js=ADDRESS_JS, api_visibility=PRIVATE)
    search_btn.click(on_search, ins, outs, api_visibility=PRIVATE).then(None, [link], None, js=ADDRESS_JS, api_visibility=PRIVATE)
    bar_year.change(on_bar, [state, bar_year, bar_grade], passages, api_visibility=PRIVATE)
    bar_grade.change(on_bar, [state, bar_year, bar_grade], passages, api_visibility=PRIVATE)
    figure.select(on_select, [state], [bar_year, bar_grade], api_visibility=PRIVATE)
    return outs, run, ins


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
        theme=THEME,
        css=CSS,
    )
    # Gradio accepts only files uploaded through /gradio_api/upload as event inputs once a
    # Blocks "has launched", which launch() sets and mount_gradio_app does not. Unset, any
    # request could name any server path (even without the admin password) and Gradio would
    # copy it into its cache before our handler runs.
    blocks.has_launched = True
    return mounted


# WCAG 2.2 AA (README: Accessibility): Gradio's default theme with text and buttons at 4.5:1
# contrast or more (its primary button, the slider's range labels and hints were below).
THEME = gr.themes.Default().set(
    button_primary_background_fill="*primary_700",
    button_primary_background_fill_hover="*primary_800",
    button_primary_background_fill_dark="*primary_700",
    button_primary_text_color="white",
    button_primary_border_color="*primary_700",
    button_cancel_background_fill="#b91c1c",
    button_cancel_background_fill_hover="#991b1b",
    button_cancel_text_color="white",
    button_cancel_border_color="#b91c1c",
    body_text_color_subdued="*neutral_600",
    input_placeholder_color="*neutral_500",
    block_info_text_color="*neutral_600",
)

CSS = (
    """
mark { background: #fff3a3; color: inherit; padding: 0 .1em; }
.message blockquote { border-left: 4px solid #6b7280; margin: .4em 0; padding-left: .8em; }
#chat pre, #chat pre code { white-space: pre-wrap !important; word-break: break-word; }
/* The skip link: the first thing a keyboard reaches, visible when it has focus. */
.skip-link { position: absolute; left: -10000px; top: .5em; z-index: 1000; padding: .5em 1em; background: #fff; color: #1d4ed8;
  border: 2px solid #1d4ed8; border-radius: 4px; font-weight: 600; }
.skip-link:focus { left: .5em; }
#skip { min-height: 0 !important; padding: 0 !important; border: 0 !important; }
/* Visible focus on every control (WCAG 2.4.7, 2.4.11). */
a:focus-visible, button:focus-visible, input:focus-visible, textarea:focus-visible, select:focus-visible,
[role=tab]:focus-visible, [role=option]:focus-visible, summary:focus-visible, [tabindex]:focus-visible {
  outline: 3px solid #1d4ed8 !important; outline-offset: 2px !important; }
/* The footer's link and the slider's range labels, at 4.5:1 contrast. */
footer a, footer button, footer, .show-api { color: #374151 !important; }
.min_value, .max_value { color: #4b5563 !important; }
"""
    + chart.CSS
    + library.CSS
)


def serve(settings: AppSettings) -> None:
    import uvicorn

    service = start_service(settings)
    app = build_app(service)
    print(f"serving on http://{settings.host}:{settings.port}", file=sys.stderr, flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
