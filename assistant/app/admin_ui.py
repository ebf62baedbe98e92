"""The Admin tab (Gradio): log in, add reports (indexed at once or after review), correct
an upload's authority and date, delete, fetch from links, re-index, and the audit log.
Every change goes through the service's admin (admin.curator.Curator)."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from ..admin import audit, manifest
from ..admin.uploads import UploadReview
from ..index.build import Busy
from . import PRIVATE, library, markdown
from .service import Service

REVIEW_HEADERS = ("file", "title", "local authority", "published", "lead inspector", "overall", "judgements", "correction")


def _review_row(r: UploadReview) -> list[str]:
    """One row of the Admin tab's review table: what the upload's own text states, and the correction."""
    fix = ""
    if r.correction:
        fix = f"{r.correction.local_authority}; {r.correction.published or 'date as the report states'}"
    if r.read is None:
        return [r.path, f"could not be read: {r.error}", "", "", "", "", "", fix]
    m = r.read
    return [r.path, m.title, m.local_authority, m.published or "not stated", m.lead_inspector, m.overall, library.judgements_text(m.judgements), fix]


def admin_panel(service: Service, lib: gr.HTML, authority_choices) -> None:
    pw = gr.Textbox(label="Admin password", type="password", elem_id="admin-password")
    login = gr.Button("Log in", elem_id="admin-login")
    login_msg = gr.Markdown()
    with gr.Column(visible=False) as panel:
        status = gr.Markdown(elem_id="admin-status")
        files = gr.File(label="Report PDFs to add", file_count="multiple", file_types=[".pdf"], type="filepath", elem_id="admin-upload")
        with gr.Row():
            upload_btn = gr.Button("Add to corpus and re-index", variant="primary", elem_id="admin-add")
            # Issue 11: the admin sees what each report states, and corrects it, before it is indexed.
            review_btn = gr.Button("Add to corpus for review (re-index later)", elem_id="admin-add-review")
        reindex_btn = gr.Button("Re-index now", elem_id="admin-reindex")
        gr.Markdown(
            "### Uploaded reports: what each states about itself\n\n"
            "Pick an uploaded report to see what was read from its text. A corrected authority or date "
            "overrides the report's text from the next re-index on."
        )
        review = gr.Dataframe(
            value=[],
            headers=list(REVIEW_HEADERS),
            interactive=False,
            wrap=True,
            column_count=len(REVIEW_HEADERS),
            column_widths=["14%", "20%", "10%", "8%", "10%", "8%", "18%", "12%"],
            max_height=400,
            elem_id="admin-review",
        )
        with gr.Row():
            # Custom values allowed, as for deleting: Curator.save_correction checks the path itself.
            fix_file = gr.Dropdown(
                choices=service.admin.uploaded_files(), value=None, allow_custom_value=True, label="Uploaded report", elem_id="admin-fix-file"
            )
            # Custom values allowed: an upload may come from an authority the library holds no report for.
            fix_auth = gr.Dropdown(
                choices=[name for name, _ in authority_choices()],
                value=None,
                allow_custom_value=True,
                label="Local authority",
                elem_id="admin-fix-authority",
            )
            fix_date = gr.Textbox(label="Publication date (YYYY-MM-DD; blank: as the report states)", max_length=40, elem_id="admin-fix-date")
            fix_btn = gr.Button("Save corrections", elem_id="admin-fix-save")
        shown = gr.State([])  # the uploaded files listed in the review table, in this session
        with gr.Row():
            # Custom values allowed: the list may be stale after another session's change, and
            # Curator.delete_file checks the path itself.
            to_delete = gr.Dropdown(
                choices=service.admin.report_files(),
                value=None,
                allow_custom_value=True,
                label="Report file to delete",
                elem_id="admin-delete-choice",
            )
            delete_btn = gr.Button("Delete and re-index", variant="stop", elem_id="admin-delete")
        gr.Markdown("### Fetch reports from their links")
        with gr.Row():
            manifest_file = gr.File(
                label="Manifest CSV (columns path, local_authority, publication_date, source_url)",
                file_types=[".csv"],
                type="filepath",
                elem_id="admin-manifest",
            )
            links = gr.Textbox(
                label="…or paste links, one a line (or manifest CSV text)", lines=4, max_lines=12, max_length=2_000_000, elem_id="admin-links"
            )
        fetch_btn = gr.Button("Fetch and re-index", elem_id="admin-fetch")
        admin_msg = gr.Markdown(elem_id="admin-message")
        gr.Markdown("### Changes to the library (newest first)")
        log_view = gr.Markdown(elem_id="admin-log")

    def who(request: gr.Request | None) -> str:
        return audit.admin(request.client.host if request is not None and request.client else None)

    def on_login(given):
        if not service.password_ok(given):
            return "Wrong password.", gr.update(visible=False), gr.update(), gr.update(), gr.update(), gr.update()
        return (
            "Logged in.",
            gr.update(visible=True),
            service.index_status(),
            gr.update(choices=service.admin.report_files(), value=None),
            service.audit_markdown(),
            gr.update(choices=service.admin.uploaded_files()),
        )

    def refreshed(message: str):
        return (
            message,
            service.index_status(),
            library.view(service.searcher.generation),
            gr.update(choices=service.admin.report_files(), value=None),
            service.audit_markdown(),
            gr.update(choices=service.admin.uploaded_files()),
        )

    denied = ("Wrong password.", gr.update(), gr.update(), gr.update(), gr.update(), gr.update())

    def summary_text(job) -> str:
        if job.error:
            return f"Re-index failed: {markdown.escape_text(job.error)}"
        return "  \n".join(markdown.escape_text(line) for line in job.summary.lines())

    def run_reindex(progress: gr.Progress, by: str) -> str:
        try:
            job = service.admin.reindexer.start(by)
        except Busy as exc:
            return f"Busy: {exc}"
        while not job.finished.wait(0.25):
            progress((job.done, job.total) if job.total else None, desc=job.stage)
        return summary_text(job)

    def on_upload(given, paths, request: gr.Request, progress=gr.Progress()):
        if not service.password_ok(given):
            return denied
        by = who(request)
        saved, errors = service.admin.add_uploads([Path(p) for p in paths or []], by)
        msg = [f"Added {markdown.escape_text(s)}." for s in saved] + [f"Refused {markdown.escape_text(e)}." for e in errors]
        if saved:
            msg.append(run_reindex(progress, by))
        elif not errors:
            msg.append("Choose one or more PDF files first.")
        return refreshed("  \n".join(msg))

    def on_reindex(given, request: gr.Request, progress=gr.Progress()):
        if not service.password_ok(given):
            return denied
        return refreshed(run_reindex(progress, who(request)))

    def on_delete(given, rel, request: gr.Request, progress=gr.Progress()):
        if not service.password_ok(given):
            return denied
        by = who(request)
        try:
            service.admin.delete_file(rel or "", by)
        except (ValueError, OSError) as exc:
            return refreshed(f"Not deleted: {markdown.escape_text(str(exc))}")
        return refreshed(f"Deleted {markdown.escape_text(rel)}.  \n" + run_reindex(progress, by))

    def on_fetch(given, manifest_path, text, request: gr.Request, progress=gr.Progress()):
        if not service.password_ok(given):
            return denied
        try:
            if manifest_path:
                entries, bad = manifest.read_manifest(Path(manifest_path))
            else:
                entries, bad = manifest.entries_from_links(text or "")
        except manifest.ManifestError as exc:
            return refreshed(f"Not fetched: {markdown.escape_text(str(exc))}")
        if not entries and not bad:
            return refreshed("Choose a manifest CSV or paste links first.")
        try:
            job = service.admin.start_fetch(entries, bad, who(request))
        except Busy as exc:
            return refreshed(f"Busy: {markdown.escape_text(str(exc))}")
        while not job.finished.wait(0.25):
            r = job.reindex
            if r is not None and not r.finished.is_set():
                progress((r.done, r.total) if r.total else None, desc=r.stage)
            else:
                progress((job.done, job.total) if job.total else None, desc=job.stage)
        if job.error or job.summary is None:
            return refreshed(f"Fetch failed: {markdown.escape_text(job.error)}")
        msg = [markdown.escape_text(line) for line in job.summary.lines()]
        if job.reindex is not None:
            msg.append(summary_text(job.reindex))
        elif not job.summary.of(manifest.FETCHED):
            msg.append("Nothing new to index.")
        return refreshed("  \n".join(msg))

    def review_rows(rels: list[str]) -> tuple[list[list[str]], list[str]]:
        """The review table's rows for `rels` (files deleted meanwhile dropped), and the paths listed."""
        uploaded = set(service.admin.uploaded_files())
        reviews = service.admin.review_uploads([r for r in dict.fromkeys(rels) if r in uploaded])
        return [_review_row(r) for r in reviews], [r.path for r in reviews]

    def prefill(rel: str):
        """The authority and date the form starts from: the correction, else what the text states."""
        r = service.admin.review_uploads([rel])[0]
        fix, read = r.correction, r.read
        authority = fix.local_authority if fix else read.local_authority if read else ""
        published = (fix.published if fix and fix.published else read.published if read else "") or ""
        return gr.update(value=authority or None), published

    def on_upload_review(given, paths, listed, request: gr.Request):
        if not service.password_ok(given):
            return (*denied, gr.update(), gr.update(), gr.update(), gr.update())
        saved, errors = service.admin.add_uploads([Path(p) for p in paths or []], who(request))
        msg = [f"Added {markdown.escape_text(s)} (not indexed yet)." for s in saved] + [f"Refused {markdown.escape_text(e)}." for e in errors]
        if saved:
            msg.append("Check what was read below; correct the authority or date if needed, then **Re-index now**.")
        elif not errors:
            msg.append("Choose one or more PDF files first.")
        listed = saved + [r for r in listed or [] if r not in saved]
        rows, listed = review_rows(listed)
        auth, day = prefill(saved[0]) if saved else (gr.update(), gr.update())
        return (
            *refreshed("  \n".join(msg))[:5],
            gr.update(choices=service.admin.uploaded_files(), value=saved[0] if saved else None),
            rows,
            listed,
            auth,
            day,
        )

    def on_pick_upload(given, rel, listed):
        if not service.password_ok(given):
            return "Wrong password.", gr.update(), gr.update(), gr.update(), gr.update()
        if not rel:
            return "", gr.update(), gr.update(), gr.update(), gr.update()
        rows, listed = review_rows([rel] + [r for r in listed or [] if r != rel])
        auth, day = prefill(rel)
        return "", rows, listed, auth, day

    def on_correct(given, rel, authority, published, listed, request: gr.Request):
        if not service.password_ok(given):
            return "Wrong password.", gr.update(), gr.update()
        try:
            fix = service.admin.save_correction(rel or "", authority or "", published or "", who(request))
        except (ValueError, OSError) as exc:
            return f"Not saved: {markdown.escape_text(str(exc))}", gr.update(), gr.update()
        rows, _ = review_rows([rel] + [r for r in listed or [] if r != rel])
        day = fix.published or "as the report states"
        msg = f"Saved for {markdown.escape_text(rel)}: {markdown.escape_text(fix.local_authority)}, published {day}. **Re-index now** to apply it."
        return msg, rows, service.audit_markdown()

    outs = [admin_msg, status, lib, to_delete, log_view, fix_file]
    login_outs = [login_msg, panel, status, to_delete, log_view, fix_file]
    login.click(on_login, pw, login_outs, api_visibility=PRIVATE)
    pw.submit(on_login, pw, login_outs, api_visibility=PRIVATE)
    review_btn.click(on_upload_review, [pw, files, shown], [*outs, review, shown, fix_auth, fix_date], api_visibility=PRIVATE)
    fix_file.input(on_pick_upload, [pw, fix_file, shown], [admin_msg, review, shown, fix_auth, fix_date], api_visibility=PRIVATE)
    fix_btn.click(on_correct, [pw, fix_file, fix_auth, fix_date, shown], [admin_msg, review, log_view], api_visibility=PRIVATE)
    upload_btn.click(on_upload, [pw, files], outs, api_visibility=PRIVATE)
    reindex_btn.click(on_reindex, pw, outs, api_visibility=PRIVATE)
    delete_btn.click(on_delete, [pw, to_delete], outs, api_visibility=PRIVATE)
    fetch_btn.click(on_fetch, [pw, manifest_file, links], outs, api_visibility=PRIVATE)
