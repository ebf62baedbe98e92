"""Answers as text for a terminal. (The browser rendering lives in app.markdown.)"""

from __future__ import annotations

import textwrap

from ..search.answer import Answer


def answer_text(a: Answer) -> str:
    lines = [f"Q: {a.question}"]
    f = a.filters
    bits = [a.authority_names.get(x, x) for x in f.authorities]
    if f.year_from or f.year_to:
        bits.append(f"{f.year_from or ''}-{f.year_to or ''}" if f.year_from != f.year_to else str(f.year_from))
    if bits:
        lines.append("searched: " + " · ".join(bits))
    lines += [f"note: {n}" for n in a.notes]
    if a.also_searched:
        lines.append("also searched: " + "; ".join(a.also_searched))
    if not a.hits:
        lines.append(f"Not in this library: {a.abstained}." if a.abstained else "No passage in the reports matches this question.")
        lines += [f"try: {s}" for s in a.suggestions]
    for h in a.hits:
        lines.append("")
        lines.append(f"[{h.rank}] {h.citation}")
        lines += textwrap.wrap(h.text, 100, initial_indent="    > ", subsequent_indent="    > ")
    return "\n".join(lines)
