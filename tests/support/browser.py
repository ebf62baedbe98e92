"""A real browser for the end-to-end tests: Debian's Chromium driven by playwright, and
the chat's own steps (ask a question, read the answers)."""

from __future__ import annotations

import time
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]


def assistant_messages(page):
    return page.locator("#chat [data-testid='bot']")


def ask(page, question: str, n_before: int, timeout_ms: int = 10_000) -> float:
    """Type a question, press Enter, wait for the next answer; seconds it took."""
    box = page.get_by_label("Question", exact=True)
    box.fill(question)
    t = time.perf_counter()
    box.press("Enter")
    assistant_messages(page).nth(n_before).wait_for(timeout=timeout_ms)
    page.wait_for_function(
        "n => document.querySelectorAll(\"#chat [data-testid='bot']\").length > n && !document.querySelector('#chat .pending')",
        arg=n_before,
        timeout=timeout_ms,
    )
    return time.perf_counter() - t
