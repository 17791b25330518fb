"""Converter coverage against mmdet 3.3's real key names (recorded by tests/mmdet_parity/dump_keys.py),
and ``convert_checkpoint`` end to end on a tiny mmdet-format checkpoint (2.x key names)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from t2ir1_eval.scorers.geneval import convert_mmdet as C
from t2ir1_eval.scorers.geneval import mask2former as M
from t2ir1_eval.tiny.mask2former import tiny_mask2former_config

KEYS = Path(__file__).resolve().parent / "mmdet_parity" / "mmdet_state_keys.json"


@pytest.fixture(scope="module")
def recorded():
    if not KEYS.exists():
        pytest.skip(f"{KEYS} not recorded (run tests/mmdet_parity/dump_keys.py in the mmdet venv)")
    return json.loads(KEYS.read_text())


def _as_2x(key: str) -> str:
    """mmdet 3.x module names -> 2.x (GenEval's checkpoint): attentions/ffns lists."""
    if "pixel_decoder.encoder.layers" in key:
        return key.replace(".self_attn.", ".attentions.0.").replace(".ffn.", ".ffns.0.")
    if "transformer_decoder.layers" in key:
        return (key.replace(".cross_attn.", ".attentions.0.").replace(".self_attn.", ".attentions.1.")
                .replace(".ffn.", ".ffns.0."))
    return key


def test_full_swin_s_keys_cover_the_transformers_model(recorded):
    from transformers import Mask2FormerForUniversalSegmentation

    with torch.device("meta"):  # shapes only: no 68 M parameter allocation
        model = Mask2FormerForUniversalSegmentation(M.geneval_config())
        src = {k: torch.empty(shape) for k, shape in recorded["swin_s"].items()}
    for names in (src, {_as_2x(k): v for k, v in src.items()}):
        state, ignored = C.convert_state_dict(names)
        C.check_against(model, state)  # every HF parameter set, right shapes, nothing extra
        assert all(re.search(r"relative_position_index$", k) for k in ignored)
    assert len(state) == len([k for k in model.state_dict() if not k.startswith(C.UNUSED_TARGETS)])


def test_convert_checkpoint_writes_a_loadable_folder(recorded, tmp_path):
    from transformers import Mask2FormerForUniversalSegmentation

    torch.manual_seed(0)
    state = {_as_2x(k): torch.randn(shape) if shape else torch.tensor(0.0) for k, shape in recorded["tiny"].items()}
    src = tmp_path / "tiny_mmdet2.pth"
    torch.save({"meta": {"mmdet_version": "2.25.0"}, "state_dict": state}, src)
    report = C.convert_checkpoint(src, tmp_path / "hf", config_builder=tiny_mask2former_config)
    assert report["source_sha256"] and report["converted_tensors"] > 0
    hf = Mask2FormerForUniversalSegmentation.from_pretrained(tmp_path / "hf").eval()
    w = hf.state_dict()[C.TD + "decoder.layers.0.self_attn.k_proj.weight"]
    d = w.shape[0]
    torch.testing.assert_close(w, state["panoptic_head.transformer_decoder.layers.0.attentions.1.attn.in_proj_weight"][d:2 * d])
    with torch.no_grad():
        out = hf(pixel_values=torch.randn(1, 3, 64, 64))
    assert out.class_queries_logits.shape == (1, 10, 81)


def test_bad_checkpoint_is_named(tmp_path):
    bad = tmp_path / "x.pth"
    torch.save({"state_dict": {"foo.weight": torch.zeros(1)}}, bad)
    with pytest.raises(Exception, match="expected an mmdet Mask2Former checkpoint"):
        C.load_mmdet_state_dict(bad)


def test_load_detector_converts_an_mmdet_pth_on_load_and_caches(recorded, tmp_path, monkeypatch):
    monkeypatch.setattr(M, "geneval_config", tiny_mask2former_config)  # the tiny variant's keys, same code path
    torch.manual_seed(1)
    state = {k: torch.randn(shape) for k, shape in recorded["tiny"].items()}
    src = tmp_path / "ckpt.pth"
    torch.save({"state_dict": state}, src)
    model, info = M.load_detector(str(src), cache_dir=tmp_path / "cache")
    assert info["format"] == "mmdet (converted on load)" and info["comparable"] is True
    cached = Path(info["converted_cache"])
    assert (cached / "config.json").is_file()
    again, _ = M.load_detector(str(src), cache_dir=tmp_path / "cache")  # now from the cache
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(pixel_values=x).class_queries_logits, again(pixel_values=x).class_queries_logits)
    key = "panoptic_head.cls_embed.weight"
    torch.testing.assert_close(model.class_predictor.weight, state[key])
