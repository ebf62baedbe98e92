"""Every authority in the library is understood by its official name and the forms people use."""

from __future__ import annotations

import pytest

from assistant.reports.metadata import read_manifest
from assistant.search.authorities import AuthorityTable, load_aliases, norm_name

TEMPLATES = (
    "{} 2019: how effective was the MASH?",
    "What did inspectors say about care leavers in {}?",
    "How are children in care supported by {}, according to the 2023 report?",
)


def _spellings(key: str) -> list[str]:
    """The ways a person writes an authority's name: as the folder has it, title-cased,
    with '&' or 'and', hyphens or spaces, followed by 'council'."""
    title = " ".join(w if w in ("and", "of", "upon", "on", "with") else w.capitalize() for w in key.split())
    out = {key, title, f"{title} Council", title.replace(" and ", " & ")}
    if " on " in key or key.endswith(" upon tyne"):
        out.add(title.replace(" ", "-") if " on " in key else title)
    return sorted(out)


def _check_every_authority(table: AuthorityTable, reports: list[tuple[str, str, str]]) -> None:
    keys = table.keys()
    capital_only = {al.alias for al in load_aliases() if al.kind == "common-word"}
    problems = []
    for a in table.authorities:
        names = set(_spellings(a.key)) | {a.name}
        names |= {n for p, n, _ in reports if n and norm_name(n) in a.forms}
        for name in sorted(names):
            if name.islower() and norm_name(name) in capital_only:
                continue  # "reading", "bury": ordinary words unless capitalised
            for tpl in TEMPLATES:
                q = tpl.format(name)
                got = table.find(q)
                if not got or a.key not in got[0].keys or got[0].text.lower().find(name.split()[0].lower()) < 0:
                    problems.append((a.key, q, [(m.keys, m.text) for m in got]))
    # Every alias whose authority is in the library, in a question.
    for al in load_aliases():
        wanted = [k for k in al.keys if k in keys]
        if not wanted or al.kind == "common-word":
            continue
        written = al.alias.upper() if len(al.alias) <= 4 and " " not in al.alias else al.alias.title()
        q = f"What did Ofsted find in {written} in 2022?"
        got = table.find(q)
        if not got or set(got[0].keys) != set(wanted):
            problems.append((al.alias, q, [(m.keys, m.text) for m in got]))
    assert not problems, "\n".join(map(str, problems[:30]))


def _reports(corpus) -> list[tuple[str, str, str]]:
    return [(p, row.local_authority, "") for p, row in read_manifest(corpus).items()]


def test_every_sample_authority_by_name_and_alias(sample_corpus):
    reports = _reports(sample_corpus)
    table = AuthorityTable.build(reports)
    assert len(table.authorities) == len({p.split("/")[0] for p, _, _ in reports})
    _check_every_authority(table, reports)


def test_reports_own_names_and_titles_become_forms(sample_corpus):
    from assistant.reports.ingest import ingest_folder

    res = ingest_folder(sample_corpus)
    reports = [(r.path, r.meta.local_authority, r.meta.title) for r in res.reports]
    table = AuthorityTable.build(reports)
    _check_every_authority(table, reports)
    for r in res.reports:
        got = table.find(f"What did the report say about {r.meta.local_authority}?")
        assert got and got[0].text == r.meta.local_authority or norm_name(got[0].text) == norm_name(r.meta.local_authority), (r.path, got)


@pytest.mark.slow
def test_every_authority_in_the_full_library(shared_corpus):
    reports = _reports(shared_corpus)
    table = AuthorityTable.from_manifest(shared_corpus)
    assert len(table.authorities) == len({p.split("/")[0] for p, _, _ in reports}) >= 150
    _check_every_authority(table, reports)


@pytest.fixture(scope="module")
def full_table(shared_corpus):
    return AuthorityTable.from_manifest(shared_corpus)


@pytest.mark.slow
@pytest.mark.parametrize(
    "question, keys, text",
    [
        ("What did Ofsted say about the City of London in 2019?", ("london corporation",), "City of London"),
        ("Herts 2015: is there a crash pad?", ("hertfordshire",), "Herts"),
        ("Bracknell, 2021: care leavers", ("bracknell forest",), "Bracknell"),
        ("Medway council, 2023: adoption", ("medway",), "Medway council"),
        ("Bucks MASH since 2018", ("buckinghamshire",), "Bucks"),
        ("lancs front door", ("lancashire",), "lancs"),
        ("Brum care leavers", ("birmingham",), "Brum"),
        ("BCP children in care", ("bournemouth christchurch and poole",), "BCP"),
        ("Hull: how are care leavers doing?", ("kingston upon hull",), "Hull"),
        ("Kingston 2019 leaders", ("kingston upon thames",), "Kingston"),
        ("Windsor and Maidenhead early help", ("windsor and maidenhead",), "Windsor and Maidenhead"),
        ("RBWM early help", ("windsor and maidenhead",), "RBWM"),
        ("the Royal Borough of Windsor & Maidenhead", ("windsor and maidenhead",), "Royal Borough of Windsor & Maidenhead"),
        ("Cumbria before the split", ("cumberland", "westmorland and furness"), "Cumbria"),
        ("Northamptonshire 2019", ("north northamptonshire", "west northamptonshire"), "Northamptonshire"),
        ("West Northamptonshire 2024", ("west northamptonshire",), "West Northamptonshire"),
        ("Kingston upon Hull City Council", ("kingston upon hull",), "Kingston upon Hull City Council"),
        ("Stoke-on-Trent's care leavers", ("stoke on trent",), "Stoke-on-Trent"),
        ("London Borough of Tower Hamlets", ("tower hamlets",), "London Borough of Tower Hamlets"),
        ("St. Helens 2022", ("st helens",), "St. Helens"),
        ("Bournemouth, Christchurch & Poole", ("bournemouth christchurch and poole",), "Bournemouth, Christchurch & Poole"),
    ],
)
def test_common_forms(full_table, question, keys, text):
    got = full_table.find(question)
    assert got and got[0].keys == keys and got[0].text == text, got
    assert question[got[0].start : got[0].end] == text


def test_common_words_count_only_when_capitalised(sample_corpus):
    table = AuthorityTable.build([("80540_reading/r.pdf", "reading", ""), ("80443_bury/r.pdf", "bury", ""), ("80453_york/r.pdf", "york", "")])
    assert [m.keys for m in table.find("Reading 2019: reading age of children in care")] == [("reading",)]
    assert table.find("support with reading and writing") == []
    assert [m.keys for m in table.find("Bury care leavers")] == [("bury",)]
    assert table.find("how do they bury the problem") == []
    # A longer place name that contains an authority's is that place, not the authority.
    assert table.find("children's services in New York") == []
    assert [m.keys for m in table.find("City of York Council 2019")] == [("york",)]


def test_bad_alias_file_is_refused(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("alias,authority,kind\nherts,hertfordshire,nickname\n", encoding="utf-8")
    with pytest.raises(ValueError, match="row 2"):
        load_aliases(p)


def test_keys_match_the_searchers_filter_keys(sample_corpus):
    from assistant.search.authorities import authority_key
    from assistant.search.searcher import authority_key as search_key

    for path, row in read_manifest(sample_corpus).items():
        assert authority_key(path, row.local_authority) == search_key(path, row.local_authority)


def test_a_reports_own_name_does_not_become_a_shorter_form():
    # The City of London's reports call it "City of London": that is no licence to read
    # every "London" as the City (nor the "London" of "London Borough of Barnet").
    table = AuthorityTable.build([("80450_london corporation/r.pdf", "City of London", ""), ("80487_barnet/r.pdf", "London Borough of Barnet", "")])
    assert [(m.keys, m.text) for m in table.find("London Borough of Barnet, 2019")] == [(("barnet",), "London Borough of Barnet")]
    assert [m.keys for m in table.find("the City of London's care leavers")] == [("london corporation",)]
    assert table.find("councils in London") == []
