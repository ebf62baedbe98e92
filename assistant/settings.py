"""Every tunable of the ranking, and the defaults shared by the CLI, the app and the API.

One frozen object, passed to the searcher: a benchmark prints the settings it
ran with, and a sweep (`bench/sweep.py`) re-runs the choice of any field. Each
field says what it does and where its value was measured; "dev" is
`../shared/eval/dev.jsonl` on the full shared corpus (figures in
`bench/RESULTS.md`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

# Where things live when nobody says otherwise (README: "Install and run").
DEFAULT_CORPUS = Path("corpus")
DEFAULT_INDEX = Path("index")
# Passages in one answer: the default, and the most the UI, the CLI and the API give.
DEFAULT_K = 5
MAX_K = 50


def _f(default: float | int, help: str, measured: str):
    return field(default=default, metadata={"help": help, "measured": measured})


@dataclass(frozen=True)
class RerankSettings:
    """Overrides of how the re-ranker serves. None: as chosen with the model on the validation
    split by `python -m assistant train` (assistant/models/models.json), which is what a
    threshold on that model's score means; a number here is for sweeps (bench/sweep.py)."""

    depth: int | None = None  # fused candidates re-scored
    weight: float | None = None  # share of the fused score added to the logit
    abstain_below: float | None = None  # calibrated relevance below which nothing is shown
    abstain_below_keyword: float | None = None  # the same for 2-5-word keyword queries


@dataclass(frozen=True)
class RankingSettings:
    """How dense and keyword scores become one ranking (search.searcher's pipeline)."""

    candidates: int = _f(200, "passages taken from each of dense and BM25 before fusion", "dev: no change from 100 to 400")
    bm25_weight: float = _f(
        0.3, "weight of the max-normalised BM25 score added to the cosine", "bench/sweep.py with numbered_boost: dev and everyday (RESULTS)"
    )
    glossary_weight: float = _f(
        0.25,
        "weight of the BM25 score of the glossary's added terms, inside the BM25 score",
        "everyday 0.800 -> 0.813 hit@5 (bench/rank_experiments.py)",
    )
    min_bm25: float = _f(6.0, "BM25 normaliser floor, so weak keyword matches stay weak", "dev sweep 2-10 (session 1)")
    intent_boost: float = _f(
        1.0, "added to the lead-inspector / overall-effectiveness line when the question asks for it", "dev: hit@1 1.000 on both types"
    )
    month_boost: float = _f(0.08, "added to reports published within 2 months of a month the question names", "dev: month questions")
    heading_penalty: float = _f(0.5, "subtracted from headings and boilerplate passages", "dev (session 1)")
    boilerplate_reports: int = _f(
        5, "a passage text printed in this many reports counts as boilerplate", "full corpus: Ofsted's address, licence lines"
    )
    front_penalty: float = _f(0.3, "subtracted from front-page lines and fragments under 5 words", "dev (session 1)")
    restatement_penalty: float = _f(
        0.2, "subtracted from one-line restatements in summary lists unless the question asks what to improve", "dev hit@5 0.922 -> 0.956 (session 2)"
    )
    numbered_boost: float = _f(
        0.1,
        "added to numbered paragraphs (the judgement sections' body) when the question has no intent",
        "dev MRR 0.917 -> 0.928, everyday 0.800 -> 0.827 hit@5",
    )
    min_dense: float = _f(0.15, "cosine below which a passage is never shown", "dev questions vs off-topic ones (session 1)")
    strong_dense: float = _f(0.45, "cosine above which a passage is shown without sharing a word", "dev questions vs off-topic ones (session 1)")
    abstain_below: float = _f(
        0.47,
        "nothing is shown when the best fused score less unknown_weight x unknown share is below this",
        "bench/abstain.py: fitted 0.478 (no answer in a top 5 lost); leave-one-out 17/25 unanswerable emptied",
    )
    unknown_weight: float = _f(0.5, "weight of the share of the question's idf mass in words the library barely knows", "bench/abstain.py")
    rare_below: int = _f(
        3,
        "a word in fewer passages than this, per rare_per passages of the library, counts as unknown to it (at least: in none)",
        "bench/abstain.py",
    )
    rare_per: int = _f(64_223, "library size rare_below was fitted on; smaller libraries scale it down", "the full shared corpus")
    alias_similarity: float = _f(
        0.5,
        "context-profile cosine at which two acronyms the reports define name the same kind of service (search/aliases.py)",
        "full corpus: MASH -> IFD 0.61, MARU 0.65; MASH -> LADO 0.13 (bench/RESULTS.md 'Service names')",
    )
    alias_overlap: float = _f(
        0.3,
        "the most of the smaller one's reports two alternative service names may share",
        "full corpus: MASH and its first response team share 0.56, MASH and IFD 0.08",
    )
    rerank: RerankSettings = field(
        default_factory=RerankSettings,
        metadata={
            "help": "overrides of the re-ranker's depth, weight and abstention (None: as chosen with the model)",
            "measured": "validation split, `python -m assistant train` (assistant/models/models.json)",
        },
    )

    def describe(self) -> list[str]:
        """One line per field, for benchmark output."""
        return [f"{f.name} = {getattr(self, f.name)}  # {f.metadata['help']} [{f.metadata['measured']}]" for f in fields(self)]


def clamp_k(k: int | float | None) -> int:
    """A requested number of passages, within 1..MAX_K (DEFAULT_K when not given)."""
    return max(1, min(int(k or DEFAULT_K), MAX_K))
