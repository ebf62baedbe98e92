"""The corpus folder's own files and folders, named once.

Besides the report files, a corpus folder may hold:

- `manifest.csv`: one row per report file (path, local_authority, publication_date,
  source_url): each report's public link, and its authority and date where the report
  itself does not say. Written by a fetch (admin.manifest.merge_manifest), read by every
  build (reports.metadata.read_manifest). Not the manifest a fetch is *given* (any CSV
  with those columns, e.g. `corpus/manifest-ofsted-ilacs.csv`), nor an index
  generation's `manifest.json` (index.disk).
- `corrections.csv`: an admin's corrections of uploaded reports' authority and date,
  which override the report's text (reports.metadata.read_corrections).
- `uploads/`: where the Admin tab saves uploaded PDFs.
- `fetched/`: where links pasted without a path are saved.
- `.fetch-state.jsonl`: what each link gave on earlier fetches (hidden: never indexed).
"""

from __future__ import annotations

MANIFEST = "manifest.csv"
CORRECTIONS = "corrections.csv"
UPLOADS = "uploads"
PASTED_FOLDER = "fetched"
FETCH_STATE = ".fetch-state.jsonl"
