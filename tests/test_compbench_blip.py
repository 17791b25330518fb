"""BLIP-VQA scorer on a tiny random BLIP: 480-px interpolation, [ENC]/[DEC], batching, raw schema."""

from __future__ import annotations

import pytest
import torch

from t2ir1_eval.rules import t2i_compbench as R
from t2ir1_eval.scorers.compbench.blip_vqa import BlipVqaScorer

from standins.compbench_helpers import context, write_images

PROMPTS = ["a green bench and a blue bowl", "a red car on the left of a big brown dog", "a cat"]


@pytest.fixture(scope="module")
def scored(data_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("blip")
    samples = write_images(tmp, "color", PROMPTS, per_prompt=2, size=(48, 40))  # 6 images, 11 questions
    scorer = BlipVqaScorer(context(data_dir, tmp), model_id="tiny")
    return scorer, samples, scorer.score(samples)


def reference_p(scorer, sample, question: str, first_token: str = "[ENC]") -> float:
    """One question through transformers' own generate(): first-step logits -> P(yes)/(P(yes)+P(no))."""
    from t2ir1_eval.scorers.compbench.common import load_rgb

    model, tok = scorer._model, scorer._tokenizer
    ids = tok([question], return_tensors="pt")["input_ids"]
    ids[:, 0] = tok.convert_tokens_to_ids(first_token)
    out = model.generate(input_ids=ids, pixel_values=scorer.pixel_values([load_rgb(sample.path)]),
                         interpolate_pos_encoding=True, max_new_tokens=1, do_sample=False,
                         output_logits=True, return_dict_in_generate=True)
    prob = torch.softmax(out.logits[0][0].float(), dim=-1)
    y, n = prob[scorer.ids["yes"]], prob[scorer.ids["no"]]
    return float(y / (y + n))


def test_raw_schema_and_questions(scored):
    scorer, samples, raws = scored
    assert len(raws) == len(samples)
    r = raws[0]
    assert r["prompt"] == PROMPTS[0] and r["phrases"] == ["a green bench", "a blue bowl"]
    assert r["questions"] == ["a green bench?", "a blue bowl?"] and r["np_num"] == 8
    for r in raws:
        assert len(r["p"]) == len(r["p_yes"]) == len(r["p_no"]) == len(r["questions"])
        for py, pn, p in zip(r["p_yes"], r["p_no"], r["p"]):
            assert 0 < py < 1 and 0 < pn < 1 and p == pytest.approx(py / (py + pn), rel=1e-5)
    d = R.decide(samples[0].item, raws[0], {})
    assert 0 <= d["score"] <= 1 and d["phrases"] == 2


def test_matches_transformers_generate_with_enc_first_token(scored):
    scorer, samples, raws = scored
    s, r = samples[2], raws[2]  # 'a car on the left...' row 1, first image
    assert r["prompt"] == PROMPTS[1]
    for q, p in zip(r["questions"], r["p"]):
        assert p == pytest.approx(reference_p(scorer, s, q), abs=1e-5)
    # the [ENC] replacement matters: with [CLS] kept the reference moves further than our tolerance
    ours = [(p, reference_p(scorer, s, q), reference_p(scorer, s, q, "[CLS]")) for q, p in zip(r["questions"], r["p"])]
    assert max(abs(p - cls) for p, _, cls in ours) > 10 * max(abs(p - enc) for p, enc, _ in ours)
    assert scorer.ids["dec"] == scorer._model.config.text_config.bos_token_id
    assert scorer.ids["enc"] == scorer._tokenizer.convert_tokens_to_ids("[ENC]")


def test_480px_position_interpolation_equals_blip_loader(scored):
    """HF's on-the-fly interpolation == BLIP's interpolate_pos_embed (bicubic) applied at load time."""
    from transformers import BlipVisionConfig, BlipVisionModel

    scorer, samples, _ = scored
    vm = scorer._model.vision_model
    assert vm.config.image_size == 32 and scorer.image_size == 480
    px = scorer.pixel_values([__import__("PIL.Image").Image.open(samples[0].path).convert("RGB")])
    assert tuple(px.shape) == (1, 3, 480, 480)
    cfg = BlipVisionConfig(**{**vm.config.to_dict(), "image_size": 480})
    big = BlipVisionModel(cfg).eval()
    big.load_state_dict({k: v for k, v in vm.state_dict().items() if "position_embedding" not in k}, strict=False)
    pos = vm.embeddings.position_embedding.detach()
    grid = pos[:, 1:].reshape(1, 2, 2, -1).permute(0, 3, 1, 2)
    grid = torch.nn.functional.interpolate(grid, size=(30, 30), mode="bicubic", align_corners=False)
    with torch.no_grad():
        big.embeddings.position_embedding.copy_(torch.cat([pos[:, :1], grid.permute(0, 2, 3, 1).reshape(1, 900, -1)], 1))
        a = vm(pixel_values=px, interpolate_pos_encoding=True).last_hidden_state
        b = big(pixel_values=px).last_hidden_state
    assert a.shape == (1, 901, vm.config.hidden_size)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_mixed_length_batches_equal_single_answers(scored):
    """All 11 questions (4 to 9 tokens) in one padded batch == each asked alone, unpadded."""
    scorer, samples, raws = scored
    questions = [q for r in raws for q in r["questions"]]
    lengths = {len(ids) for ids in scorer._tokenizer(questions)["input_ids"]}
    assert len(lengths) >= 3 and len(questions) <= scorer.question_batch  # one chunk, really padded
    scorer.question_batch = scorer.image_batch = 1
    try:
        single = [scorer.score([s])[0] for s in samples]
    finally:
        scorer.question_batch, scorer.image_batch = 64, 8
    for a, b in zip(raws, single):
        assert a["questions"] == b["questions"]
        assert a["p_yes"] == pytest.approx(b["p_yes"], abs=1e-6)
        assert a["p"] == pytest.approx(b["p"], abs=1e-6)
        assert ["{:.4f}".format(x) for x in a["p"]] == ["{:.4f}".format(x) for x in b["p"]]
        assert R.decide(samples[0].item, a, {})["score"] == R.decide(samples[0].item, b, {})["score"]


def _question_states(scorer, sample, questions):
    from t2ir1_eval.scorers.compbench.common import load_rgb

    model = scorer._model
    tok = scorer._tokenizer(questions, padding="longest", return_tensors="pt")
    ids = tok["input_ids"].clone()
    ids[:, 0] = scorer.ids["enc"]
    image = model.vision_model(pixel_values=scorer.pixel_values([load_rgb(sample.path)]),
                               interpolate_pos_encoding=True).last_hidden_state.expand(len(questions), -1, -1)
    q = model.text_encoder(input_ids=ids, attention_mask=tok["attention_mask"], encoder_hidden_states=image).last_hidden_state
    start = torch.full((len(questions), 1), scorer.ids["dec"], dtype=torch.long)
    return q, tok["attention_mask"], start


def test_decoder_first_step_routes_the_question_mask(scored):
    from t2ir1_eval.scorers.compbench.blip_vqa import decoder_first_step

    scorer, samples, _ = scored
    dec = scorer._model.text_decoder
    with torch.no_grad():
        # no padding: the layer-by-layer step is transformers' own decoder forward
        q, mask, start = _question_states(scorer, samples[0], ["a red car?", "a big dog?"])
        assert bool(mask.all())
        hf = dec(input_ids=start, encoder_hidden_states=q, encoder_attention_mask=mask).logits[:, 0]
        torch.testing.assert_close(decoder_first_step(dec, start, q, mask), hf, atol=1e-6, rtol=0)
        # padding: "a cat?" padded to the long question's length, against "a cat?" alone
        q, mask, start = _question_states(scorer, samples[0], ["a cat?", "a red car on the left of a big dog?"])
        assert int(mask[0].sum()) < mask.shape[1]
        q1, mask1, start1 = _question_states(scorer, samples[0], ["a cat?"])
        alone = decoder_first_step(dec, start1, q1, mask1)[0]
        ours = decoder_first_step(dec, start, q, mask)[0]
        theirs = dec(input_ids=start, encoder_hidden_states=q, encoder_attention_mask=mask).logits[0, 0]
    torch.testing.assert_close(ours, alone, atol=1e-5, rtol=0)
    # transformers 5.24's trap: its cross-attention drops encoder_attention_mask and attends to padding
    assert float((theirs - alone).abs().max()) > 100 * float((ours - alone).abs().max())


def test_bad_file_is_a_per_sample_error(scored, tmp_path):
    scorer, samples, _ = scored
    bad = tmp_path / "a cat_000000.png"
    bad.write_bytes(b"not a png")
    from t2ir1_eval.types import Sample

    out = scorer.score([Sample(samples[0].item, 0, bad), samples[0]])
    assert "error" in out[0] and "ImageError" in out[0]["error"] and "p" in out[1]
    assert R.decide(samples[0].item, out[0], {})["failed"]


def test_describe_records_mode(scored):
    d = scored[0].describe()
    assert d["comparable"] is False and d["image_size"] == 480 and d["weights"] == "random (tiny)"
    assert d["position_embeddings"].startswith("interpolated 32->480")
    assert d["spacy"]["model_version"]
