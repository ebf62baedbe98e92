"""The settings tree (assistant/settings.py): every tuned number in one typed place, each with
its help text, and any of them set by dotted path for a sweep (bench/sweep.py)."""

from __future__ import annotations

import importlib.util
from dataclasses import fields, is_dataclass

import pytest

from assistant.settings import (
    DEFAULTS,
    AppSettings,
    RankingSettings,
    Settings,
    ThemeSettings,
    parse_assignment,
    with_value,
)
from tests.support.paths import ROOT


def _leaves(section, prefix=""):
    for f in fields(section):
        value = getattr(section, f.name)
        if is_dataclass(value):
            yield from _leaves(value, f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", f


def test_the_tree_has_one_frozen_section_per_stage():
    assert [f.name for f in fields(Settings)] == ["ranking", "themes", "ann", "ingest", "fetch", "watch", "app"]
    with pytest.raises(AttributeError):
        DEFAULTS.themes.common_share = 0.5  # type: ignore[misc]
    # The app's own settings are the tree's app section.
    assert type(DEFAULTS.app) is AppSettings


def test_every_field_says_what_it_does_and_no_field_cites_a_session():
    for path, f in _leaves(DEFAULTS):
        assert f.metadata.get("help"), path
        measured = f.metadata.get("measured", "")
        assert "session" not in measured.lower() and "issue" not in measured.lower(), path
    lines = DEFAULTS.describe()
    assert len(lines) == len(list(_leaves(DEFAULTS)))
    assert "ranking.rerank.depth = None" in "\n".join(lines)


@pytest.mark.parametrize(
    "spec, path, values",
    [
        ("bm25_weight=0.2,0.35", ("ranking", "bm25_weight"), [0.2, 0.35]),  # a bare name: a ranking field, as before
        ("ranking.min_bm25=4,6", ("ranking", "min_bm25"), [4.0, 6.0]),
        ("ranking.candidates=100,200", ("ranking", "candidates"), [100, 200]),
        ("ranking.rerank.depth=10,none", ("ranking", "rerank", "depth"), [10, None]),
        ("ranking.rerank.weight=0.5", ("ranking", "rerank", "weight"), [0.5]),
        ("themes.common_share=0.2,0.3", ("themes", "common_share"), [0.2, 0.3]),
        ("themes.extra_rounds=0,1,2", ("themes", "extra_rounds"), [0, 1, 2]),
        ("ann.exact_below=10_000,50000", ("ann", "exact_below"), [10_000, 50_000]),
        ("app.watch=true,false", ("app", "watch"), [True, False]),
    ],
)
def test_any_field_is_named_by_its_dotted_path(spec, path, values):
    got_path, got = parse_assignment(spec)
    assert got_path == path and got == values
    assert all(type(a) is type(b) for a, b in zip(got, values))


@pytest.mark.parametrize("spec", ["nonsense=1", "ranking.rerank=1", "ranking.candidates=", "ranking.candidates=1.5", "ranking.nope.depth=1", "=1"])
def test_a_wrong_path_or_value_is_refused(spec):
    with pytest.raises((KeyError, ValueError)):
        parse_assignment(spec)


def test_with_value_replaces_one_nested_field_and_nothing_else():
    tree = with_value(DEFAULTS, ("ranking", "rerank", "depth"), 8)
    assert tree.ranking.rerank.depth == 8 and DEFAULTS.ranking.rerank.depth is None
    assert tree.ranking.bm25_weight == DEFAULTS.ranking.bm25_weight and tree.themes == ThemeSettings()
    assert with_value(RankingSettings(), ("alias_similarity",), 0.4).alias_similarity == 0.4


def test_the_sweep_parses_dotted_paths():
    spec = importlib.util.spec_from_file_location("bench_sweep", ROOT / "bench" / "sweep.py")
    sweep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sweep)
    assert sweep.parse_set("ranking.rerank.abstain_below=0.3,0.4") == (("ranking", "rerank", "abstain_below"), [0.3, 0.4])
    assert sweep.parse_set("min_bm25=4") == (("ranking", "min_bm25"), [4.0])
    with pytest.raises(SystemExit, match="PATH=V1,V2"):
        sweep.parse_set("ranking.no_such_field=1")
    # Settings the serving arrays are built from rebuild them; a scoring weight only re-ranks.
    assert sweep.needs_new_snapshot(("ranking", "boilerplate_reports")) and sweep.needs_new_snapshot(("ann", "exact_below"))
    assert not sweep.needs_new_snapshot(("ranking", "bm25_weight"))


def test_the_app_serves_the_shipped_embedder_unless_told_to_roll_back():
    from app import settings_from

    assert settings_from([], env={}).embedder == "shipped"
    assert settings_from(["--embedder", "base"], env={}).embedder == "base"
    assert settings_from([], env={"ASSISTANT_EMBEDDER": "base"}).embedder == "base"
    with pytest.raises(SystemExit):
        settings_from([], env={"ASSISTANT_EMBEDDER": "minilm"})
