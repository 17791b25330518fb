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


def test_tiny_blip_batched_answers_equal_one_at_a_time_and_tile_encoded_once(tmp_path):
    import torch

    from t2ir1_eval.scorers.dpg.vqa_hf import HfBlipVqa

    questions = ["Is there a pickup truck?", "Are the palm trees swaying in the breeze?", "Is it red?",
                 "Is the bathtub white?", "Does the sign say \"SPA\"?", "Are the tiles matte?"]
    vqa = HfBlipVqa("tiny", seed=0, tiny_words=questions, tiny_yes_no_bias=0.0, max_new_tokens=3)
    encodes, steps = [], []
    vqa.model.vision_model.register_forward_hook(lambda *a: encodes.append(1))
    vqa.model.text_decoder.register_forward_hook(lambda m, a, out: steps.append(out.logits[:, -1].clone()))

    def first_step(call):  # the decoder logits after the start token, for one answer() call
        mark = len(steps)
        answers = call()
        return answers, steps[mark]

    tile = Image.effect_noise((40, 40), 60).convert("RGB")
    lengths = [len(x) for x in vqa.processor.tokenizer(questions)["input_ids"]]
    assert len(set(lengths)) < len(questions)  # some questions share a batch
    starts = []  # each length group runs the text encoder once, then its decoder steps
    hook = vqa.model.text_encoder.register_forward_hook(lambda *a: starts.append(len(steps)))
    batched = vqa.answer(tile, questions)
    hook.remove()
    assert len(encodes) == 1
    groups = sorted(set(lengths))
    assert len(starts) == len(groups)
    batch_logits = {}
    for g, logits in zip(groups, (steps[k] for k in starts)):
        for row, i in enumerate(i for i, n in enumerate(lengths) if n == g):
            batch_logits[i] = logits[row]
    single, alone = zip(*(first_step(lambda q=q: [vqa.answer_one(tile, q)]) for q in questions))
    assert len(encodes) == 1 + len(questions)
    assert batched == [a[0] for a in single]
    # the random model's answers look alike, so compare what decides them: the decoder's logits,
    # per question, batched against alone; and they do depend on the question
    for i in range(len(questions)):
        assert torch.allclose(batch_logits[i], alone[i][0], atol=1e-5), questions[i]
    assert not torch.allclose(alone[0], alone[1], atol=1e-3)


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
