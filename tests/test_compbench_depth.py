"""DPT depth path (tiny DPT-Hybrid): 8-bit PNG round trip, 479 resize, transposed box means; the
unidet-3d scorer end to end; the 3-in-1 composite on tiny models."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from t2ir1_eval.rules import t2i_compbench as R
from t2ir1_eval.scorers.compbench.common import load_rgb
from t2ir1_eval.scorers.compbench.depth import UniDet3DScorer, box_means, depth_map, depth_pngs, load_dpt

from standins.compbench_helpers import context, write_images


@pytest.fixture(scope="module")
def dpt():
    return load_dpt("tiny")


def test_depth_png_round_trip(dpt, tmp_path, data_dir):
    from PIL import Image

    samples = write_images(tmp_path, "3d_spatial", ["a dog in front of a desk"], size=(96, 64))
    samples += write_images(tmp_path, "3d_spatial", ["a cat behind a sofa"], size=(480, 480))
    pngs = depth_pngs(dpt, [load_rgb(s.path) for s in samples])
    assert [p.size for p in pngs] == [(96, 64), (480, 480)]  # upsampled back to the original size
    full = np.asarray(pngs[1])  # at 480 px the align_corners resize is the identity: min-max shows
    assert full.min() == 0 and full.max() in (254, 255)
    for png in pngs:
        assert png.mode == "L"
        arr = np.asarray(png)
        buf = io.BytesIO()
        png.save(buf, format="PNG")
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(buf.getvalue()))), arr)  # lossless on disk
        dmap = depth_map(png)
        assert dmap.dtype == torch.float32
        assert tuple(dmap.shape) == ((320, 480) if png.size == (96, 64) else (479, 479))  # Resize(479, max_size=480)
        assert torch.allclose(dmap * 255, (dmap * 255).round(), atol=1e-4)  # multiples of 1/255


def test_box_means_transposed_quirk():
    depth = torch.arange(20 * 30, dtype=torch.float32).reshape(20, 30) / 600  # rows = y (20), cols = x (30)
    (m,) = box_means(depth, [[2.7, 5.2, 8.9, 12.0]])
    assert m["transposed"] == pytest.approx(float(depth[2:8, 5:12].mean()))  # depth[x0:x1, y0:y1]
    assert m["row_col"] == pytest.approx(float(depth[5:12, 2:8].mean()))
    (m,) = box_means(depth, [[25.0, 1.0, 29.0, 3.0]])
    assert m["transposed"] is None and m["row_col"] is not None  # x beyond the rows: empty slice (NaN upstream)


def test_unidet_3d_scorer_end_to_end(data_dir, tmp_path):
    samples = write_images(tmp_path, "3d_spatial", ["a dog in front of a desk", "a cat behind a sofa"], per_prompt=2)
    scorer = UniDet3DScorer(context(data_dir, tmp_path), model_id="tiny")
    raws = scorer.score(samples)
    desc = scorer.describe()
    assert desc["comparable"] is False and desc["depth"]["model_id"] == "tiny" and desc["checkpoint"] == "R50"
    for s, raw in zip(samples, raws):
        assert raw["depth"]["map_size"] == [479, 479]
        assert len(raw["depth"]["box_means"]) == len(raw["detections"])
        for m in raw["depth"]["box_means"]:
            assert set(m) == {"transposed", "row_col"}
        d = R.decide(s.item, raw, {})
        assert d["failed"] is False and 0 <= d["score"] <= 1


def test_three_in_one_scorer_on_tiny_models(data_dir, tmp_path):
    from t2ir1_eval.scorers.compbench.three_in_one import ThreeInOneScorer

    spatial = write_images(tmp_path, "complex", ["The red hat was on top of the brown coat rack."],
                           complex_sublist="spatial")
    action = write_images(tmp_path, "complex", ["The black dog chased the white cat."], complex_sublist="action", seed=1)
    scorer = ThreeInOneScorer(context(data_dir, tmp_path), model_id="tiny")
    samples = spatial + action
    raws = scorer.score(samples)
    assert scorer.describe()["comparable"] is False
    for s, raw in zip(samples, raws):
        assert set(raw) == {"blip", "spatial", "clip"}
        blip = R.decide_blip(raw["blip"], {})["score"]
        two_d = R.decide_2d(raw["spatial"], {}, complex_mode=True)["score"]
        cos = raw["clip"]["cosine"]
        d = R.decide(s.item, raw, {})
        want = (two_d + blip) * 0.5 if s.item.metadata["complex_sublist"] == "spatial" else (cos + blip) * 0.5
        assert d["score"] == pytest.approx(want)
    assert raws[0]["clip"]["text"] == "The hat was on top of the coat rack ."
    assert R.decide_2d(raws[0]["spatial"], {}, complex_mode=True)["objects"] == ["hat", "coat"]
