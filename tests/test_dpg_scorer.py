"""DpgVqaScorer in-process: grid split, raw schema, rules end to end, tiny BLIP batching, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from t2ir1_eval.context import ScorerContext
from t2ir1_eval.errors import BackendUnavailable, ConfigError
from t2ir1_eval.rules import dpg_bench as rules
from t2ir1_eval.scorers.dpg.scorer import DpgVqaScorer, tile_boxes
from t2ir1_eval.types import PromptItem, Sample

SMALL = Path(__file__).parent / "data" / "dpg_bench_small.csv"
STANDIN = "tests.standins.dpg_vqa_standin:ColourVqa"
COLOURS = {"white": (255, 255, 255), "black": (0, 0, 0), "red": (220, 10, 10), "green": (10, 200, 10), "blue": (10, 10, 230)}


def ctx(tmp_path: Path) -> ScorerContext:
    def data_file(key: str) -> Path:
        assert key == "questions"
        return SMALL

    return ScorerContext(suite="dpg-bench", options={}, data_file=data_file, run_dir=tmp_path)


def grid(path: Path, tiles: list[str], r: int = 16) -> Path:
    """A 2x2 grid, tiles in the official order TL, TR, BL, BR."""
    img = Image.new("RGB", (2 * r, 2 * r))
    for box, name in zip(tile_boxes(r), tiles):
        img.paste(Image.new("RGB", (r, r), COLOURS[name]), box[:2])
    img.save(path)
    return path


def sample(item_id: str, path: Path) -> Sample:
    return Sample(PromptItem(item_id, "prompt", "dpg", {"item_id": item_id, "prefix": ""}), 0, path)


@pytest.fixture(autouse=True)
def _repo_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1]))


def test_standin_end_to_end_tile_order_and_score(tmp_path):
    s = DpgVqaScorer(ctx(tmp_path), backend=STANDIN)
    raw = s.score([sample("1", grid(tmp_path / "1.png", ["white", "black", "red", "blue"]))])[0]
    assert raw["resolution"] == 16 and raw["qids"] == [1, 2, 3, 4, 5, 6]
    assert [t["box"] for t in raw["tiles"]] == [[0, 0, 16, 16], [16, 0, 32, 16], [0, 16, 16, 32], [16, 16, 32, 32]]
    assert raw["tiles"][0]["answers"] == ["yes"] * 6 and raw["tiles"][2]["answers"] == ["Yes"] * 6
    assert raw["tiles"][3]["answers"] == ["yes", "no", "no", "no", "yes", "no"]
    assert s.vqa.calls == 4  # one batched call per tile
    d = rules.decide(None, raw, {})
    # white 1, black 0, red "Yes" 0, blue: 2 of 6 ("there" questions) -> image = (1 + 0 + 0 + 1/3) / 4
    assert d["tile_scores"] == pytest.approx([1, 0, 0, 1 / 3]) and d["score"] == pytest.approx(1 / 3)
    assert dict((k, v) for k, v in d["category_values"] if k != "entity - whole") == {
        "attribute - color": 0.0, "attribute - shape": 0.0, "entity - state": 0.0, "relation - non-spatial": 0.0}
    assert s.describe()["comparable"] is False and s.describe()["items_with_questions"] == 4


def test_first_row_item_through_the_scorer_in_both_modes(tmp_path):
    s = DpgVqaScorer(ctx(tmp_path), backend=STANDIN)
    raw = s.score([sample("partiprompts97", grid(tmp_path / "p.png", ["white"] * 4))])[0]
    assert raw["qids"] == [1, 2, 3, 4]  # row 0 is asked, so either mode can be scored later
    assert rules.decide(None, raw, {"first_row_bug": True})["failed"]
    assert rules.decide(None, raw, {"first_row_bug": False})["score"] == 1.0


def test_green_punctuated_yes_scores_zero(tmp_path):
    s = DpgVqaScorer(ctx(tmp_path), backend=STANDIN)
    raw = s.score([sample("2", grid(tmp_path / "2.png", ["green"] * 4))])[0]
    assert raw["tiles"][0]["answers"][0] == "yes." and rules.decide(None, raw, {})["score"] == 0.0


def test_per_sample_errors_are_returned_not_raised(tmp_path):
    s = DpgVqaScorer(ctx(tmp_path), backend=STANDIN)
    Image.new("RGB", (32, 30)).save(tmp_path / "oblong.png")
    out = s.score([
        sample("1", tmp_path / "absent.png"),
        sample("1", tmp_path / "oblong.png"),
        sample("299", grid(tmp_path / "299.png", ["white"] * 4)),
    ])
    assert "absent.png" in out[0]["error"]
    assert "2x2 grid" in out[1]["error"] and "32x30" in out[1]["error"]
    assert "item 299: no questions" in out[2]["error"]
    assert all(rules.decide(None, r, {})["failed"] for r in out)


def test_explicit_resolution_too_large_for_the_image(tmp_path):
    s = DpgVqaScorer(ctx(tmp_path), backend=STANDIN, resolution=384)
    out = s.score([sample("1", grid(tmp_path / "1.png", ["white"] * 4))])[0]
    assert "768x768" in out["error"] and "32x32" in out["error"]


def test_unknown_backend_and_missing_modelscope(tmp_path):
    with pytest.raises(ConfigError, match="unknown backend"):
        DpgVqaScorer(ctx(tmp_path), backend="blip2")
    try:
        import modelscope  # noqa: F401
    except ImportError:
        for options in ({"backend": "mplug"}, {}):  # the default backend is the official mPLUG
            with pytest.raises(BackendUnavailable, match="modelscope download --model iic/mplug"):
                DpgVqaScorer(ctx(tmp_path), **options)
    else:  # pragma: no cover - only in a ModelScope environment
        pytest.skip("modelscope is installed here")


# ---------------------------------------------------------------- transformers (tiny BLIP)
def test_tiny_blip_backend_gives_raw_answers_and_is_not_comparable(tmp_path):
    s = DpgVqaScorer(ctx(tmp_path), model_id="tiny")  # backend "auto" -> tiny BLIP
    raw = s.score([sample("0", grid(tmp_path / "0.png", ["white", "red", "green", "blue"], r=24))])[0]
    assert len(raw["tiles"]) == 4 and all(len(t["answers"]) == 6 for t in raw["tiles"])
    assert all(isinstance(a, str) for t in raw["tiles"] for a in t["answers"])
    d = rules.decide(None, raw, {})
    assert 0.0 <= d["score"] <= 1.0 and not d["failed"]
    info = s.describe()
    assert info["backend"] == "transformers" and info["vqa_model"] == "tiny"
    assert info["comparable"] is False and "not comparable" in info["note"]


MIXED = ["Is there a pickup truck?", "Are the palm trees swaying in the breeze?", "Is it red?",
         "Is the bathtub white?", "Does the sign say \"SPA\"?", "Are the tiles matte?"]


def _question_states(vqa, image_embeds, questions):
    """The text encoder's output for ``questions`` padded together, and their padding mask."""
    import torch

    text = vqa.processor.tokenizer(questions, padding="longest", return_tensors="pt")
    embeds = image_embeds.expand(len(questions), -1, -1)
    with torch.inference_mode():
        q = vqa.model.text_encoder(input_ids=text["input_ids"], attention_mask=text["attention_mask"],
                                   encoder_hidden_states=embeds,
                                   encoder_attention_mask=torch.ones(embeds.shape[:-1], dtype=torch.long)).last_hidden_state
    return q, text["attention_mask"]


def test_tiny_blip_mixed_length_batch_answers_equal_one_at_a_time_and_tile_encoded_once(tmp_path):
    import torch

    from t2ir1_eval.scorers.blip_decoder import decoder_logits
    from t2ir1_eval.scorers.dpg.vqa_hf import HfBlipVqa

    vqa = HfBlipVqa("tiny", seed=0, tiny_words=MIXED, tiny_yes_no_bias=0.0, max_new_tokens=3)
    encodes, text_batches = [], []
    vqa.model.vision_model.register_forward_hook(lambda *a: encodes.append(1))
    vqa.model.text_encoder.register_forward_hook(lambda m, a, kw, out: text_batches.append(kw["input_ids"].shape),
                                                 with_kwargs=True)
    lengths = [len(x) for x in vqa.processor.tokenizer(MIXED)["input_ids"]]
    assert len(set(lengths)) >= 4  # the batch really mixes lengths, so most rows are padded

    tile = Image.effect_noise((40, 40), 60).convert("RGB")
    batched = vqa.answer(tile, MIXED)
    assert len(encodes) == 1 and text_batches == [(len(MIXED), max(lengths))]  # one padded batch
    single = [vqa.answer_one(tile, q) for q in MIXED]
    assert len(encodes) == 1 + len(MIXED)
    assert batched == single

    # the random model's answers look alike, so also compare what decides them: the decoder's
    # logits along each answer, padded in the batch against alone
    image = vqa.encode_tile(tile)
    q, mask = _question_states(vqa, image, MIXED)
    tok = vqa.processor.tokenizer
    with torch.inference_mode():
        for i, question in enumerate(MIXED):
            answer = [vqa.model.decoder_start_token_id] + tok(single[i], add_special_tokens=False)["input_ids"]
            ids = torch.tensor([answer])
            q1, mask1 = _question_states(vqa, image, [question])
            alone = decoder_logits(vqa.model.text_decoder, ids, q1, mask1)[0]
            ours = decoder_logits(vqa.model.text_decoder, ids, q[i:i + 1], mask[i:i + 1])[0]
            torch.testing.assert_close(ours, alone, atol=1e-5, rtol=0, msg=question)
            if int(mask[i].sum()) < mask.shape[1]:
                # transformers 5.24's own decoder drops the cross-attention mask: padding changes its logits
                theirs = vqa.model.text_decoder(input_ids=ids, encoder_hidden_states=q[i:i + 1],
                                                encoder_attention_mask=mask[i:i + 1]).logits[0]
                assert float((theirs - alone).abs().max()) > 100 * float((ours - alone).abs().max()) + 1e-4
        # and the answers do depend on the question
        first = [decoder_logits(vqa.model.text_decoder, torch.tensor([[vqa.model.decoder_start_token_id]]),
                                *_question_states(vqa, image, [x]))[0, 0] for x in MIXED[:2]]
    assert not torch.allclose(first[0], first[1], atol=1e-3)


def test_greedy_decode_is_generate_when_nothing_is_padded():
    import torch

    from t2ir1_eval.scorers.blip_decoder import greedy_decode
    from t2ir1_eval.scorers.dpg.vqa_hf import HfBlipVqa

    vqa = HfBlipVqa("tiny", seed=1, tiny_words=MIXED, tiny_yes_no_bias=0.0, max_new_tokens=4)
    image = vqa.encode_tile(Image.effect_noise((40, 40), 30).convert("RGB"))
    cfg = vqa.model.config.text_config
    for question in MIXED[:3]:
        q, mask = _question_states(vqa, image, [question])
        start = vqa.model.decoder_start_token_id
        with torch.inference_mode():
            ours = greedy_decode(vqa.model.text_decoder, start, q, mask, 4, eos_id=cfg.sep_token_id,
                                 pad_id=cfg.pad_token_id)
            theirs = vqa.model.text_decoder.generate(
                input_ids=torch.full((1, 1), start), eos_token_id=cfg.sep_token_id, pad_token_id=cfg.pad_token_id,
                encoder_hidden_states=q, encoder_attention_mask=mask, max_new_tokens=4, do_sample=False, num_beams=1)
        assert ours.shape[1] > 2 and ours.tolist() == theirs.tolist(), question  # several steps, not one


def test_tiny_blip_is_deterministic_per_seed_and_sized_as_asked():
    import torch

    from t2ir1_eval.tiny.blip import tiny_blip_vqa

    torch.manual_seed(123)  # the caller's RNG state must not matter
    a, proc = tiny_blip_vqa(image_size=48, seed=1, extra_words=["is the cat blue?"])
    b, _ = tiny_blip_vqa(image_size=48, seed=1, extra_words=["is the cat blue?"])
    c, _ = tiny_blip_vqa(image_size=48, seed=2, extra_words=["is the cat blue?"])
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)
    q = proc(images=Image.new("RGB", (100, 60), "blue"), text="is the cat blue?", return_tensors="pt")
    assert tuple(q["pixel_values"].shape) == (1, 3, 48, 48)
    vocab = proc.tokenizer.get_vocab()
    assert {"yes", "no", "cat", "blue"} <= set(vocab)  # whole words, so P(yes) is one token
    assert a.generate(**q, max_new_tokens=2).shape[0] == 1
