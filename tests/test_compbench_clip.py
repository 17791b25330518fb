"""CLIPScore on a tiny random CLIP: raw cosine, torchvision-exact preprocessing, complex mode."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from t2ir1_eval.rules import t2i_compbench as R
from t2ir1_eval.scorers.compbench.clipscore import ClipScoreScorer
from t2ir1_eval.scorers.compbench.common import center_crop, load_rgb, resize_short_side

from standins.compbench_helpers import context, write_images


@pytest.fixture(scope="module")
def scorers(data_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("clip")
    simple = ClipScoreScorer(context(data_dir, tmp), model_id="tiny")
    complex_ = ClipScoreScorer(context(data_dir, tmp), model_id="tiny", complex=True)
    return tmp, simple, complex_


def test_raw_cosine_of_normalised_embeddings(scorers):
    tmp, scorer, _ = scorers
    samples = write_images(tmp, "non_spatial", ["a man is riding a horse", "a woman reads a book"], per_prompt=2)
    raws = scorer.score(samples)
    b = scorer._bundle
    for s, raw in zip(samples, raws):
        assert raw["text"] == s.item.prompt and raw["mode"] == "simple"
        with torch.no_grad():
            img = b.model.get_image_features(pixel_values=scorer.pixel_values([load_rgb(s.path)])).pooler_output[0]
            tok = b.tokenizer([raw["text"]], padding="max_length", max_length=77, return_tensors="pt")
            txt = b.model.get_text_features(input_ids=tok["input_ids"], attention_mask=tok["attention_mask"]).pooler_output[0]
        expected = float(torch.nn.functional.cosine_similarity(img, txt, dim=0))
        assert raw["cosine"] == pytest.approx(expected, abs=1e-5)
        assert R.decide(s.item, raw, {})["score"] == raw["cosine"]  # no x2.5, no x100, no clipping
    assert raws[0]["cosine"] != raws[1]["cosine"]


def test_preprocessing_matches_torchvision_arithmetic(scorers):
    from PIL import Image

    _, scorer, _ = scorers
    img = Image.fromarray(np.random.default_rng(1).integers(0, 256, (50, 80, 3), dtype=np.uint8))
    out = center_crop(resize_short_side(img, 32, resample="bicubic"), 32)
    assert out.size == (32, 32)
    # torchvision: Resize(32) -> 51x32 (int(32*80/50)), CenterCrop rounds (51-32)/2 = 9.5 -> 10 (HF floors to 9)
    manual = img.resize((51, 32), Image.Resampling.BICUBIC).crop((10, 0, 42, 32))
    assert np.array_equal(np.asarray(out), np.asarray(manual))
    px = scorer.pixel_values([img])
    assert tuple(px.shape) == (1, 3, 32, 32) and px.dtype == torch.float32


def test_complex_mode_drops_adjectives(scorers):
    tmp, _, scorer = scorers
    samples = write_images(tmp, "complex", ["The fluffy white cat chased the small red ball."],
                           complex_sublist="action")
    raw = scorer.score(samples)[0]
    assert raw["mode"] == "complex"
    assert raw["text"] == "The cat chased the ball ."
    assert -1 <= raw["cosine"] <= 1
    assert scorer.describe()["spacy"]["model_version"] and scorer.describe()["comparable"] is False
