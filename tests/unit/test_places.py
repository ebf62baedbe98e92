"""Places a question names that the library holds no report for."""

from __future__ import annotations

import pytest

from assistant.search.authorities import AuthorityTable
from assistant.search.places import ABROAD, NATION, UK_COUNCIL, Gazetteer, default_gazetteer, find_all, find_places


@pytest.fixture(scope="module")
def sample_library(sample_corpus):
    return AuthorityTable.from_manifest(sample_corpus)


@pytest.fixture(scope="module")
def full_library(shared_corpus):
    return AuthorityTable.from_manifest(shared_corpus)


def _names(places):
    return [(p.name, p.kind) for p in places]


def test_councils_of_other_nations_and_places_abroad(sample_library):
    assert _names(find_places("What did inspectors say about child protection in Swansea?", sample_library)) == [("Swansea", UK_COUNCIL)]
    assert _names(find_places("How does Glasgow City Council support care leavers?", sample_library)) == [("Glasgow City", UK_COUNCIL)]
    assert _names(find_places("fostering in Belfast", sample_library)) == [("Belfast", UK_COUNCIL)]
    assert _names(find_places("Is adoption quicker in Scotland?", sample_library)) == [("Scotland", NATION)]
    assert _names(find_places("child protection in Dublin", sample_library)) == [("Dublin", ABROAD)]
    assert _names(find_places("foster care in New South Wales", sample_library)) == [("New South Wales", ABROAD)]
    p = find_places("Social workers in New York?", sample_library)[0]
    assert (p.name, p.country, p.label) == ("New York", "United States", "New York (United States)")
    q = "Tell me about Wrexham's services"
    w = find_places(q, sample_library)[0]
    assert q[w.start : w.end] == "Wrexham"


def test_library_authorities_england_and_regions_are_not_reported(sample_library):
    assert find_places("Bedford 2017: how effective was the MASH?", sample_library) == []
    assert find_places("How do councils in England and London compare?", sample_library) == []
    assert find_places("children's services in the UK", sample_library) == []


def test_english_council_with_no_report_in_this_library(sample_library, full_library):
    # The sample holds four authorities: Leeds is an English council it has no report for.
    assert _names(find_places("Leeds 2019: care leavers", sample_library)) == [("Leeds", UK_COUNCIL)]
    assert find_places("Leeds 2019: care leavers", full_library) == []
    # A town inside an authority the library holds is that authority's.
    assert find_places("child protection in Norwich", sample_library) == []  # Norfolk is in the sample
    assert _names(find_places("child protection in Oxford", sample_library)) == [("Oxford", "uk-town")]


def test_a_place_is_told_from_an_ordinary_word(sample_library):
    assert find_places("how is the turkey cooked", sample_library) == []
    assert _names(find_places("children arriving from Turkey", sample_library)) == [("Turkey", ABROAD)]
    assert find_places("what did us inspectors find", sample_library) == []
    assert _names(find_places("foster care in the US", sample_library)) == [("United States", ABROAD)]
    assert find_places("play the fife", sample_library) == []
    assert _names(find_places("Fife council: child protection", sample_library)) == [("Fife", UK_COUNCIL)]
    # First word of a question is capitalised anyway: a common word there needs setting off.
    assert find_places("China plates in children's homes", sample_library) == []
    assert _names(find_places("China: how are orphans cared for?", sample_library)) == [("China", ABROAD)]


def test_longer_names_win(sample_library):
    assert _names(find_places("Care Inspectorate Wales on Wrexham", sample_library)) == [("Wales", NATION), ("Wrexham", UK_COUNCIL)]
    assert _names(find_places("Northern Ireland trusts", sample_library)) == [("Northern Ireland", NATION)]
    assert [p.name for p in find_all("New South Wales and Wales", sample_library)] == ["New South Wales", "Wales"]


def test_gazetteer_lists_every_uk_council():
    g = default_gazetteer()
    by_country = {}
    for e in g.entries:
        if e.kind == UK_COUNCIL:
            by_country.setdefault(e.country, []).append(e.name)
    assert len(by_country["Scotland"]) == 32
    assert len(by_country["Wales"]) == 22
    assert len(by_country["Northern Ireland"]) == 11
    assert len(by_country["England"]) >= 153


@pytest.mark.slow
def test_every_library_authority_is_in_the_gazetteer_and_not_reported(full_library):
    g = default_gazetteer()
    english = {tuple(e.name.lower().replace("-", " ").replace(",", "").split()) for e in g.entries if e.kind == UK_COUNCIL}
    for a in full_library.authorities:
        assert tuple(a.key.split()) in english or a.key == "london corporation", a.key
        assert find_places(f"What did Ofsted say about {a.key.title()} in 2022?", full_library) == [], a.key


def test_bad_gazetteer_row_is_refused(tmp_path):
    p = tmp_path / "p.csv"
    p.write_text("name,kind,country,aliases,common,within\nAtlantis,myth,,,,\n", encoding="utf-8")
    with pytest.raises(ValueError, match="row 2"):
        Gazetteer.load(p)
