"""The glossary: acronyms mined from the real reports, the curated file, and query expansion."""

from __future__ import annotations

import pytest

from assistant.language.glossary import ACRONYM, CURATED_CSV, MINED, Glossary, Term, load_curated, mine_acronyms


def _texts(corpus):
    from assistant.reports.ingest import ingest_folder

    res = ingest_folder(corpus)
    return [p.text for r in res.reports for p in r.paragraphs]


@pytest.fixture(scope="module")
def sample_texts(sample_corpus):
    return _texts(sample_corpus)


def test_mining_finds_defined_acronyms_in_the_sample_reports(sample_texts):
    mined = {t.term[0]: t.means for t in mine_acronyms(sample_texts)}
    # Each of these is defined on first use in at least two of the sample reports.
    assert "independent reviewing officer" in mined["IRO"]
    assert "public law outline" in mined["PLO"]
    assert "personal education plan" in mined["PEP"]  # "(PEPs)" folds to the singular
    assert any(m.replace("-", " ") == "multi agency safeguarding hub" for m in mined["MASH"])
    assert "not in education, employment or training" in mined["NEET"]


def test_mining_folds_plurals_and_keeps_mixed_case():
    texts = [
        "Most return home interviews (RHIs) are timely.",
        "Return home interviews (RHI's) are offered to all children.",
        "Assessments of Deprivation of Liberty Safeguards (DoLS) are thorough.",
        "The deprivation of liberty safeguards (DoLS) are used.",
    ]
    got = {(t.term[0], t.means[0], t.count) for t in mine_acronyms(texts)}
    assert ("RHI", "return home interview", 2) in got
    assert ("DoLS", "deprivation of liberty safeguards", 2) in got


def test_mining_rejects_noise():
    texts = [
        "The council (LA) met in Leeds (UK).",
        "See section 4 (II) and note (OK).",
        "This happened in word(ABC) form and again word(ABC).",
        "Children were seen (CP) twice and seen (CP) again.",  # initials do not spell it
        "The council (LA) met in Leeds (UK).",
    ]
    assert mine_acronyms(texts) == []


def test_mining_keeps_terms_seen_min_count_times():
    one = ["The early help hub (EHH) is busy."]
    assert mine_acronyms(one) == []
    assert [t.term for t in mine_acronyms(one, min_count=1)] == [("EHH",)]


def test_curated_file_is_well_formed_and_sourced():
    terms = load_curated()
    assert len(terms) > 100
    for t in terms:
        assert t.source and t.term and t.means
    acr = {s for t in terms if t.kind == ACRONYM for s in t.term}
    for needed in "LADO IRO PA RHI UASC SGO PLO EHCP CIN CP CSE CCE MASH LSCB MSP NEET ASYE DoLS".split():
        assert needed in acr
    with CURATED_CSV.open(encoding="utf-8") as fh:
        assert fh.readline().startswith("#")  # the header comment names sources and licence


def test_bad_curated_row_is_refused_with_its_line(tmp_path):
    p = tmp_path / "g.csv"
    p.write_text("kind,term,means,source\nacronym,XYZ,,somewhere\n", encoding="utf-8")
    with pytest.raises(ValueError, match="row 2"):
        load_curated(p)


def test_expand_adds_long_forms_acronyms_and_field_wording():
    g = Glossary.build()
    assert "return home interview" in g.expand("How timely are RHIs?").phrases
    assert "RHI" in g.expand("How timely are return home interviews?").phrases
    e = g.expand("Do kids who run away get help?")
    assert "return home interviews" in e.phrases and e.added[0].because.lower().startswith("run away")
    assert e.note().startswith("also searched: ")
    assert "foster carers" in g.expand("what do foster parents say").phrases
    # Lower-case letters are a word, not the acronym.
    assert g.expand("a pa system").added == ()
    # Nothing the question already says.
    assert "foster carers" not in g.expand("foster carers and foster parents").phrases
    assert g.expand("").added == ()


def test_mined_terms_join_curated_ones_and_round_trip():
    mined = [Term(ACRONYM, ("EHH",), ("early help hub",), MINED, 3), Term(ACRONYM, ("IRO",), ("something else",), MINED, 9)]
    g = Glossary.build(mined)
    assert "early help hub" in g.expand("Is the EHH working?").phrases
    # A curated acronym is not overridden by a mined reading of it.
    assert "something else" not in g.expand("the IRO").phrases
    back = Glossary.mined_from_json(g.mined_json())
    assert [t.term for t in back] == [("EHH",)]


def test_expansion_leaves_off_topic_questions_alone():
    g = Glossary.build()
    assert g.expand("What is the best recipe for chocolate cake?").added == ()


def test_a_trigger_matches_inflections_not_derivations_or_half_a_phrase():
    g = Glossary.build()
    # The stemmer folds "allowance" to "allow" and would read "allow dogs" as money.
    assert g.expand("Which parks allow dogs?").added == ()
    assert "setting-up-home allowance" in g.expand("is there an allowance for a first flat?").phrases
    # "after 18" is a phrase: "look after" alone says nothing about leaving care.
    assert g.expand("children who look after their parents").added == ()
    assert "staying put" in g.expand("what happens after 18?").phrases
    # Inflections still match: "turned 18" for "turn 18", "running away" for "run away".
    assert "staying put" in g.expand("he turned 18 last year").phrases
    assert "return home interviews" in g.expand("after running away").phrases
