"""`python -m assistant train`: training/ and the shared corpus -> the shipped models.

1. The training reports' passages (cached for training/check.py), and an index of those
   reports alone built with the wheel's embedder: mining never sees another report.
2. Each question's hard negatives from that index's retriever (pairs.py).
3. The re-ranker trained on the train split, exported to int8; its depth, weight,
   calibration and abstention threshold chosen on the validation split (choose.py).
4. The bi-encoder fine-tuned on the train split, a checkpoint per epoch; each exported to
   int8, the training reports re-embedded with it and validation measured again; the best
   epoch goes on, and it ships only when validation MRR@10 of the whole pipeline improves
   over the wheel's embedder.
5. The int8 files copied into assistant/models/ with models.json (SHA-256, settings,
   validation figures, the question set's digest). Seeds are fixed; `--tiny` runs the
   whole recipe on a few questions and one layer (the tests' run).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from ..index import embed, shipped
from ..index.build import build_index
from ..index.shipped import MODELS_DIR
from ..search.answerable import ANSWERABILITY_FILE
from ..search.answerable import CARD_KEY as ANSWERABILITY
from ..search.answerable import DEPTH as EVIDENCE_DEPTH
from ..search.evaluate import Question
from ..search.evaluate import answers as answers_question
from ..search.rerank import RERANKER_FILE, Reranker, RerankerCard
from ..search.searcher import Searcher
from . import answerability, choose
from .bi import BiSettings, checkpoints, train_bi
from .cross import CrossSettings, train_cross
from .export import export_bi, export_cross, record, sha256
from .pairs import Candidate, Mined, MiningSettings, mine
from .passages import Passage, eval_golds, read_passages, write_cache
from .questions import QuestionSet, Split, Written, digest, read_questions

EMBEDDER_FILE = "embedder-int8.onnx"


@dataclass(frozen=True)
class TrainSettings:
    mining: MiningSettings = MiningSettings()
    cross: CrossSettings = CrossSettings()
    bi: BiSettings = BiSettings()
    select_depth: int = max(choose.DEPTHS)  # candidates scored per validation question
    train_bi: bool = True
    # The rounds of writing (training/README.md) the embedder and the re-ranker learn from.
    # The figures round (fig-*) was written after the shipped embedder was trained, to teach
    # the answerability model that questions asking for a number can be answered; an embedder
    # trained with it too was no better on validation (MRR@10 +0.004, paired SE 0.004: RESULTS
    # "The names round"), so `train` rebuilds the shipped embedder as it is.
    ranking_rounds: tuple[str, ...] = ("block-*.jsonl", "para-*.jsonl")
    # The rounds the answerability model learns from. The names round (nam-*) was written for it
    # and dropped on validation (bench/RESULTS.md "The names round"): at the same answerable
    # questions lost it emptied fewer of validation's unanswerable ones.
    answerability_rounds: tuple[str, ...] = ("block-*.jsonl", "para-*.jsonl", "fig-*.jsonl")
    answerability: answerability.AnswerabilitySettings = answerability.AnswerabilitySettings()


@dataclass
class Paths:
    training: Path
    corpus: Path
    eval: Path | None
    work: Path
    out: Path = MODELS_DIR

    @property
    def reports(self) -> list[str]:
        """The reports questions may be about: ../shared/eval/train_reports.txt, or, without an
        eval folder (the tests' tiny run), every report of the corpus."""
        listed = self.eval / "train_reports.txt" if self.eval else None
        if listed is not None and listed.is_file():
            return [line.strip() for line in listed.read_text(encoding="utf-8").splitlines() if line.strip()]
        return sorted(p.relative_to(self.corpus).as_posix() for p in self.corpus.rglob("*.pdf"))


@dataclass
class Report:
    """What `train` did and measured; printed and stored in models.json."""

    questions: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    validation: dict[str, dict] = field(default_factory=dict)
    shipped: dict[str, bool] = field(default_factory=dict)
    missing_gold: list[str] = field(default_factory=list)


def run(
    paths: Paths,
    st: TrainSettings = TrainSettings(),
    log: Callable[[str], None] = print,
    reports: list[str] | None = None,
    base: embed.Embedder | None = None,
) -> Report:
    """Train, choose on validation, and write the models (see the module docstring). `base`:
    the wheel's embedder, when the caller has it loaded already."""
    rep = Report()
    clock = _Clock(rep, log)
    qs = read_questions(paths.training, st.ranking_rounds)
    split = Split.read(paths.training / "split.json")
    train, val = split.of(qs)
    rep.questions = split_counts(train, val)
    log(f"questions: {rep.questions}")
    reports = reports if reports is not None else paths.reports

    with clock("passages"):
        passages = _cached_passages(paths, reports)
    tainted_texts = {p.text for p in passages if p.eval_gold}

    base = base or embed.load_embedder(cache_dir=paths.work / "models", model="base")
    with clock("base index"):
        base_index = _index_of(paths, reports, "index-base", base)
    searcher = Searcher(base_index, embedder=base, reranker=None, answerability=None)
    with clock("mining"):
        mined_train, missing = _cached_mining(paths, searcher, train, tainted_texts, st.mining)
        rep.missing_gold = missing
    log(f"mined {len(mined_train)} training questions ({len(missing)} gold passages not found: {missing[:5]})")

    with clock("re-ranker training"):
        cross_dir = _cached(
            paths.work / "cross", (mined_train, st.cross), lambda out: train_cross(mined_train, embed.model_dir(), out, st.cross, log)
        )
        onnx = export_cross(cross_dir, paths.work / RERANKER_FILE)
    provisional = RerankerCard(RERANKER_FILE, sha256(onnx), st.cross.max_tokens, 1.0, 0.0)
    reranker = Reranker(paths.work, card=provisional)

    with clock("validation (base embedder)"):
        scored = _score(searcher, val, reranker, st.select_depth)
        ranking, _grid = choose.choose_ranking(scored)
        abst = choose.choose_abstention(scored, ranking.depth, ranking.weight)
        abst_kw = choose.choose_abstention([x for x in scored if x.keyword], ranking.depth, ranking.weight, calibration=(abst.platt_a, abst.platt_b))
    rep.validation["retriever"] = asdict(choose.fused_metrics(scored))
    rep.validation["re-ranked"] = asdict(ranking)
    rep.validation["abstention"] = asdict(abst)
    rep.validation["abstention (keyword queries)"] = asdict(abst_kw)
    log(f"validation: retriever {rep.validation['retriever']}; re-ranked {rep.validation['re-ranked']}; abstention {rep.validation['abstention']}")

    card = {
        "file": RERANKER_FILE,
        "sha256": sha256(onnx),
        "max_tokens": st.cross.max_tokens,
        "layers": st.cross.layers,
        "platt_a": abst.platt_a,
        "platt_b": abst.platt_b,
        "depth": ranking.depth,
        "weight": ranking.weight,
        "abstain_below": abst.abstain_below,
        "abstain_below_keyword": abst_kw.abstain_below,
    }
    entries: dict[str, dict] = {}
    if st.train_bi:
        with clock("bi-encoder training"):
            # One folder per settings: a variant tried beside the shipped one does not evict it.
            bi_key = (mined_train, st.bi)
            bi_dir = _cached(paths.work / f"bi-{_key(*bi_key)[:12]}", bi_key, lambda out: train_bi(mined_train, embed.model_dir(), out, st.bi, log))
        final = Reranker(paths.work, card=RerankerCard(RERANKER_FILE, sha256(onnx), st.cross.max_tokens, abst.platt_a, abst.platt_b))
        # Each epoch's checkpoint measured on validation as served (its retriever, or its
        # re-ranked ranking where that is better); the best one goes on.
        best: tuple[float, int, Path, embed.Embedder, Searcher, list[choose.Scored], choose.Ranking] | None = None
        for n, checkpoint in enumerate(checkpoints(bi_dir), 1):
            with clock(f"bi-encoder epoch {n}: export, index, validation"):
                bi_onnx = export_bi(checkpoint, bi_dir / f"epoch-{n}-{EMBEDDER_FILE}")
                tuned = embed.load_tuned_embedder(bi_onnx, sha256(bi_onnx))
                tuned_index = _index_of(paths, reports, f"index-tuned-{bi_dir.name}-epoch-{n}", tuned)
                tuned_searcher = Searcher(tuned_index, embedder=tuned, reranker=None, answerability=None)
                scored_n = _score(tuned_searcher, val, final, st.select_depth)
                ranking_n, _ = choose.choose_ranking(scored_n)
            served = max(ranking_n.mrr10, rep_mrr(scored_n))
            rep.validation[f"retriever (tuned embedder, epoch {n})"] = asdict(choose.fused_metrics(scored_n))
            log(f"epoch {n}: validation {rep.validation[f'retriever (tuned embedder, epoch {n})']}")
            if best is None or served > best[0]:
                best = (served, n, bi_onnx, tuned, tuned_searcher, scored_n, ranking_n)
        assert best is not None, "the bi-encoder saved no checkpoint"
        _, epoch, bi_onnx, tuned, tuned_searcher, scored_t, ranking_t = best
        rep.validation["bi-encoder epochs chosen"] = {"epoch": epoch, "of": st.bi.epochs}
        rep.validation["retriever (tuned embedder)"] = asdict(choose.fused_metrics(scored_t))
        rep.validation["re-ranked (tuned embedder)"] = asdict(ranking_t)
        # Compared as served: each embedder with whichever of its rankings (re-ranked or not) is better.
        ship = max(ranking_t.mrr10, rep_mrr(scored_t)) > max(ranking.mrr10, rep_mrr(scored))
        rep.shipped["embedder"] = ship
        log(f"validation with the tuned embedder: {rep.validation['re-ranked (tuned embedder)']}; ships: {ship}")
        if ship:
            abst_t = choose.choose_abstention(scored_t, ranking_t.depth, ranking_t.weight)
            rep.validation["abstention (tuned embedder)"] = asdict(abst_t)
            card.update(
                depth=ranking_t.depth, weight=ranking_t.weight, platt_a=abst_t.platt_a, platt_b=abst_t.platt_b, abstain_below=abst_t.abstain_below
            )
            floor = choose.choose_floor(scored_t, tuned_searcher.settings.unknown_weight)
            rep.validation["floor (tuned embedder)"] = asdict(floor)
            log(f"floor for the tuned embedder: {asdict(floor)}")
            entries["embedder"] = {
                "floor": {"min_dense": floor.min_dense, "strong_dense": floor.strong_dense, "abstain_below": floor.abstain_below},
                "file": EMBEDDER_FILE,
                "sha256": sha256(bi_onnx),
                "base_sha256": embed.WEIGHTS_SHA256,
                "max_tokens": st.bi.max_tokens,
            }
            _ship(bi_onnx, paths.out / EMBEDDER_FILE)
    # The re-ranker ships only where it beats the retriever it re-ranks on validation MRR@10.
    retriever_mrr = rep.validation.get("retriever (tuned embedder)" if rep.shipped.get("embedder") else "retriever", {}).get("mrr10", 0.0)
    reranked_mrr = rep.validation.get("re-ranked (tuned embedder)" if rep.shipped.get("embedder") else "re-ranked", {}).get("mrr10", 0.0)
    rep.shipped["reranker"] = reranked_mrr > retriever_mrr
    log(f"re-ranker: validation MRR@10 {reranked_mrr:.3f} against the retriever's {retriever_mrr:.3f}; ships: {rep.shipped['reranker']}")
    if rep.shipped["reranker"]:
        _ship(onnx, paths.out / RERANKER_FILE)
        entries["reranker"] = card
    else:
        _drop(paths.out, "reranker", RERANKER_FILE)
    # The answerability model, read through the embedder that ships (or the wheel's).
    with clock("answerability"):
        ans_searcher = tuned_searcher if rep.shipped.get("embedder") else searcher
        chosen_floor = rep.validation.get("floor (tuned embedder)") if rep.shipped.get("embedder") else None
        every = split.of(read_questions(paths.training, st.answerability_rounds))
        model, chosen = _answerability(ans_searcher, every, chosen_floor, st.answerability)
    rep.validation["answerability"] = asdict(chosen)
    log(f"answerability: {asdict(chosen)}")
    entries[ANSWERABILITY] = _ship_answerability(model, ans_searcher, every, paths, st, rep)
    entries["training"] = {
        "questions_sha256": digest(paths.training, st.ranking_rounds),
        "questions": rep.questions,
        "seconds": rep.seconds,
        "validation": rep.validation,
        "settings": json.loads(json.dumps(asdict(st))),
    }
    if "embedder" not in entries:
        _drop(paths.out, "embedder", EMBEDDER_FILE)
    record(paths.out, entries)
    log(f"models written to {paths.out} ({sum(rep.seconds.values()):.0f} s)")
    return rep


def answerability_only(paths: Paths, st: TrainSettings = TrainSettings(), log: Callable[[str], None] = print) -> Report:
    """Step 6 alone, for the embedder that ships: an index of the training reports built with
    it, the model fitted and its threshold chosen, models.json's answerability entry rewritten
    (every other entry kept). About 5 minutes on 2 cores, against an hour for the whole run."""
    rep = Report()
    clock = _Clock(rep, log)
    split = Split.read(paths.training / "split.json")
    embedder = embed.load_embedder(cache_dir=paths.work / "models")
    with clock("index (shipped embedder)"):
        index = _index_of(paths, paths.reports, f"index-shipped-{embedder.info.weights_sha256[:12]}", embedder)
    searcher = Searcher(index, embedder=embedder, reranker=None, answerability=None)
    card = shipped.entry("embedder", paths.out)
    floor = card.get("floor") if card and card.get("sha256") == embedder.info.weights_sha256 else None
    every = split.of(read_questions(paths.training, st.answerability_rounds))
    with clock("answerability"):
        model, chosen = _answerability(searcher, every, floor, st.answerability)
    rep.validation["answerability"] = asdict(chosen)
    log(f"answerability: {asdict(chosen)}")
    record(paths.out, {ANSWERABILITY: _ship_answerability(model, searcher, every, paths, st, rep)})
    return rep


def _ship_answerability(
    model: answerability.Answerability, searcher: Searcher, sets: tuple[QuestionSet, QuestionSet], paths: Paths, st: TrainSettings, rep: Report
) -> dict:
    """The model file in place and its models.json entry: digest, the embedder it reads, how it was chosen."""
    ans_file = model.write(paths.work / ANSWERABILITY_FILE)
    _ship(ans_file, paths.out / ANSWERABILITY_FILE)
    counts = split_counts(*sets)
    return {
        "file": ANSWERABILITY_FILE,
        "sha256": sha256(ans_file),
        "embedder_sha256": searcher.embedder.info.weights_sha256,
        "threshold": model.threshold,
        "questions": counts,
        "questions_sha256": digest(paths.training, st.answerability_rounds),
        "settings": asdict(st.answerability),
        "validation": rep.validation["answerability"],
        "seconds": {k: v for k, v in rep.seconds.items() if "answerability" in k or "shipped embedder" in k},
    }


def split_counts(train: QuestionSet, val: QuestionSet) -> dict[str, int]:
    return {
        "train": len(train.answerable),
        "train_unanswerable": len(train.unanswerable),
        "validation": len(val.answerable),
        "validation_unanswerable": len(val.unanswerable),
    }


def _answerability(
    searcher: Searcher, sets: tuple[QuestionSet, QuestionSet], floor: dict | None, st: answerability.AnswerabilitySettings
) -> tuple[answerability.Answerability, answerability.Chosen]:
    """Fit on the train split's questions of every round, choose the threshold on validation's."""
    train, val = sets
    fitted = answerability.fit(*_evidence(searcher, train), st)
    judged = _judged(searcher, val, floor)
    chosen = answerability.choose_threshold(fitted, judged, reads_typed=searcher.settings.answerability_keywords)
    return replace(fitted, threshold=chosen.threshold), chosen


def _evidence(searcher: Searcher, qs: QuestionSet) -> tuple[list, list[bool]]:
    """Each question's evidence as serving reads it, and whether no report answers it; questions
    the retriever finds nothing for (a place the library does not hold) never reach the model."""
    evidence, unanswerable = [], []
    for q in list(qs.answerable) + list(qs.unanswerable):
        c = searcher.candidates(searcher.understand(q.question), EVIDENCE_DEPTH)
        if len(c.rows):
            evidence.append(c.evidence())
            unanswerable.append(not isinstance(q, Written))
    return evidence, unanswerable


def _judged(searcher: Searcher, qs: QuestionSet, floor: dict | None) -> list[answerability.Judged]:
    """Validation questions with what the threshold choice needs: their evidence, and whether
    the retriever's top 5 held the answer before and after the floor's passage filter."""
    st = searcher.settings
    low, strong = (floor["min_dense"], floor["strong_dense"]) if floor else (st.min_dense, st.strong_dense)
    out = []
    for q in list(qs.answerable) + list(qs.unanswerable):
        understood = searcher.understand(q.question)
        c = searcher.candidates(understood, EVIDENCE_DEPTH)
        if not len(c.rows):
            continue
        if not isinstance(q, Written):
            out.append(answerability.Judged(q.id, c.evidence(), False, typed=c.left_ranked))
            continue
        gold = Question(q.id, q.question, q.file, q.gold, "", q.type)
        ok = np.array([answers_question(gold, src, txt.split("\n", 1)[-1]) for src, txt in zip(c.sources, c.texts)], dtype=bool)
        shown = np.ones(len(ok), dtype=bool) if c.left_ranked else (c.dense >= strong) | ((c.dense >= low) & (c.bm > 0))
        out.append(answerability.Judged(q.id, c.evidence(), True, bool(ok[:5].any()), bool(ok[np.flatnonzero(shown)[:5]].any()), c.left_ranked))
    return out


def rep_mrr(scored: list[choose.Scored]) -> float:
    return choose.fused_metrics(scored).mrr10


def tiny() -> TrainSettings:
    """The whole recipe at toy size: what the fast tests run (one layer, short inputs, few steps)."""
    return TrainSettings(
        mining=MiningSettings(depth=8, hard=2, same_report=1),
        cross=replace(CrossSettings(), layers=1, max_tokens=64, questions_per_step=4),
        bi=replace(BiSettings(), max_tokens=64, batch=8, epochs=2),
        select_depth=10,
    )


def passages_only(paths: Paths) -> Path:
    return write_cache(read_passages(paths.corpus, paths.reports, paths.eval), paths.training / ".cache" / "passages.jsonl")


# -- steps ----------------------------------------------------------------------------------


def _key(*parts: object) -> str:
    import hashlib

    return hashlib.sha256(json.dumps([_plain(p) for p in parts], sort_keys=True, default=str).encode()).hexdigest()


def _plain(x: object) -> object:
    if isinstance(x, list):
        return [_plain(i) for i in x]
    if hasattr(x, "__dataclass_fields__"):
        return asdict(x)  # type: ignore[call-overload]
    return x


def _cached(folder: Path, inputs: tuple, make: Callable[[Path], Path]) -> Path:
    """`make(folder)` unless `folder` holds the result of the very same inputs (a rerun after a
    later step failed, or with only the serving choice changed): training is deterministic."""
    key = _key(*inputs)
    stamp = folder / "INPUTS.sha256"
    if stamp.is_file() and stamp.read_text().strip() == key:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    make(folder)
    stamp.write_text(key + "\n")
    return folder


def _cached_passages(paths: Paths, reports: list[str]) -> list[Passage]:
    """The training reports' passages, parsed again only when the reports, their bytes' sizes,
    the chunking rules or the eval gold snippets changed."""
    from ..index.chunking import CHUNKING_VERSION

    cache = paths.training / ".cache" / "passages.jsonl"
    stamp = cache.with_suffix(".key")
    sizes = [(r, (paths.corpus / r).stat().st_size) for r in reports]
    key = _key(sizes, CHUNKING_VERSION, eval_golds(paths.eval))
    if cache.is_file() and stamp.is_file() and stamp.read_text().strip() == key:
        return [Passage(**json.loads(line)) for line in cache.read_text(encoding="utf-8").splitlines() if line.strip()]
    passages = read_passages(paths.corpus, reports, paths.eval)
    write_cache(passages, cache)
    stamp.write_text(key + "\n")
    return passages


def _cached_mining(paths: Paths, searcher: Searcher, qs: QuestionSet, tainted: set[str], st: MiningSettings) -> tuple[list[Mined], list[str]]:
    key = _key(list(qs.answerable), list(qs.unanswerable), st, searcher.generation.name)
    path = paths.work / "mined.jsonl"
    if path.is_file():
        lines = path.read_text(encoding="utf-8").splitlines()
        head = json.loads(lines[0])
        if head.get("key") == key:
            rows = [json.loads(x) for x in lines[1:]]
            return [Mined(**{**r, "negatives": tuple(r["negatives"])}) for r in rows], head["missing"]
    mined, missing = _mine(searcher, qs, tainted, st)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps({"key": key, "missing": missing}) + "\n")
        for m in mined:
            fh.write(json.dumps(asdict(m), ensure_ascii=False) + "\n")
    return mined, missing


def _index_of(paths: Paths, reports: list[str], name: str, embedder: embed.Embedder) -> Path:
    """An index of the training reports alone (copies of the files: the build reads no links)."""
    corpus = paths.work / "corpus"
    for rel in reports:
        dst = corpus / rel
        if not dst.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(paths.corpus / rel, dst)
    manifest = paths.corpus / "manifest.csv"
    if manifest.is_file():
        lines = manifest.read_text(encoding="utf-8").splitlines()
        keep = set(reports)
        (corpus / "manifest.csv").write_text("\n".join([lines[0]] + [ln for ln in lines[1:] if _csv_path(ln) in keep]) + "\n", encoding="utf-8")
    index = paths.work / name
    build_index(corpus, index, embedder=embedder)
    return index


def _csv_path(line: str) -> str:
    import csv

    return next(csv.reader([line]))[0] if line else ""


def _mine(searcher: Searcher, qs: QuestionSet, tainted: set[str], st: MiningSettings) -> tuple[list[Mined], list[str]]:
    gen = searcher.generation
    by_report: dict[str, list[Candidate]] = {}
    for r in gen.reports:
        by_report[r.path] = [Candidate(i, r.path, gen.chunks[i].embed_text) for i in range(r.chunk_start, r.chunk_end)]

    def candidates(question: str, depth: int) -> tuple[str, list[Candidate]]:
        c = searcher.candidates(searcher.understand(question), depth)
        return c.embedded, [Candidate(int(i), c.sources[j], c.texts[j]) for j, i in enumerate(c.rows)]

    return mine(qs, lambda f: by_report.get(f, []), candidates, lambda t: _is_tainted(t, tainted), st)


def _is_tainted(embed_text: str, tainted: set[str]) -> bool:
    # Candidates carry the section heading before the passage text.
    return embed_text in tainted or embed_text.split("\n", 1)[-1] in tainted


def _score(searcher: Searcher, qs: QuestionSet, reranker: Reranker, depth: int) -> list[choose.Scored]:
    out: list[choose.Scored] = []
    for q in list(qs.answerable) + list(qs.unanswerable):
        understood = searcher.understand(q.question)
        c = searcher.candidates(understood, depth)
        logits = reranker.logits(q.question, list(c.texts))
        if isinstance(q, Written):
            gold = Question(q.id, q.question, q.file, q.gold, "", q.type)
            ok = np.array(
                [answers_question(gold, src, txt.split("\n", 1)[-1]) for src, txt in zip(c.sources, c.texts)],
                dtype=bool,
            )
            out.append(
                choose.Scored(q.id, ok, np.asarray(c.fused, dtype=np.float32), logits, True, q.style, understood.is_keyword, c.dense, c.bm, c.unknown)
            )
        else:
            out.append(
                choose.Scored(
                    q.id,
                    np.zeros(len(c.rows), dtype=bool),
                    np.asarray(c.fused, dtype=np.float32),
                    logits,
                    False,
                    q.style,
                    understood.is_keyword,
                    c.dense,
                    c.bm,
                    c.unknown,
                )
            )
    return out


def _ship(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(".tmp")
    shutil.copyfile(src, tmp)
    tmp.replace(dst)


def _drop(models_dir: Path, key: str, file: str) -> None:
    (models_dir / file).unlink(missing_ok=True)
    path = models_dir / "models.json"
    if path.is_file():
        d = json.loads(path.read_text(encoding="utf-8"))
        d.pop(key, None)
        path.write_text(json.dumps(d, indent=2, sort_keys=True) + "\n", encoding="utf-8")


class _Clock:
    def __init__(self, rep: Report, log: Callable[[str], None]) -> None:
        self.rep, self.log = rep, log

    def __call__(self, name: str):
        import contextlib

        @contextlib.contextmanager
        def timed():
            t0 = time.perf_counter()
            self.log(f"{name} ...")
            yield
            self.rep.seconds[name] = round(time.perf_counter() - t0, 1)
            self.log(f"{name}: {self.rep.seconds[name]:.0f} s")

        return timed()
