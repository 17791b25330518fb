"""Parity: mmdet's Mask2Former Swin-S (the GenEval detector config, random weights) vs our
transformers model carrying its converted state dict.

Runs only in the second venv built by scripts/mmdet_venv.sh (mmdet 3.3 + mmcv 2.1 + transformers):

    /work/mmdet-venv/bin/python -m pytest -q tests/mmdet_parity

Checks, on several images: (1) our pre-processing (``pipeline="mmdet3"``, cv2 resize) equals
mmdet's test pipeline + data preprocessor; (2) the same class and mask logits on identical
inputs; (3) the same top-100 detections (labels, boxes, scores) and the same GenEval decisions
as ``inference_detector``. Tolerances are printed (pytest -s) and asserted below.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

mmdet = pytest.importorskip("mmdet")
sys.path.insert(0, str(Path(__file__).resolve().parent))  # mmdet_models.py beside this file
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from PIL import Image  # noqa: E402

from t2ir1_eval.rules import geneval as R  # noqa: E402
from t2ir1_eval.scorers.geneval import convert_mmdet as C  # noqa: E402
from t2ir1_eval.scorers.geneval import mask2former as M  # noqa: E402
from t2ir1_eval.scorers.geneval.mmdet_backend import mmdet2_to_mmdet3  # noqa: E402
from t2ir1_eval.types import PromptItem  # noqa: E402

#: a reduced test scale keeps the full Swin-S within CPU budget; the pre-processing check uses the official one
SCALE = (320, 256)
CLS_TOL, MASK_TOL, SCORE_TOL = 1e-4, 1e-3, 1e-4
_REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("GENEVAL_DATA") or Path(os.environ.get("T2IR1_EVAL_DATA") or _REPO.parent / "shared" / "benchmarks") / "geneval")
if not (DATA / "object_names.txt").exists():
    raise FileNotFoundError(f"GenEval data expected in {DATA} (set GENEVAL_DATA or T2IR1_EVAL_DATA)")
NAMES = (DATA / "object_names.txt").read_text().split("\n")[:80]
ROWS = [json.loads(line) for line in (DATA / "evaluation_metadata.jsonl").read_text().splitlines()]


def _images(folder: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for k, (w, h) in enumerate([(256, 256), (300, 220), (200, 260), (512, 512)]):
        yy, xx = np.mgrid[0:h, 0:w]
        img = np.stack([(xx * 255 // w), (yy * 255 // h), ((xx + yy) * 3) % 256], -1).astype(np.uint8)
        img[h // 4: h // 2, w // 3: w // 2] = rng.integers(0, 255, 3, dtype=np.uint8)  # a flat "object"
        noise = rng.integers(-20, 20, img.shape)
        img = np.clip(img.astype(int) + noise, 0, 255).astype(np.uint8)
        p = folder / f"{k:04d}.png"
        Image.fromarray(img).save(p)
        paths.append(p)
    return paths


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from transformers import Mask2FormerForUniversalSegmentation

    from mmdet_models import mmdet_model

    # peaked class probabilities, so some detections pass GenEval's thresholds
    model, cfg = mmdet_model(tiny=False, peaked=True)
    state = {k: v for k, v in model.state_dict().items()}
    hf_state, ignored = C.convert_state_dict(state)
    hf = Mask2FormerForUniversalSegmentation(M.geneval_config()).eval()
    C.check_against(hf, hf_state)
    hf.load_state_dict(hf_state, strict=False)
    return model, hf, hf_state, state, cfg


def test_tiny_variant_converts_and_agrees(tmp_path):
    """The tiny mmdet variant <-> t2ir1_eval.tiny.mask2former: same modules, same logits."""
    from transformers import Mask2FormerForUniversalSegmentation

    from mmdet_models import mmdet_model
    from t2ir1_eval.tiny.mask2former import tiny_mask2former_config

    model, cfg = mmdet_model(tiny=True)
    hf = Mask2FormerForUniversalSegmentation(tiny_mask2former_config()).eval()
    state, _ = C.convert_state_dict(model.state_dict())
    C.check_against(hf, state)
    hf.load_state_dict(state, strict=False)
    path = _images(tmp_path)[1]
    x, samples = _mmdet_inputs(model, cfg, path, SCALE)
    with torch.no_grad():
        cls_mm, mask_mm = model.panoptic_head(model.extract_feat(x), samples)
        out = hf(pixel_values=x)
    assert float((cls_mm[-1] - out.class_queries_logits).abs().max()) < CLS_TOL
    assert float((mask_mm[-1] - out.masks_queries_logits).abs().max()) < MASK_TOL


def test_2x_and_3x_key_names_convert_identically(models):
    _, _, hf_state, state, _ = models
    # mmdet 2.x names (GenEval's checkpoint) -> same HF tensors
    back = {}
    for k, v in state.items():
        if "pixel_decoder.encoder.layers" in k:
            k = k.replace(".self_attn.", ".attentions.0.").replace(".ffn.", ".ffns.0.")
        elif "transformer_decoder.layers" in k:
            k = k.replace(".cross_attn.", ".attentions.0.").replace(".self_attn.", ".attentions.1.").replace(".ffn.", ".ffns.0.")
        back[k] = v
    assert mmdet2_to_mmdet3(back).keys() == state.keys()
    hf2, _ = C.convert_state_dict(back)
    assert hf2.keys() == hf_state.keys() and all(torch.equal(hf2[k], hf_state[k]) for k in hf2)


def _mmdet_inputs(model, cfg, path: Path, scale):
    from mmcv.transforms import Compose

    from mmdet.utils import get_test_pipeline_cfg

    pipe_cfg = get_test_pipeline_cfg(cfg.copy())
    for t in pipe_cfg:
        if t["type"].endswith("Resize"):
            t["scale"] = scale
    data = Compose(pipe_cfg)(dict(img_path=str(path), img_id=0))
    batch = model.data_preprocessor({"inputs": [data["inputs"]], "data_samples": [data["data_samples"]]}, False)
    return batch["inputs"], batch["data_samples"]


def test_preprocessing_matches_mmdet_pipeline(models, tmp_path):
    model, _, _, _, cfg = models
    worst = 0.0
    for path in _images(tmp_path):
        x_mm, samples = _mmdet_inputs(model, cfg, path, M.TEST_SCALE)
        p = M.preprocess(Image.open(path), M.TEST_SCALE, pipeline="mmdet3", resize_backend="cv2")
        assert tuple(x_mm.shape[-2:]) == p.pad_size
        assert tuple(samples[0].img_shape) == p.img_size
        worst = max(worst, float((x_mm[0] - p.pixels).abs().max()))
        # the torch resize fallback (no cv2) stays close
        q = M.preprocess(Image.open(path), M.TEST_SCALE, pipeline="mmdet3", resize_backend="torch")
        print(f"{path.name}: torch-resize max |diff| = {float((x_mm[0] - q.pixels).abs().max()):.3g}")
    print(f"pre-processing max |diff| vs mmdet (cv2 resize) = {worst:.3g}")
    assert worst < 1e-5


def test_logits_match_on_identical_inputs(models, tmp_path):
    model, hf, _, _, cfg = models
    for path in _images(tmp_path)[:2]:
        x, samples = _mmdet_inputs(model, cfg, path, SCALE)
        with torch.no_grad():
            feats = model.extract_feat(x)
            cls_mm, mask_mm = model.panoptic_head(feats, samples)
            out = hf(pixel_values=x)
        dc = float((cls_mm[-1] - out.class_queries_logits).abs().max())
        dm = float((mask_mm[-1] - out.masks_queries_logits).abs().max())
        print(f"{path.name}: class logits max |diff| = {dc:.3g}, mask logits max |diff| = {dm:.3g} "
              f"(mask logit range {float(mask_mm[-1].abs().max()):.3g})")
        assert dc < CLS_TOL and dm < MASK_TOL


def _ours(hf, path: Path):
    p = M.preprocess(Image.open(path).convert("RGB"), SCALE, pipeline="mmdet3", resize_backend="cv2")
    inst = M.detect(hf, [p])[0]
    return inst.labels.numpy(), inst.scores.numpy(), inst.boxes.numpy()


def _theirs(model, path: Path, cfg):
    from mmcv.transforms import Compose

    from mmdet.apis import inference_detector
    from mmdet.utils import get_test_pipeline_cfg

    pipe_cfg = get_test_pipeline_cfg(cfg.copy())
    for t in pipe_cfg:
        if t["type"].endswith("Resize"):
            t["scale"] = SCALE
    pred = inference_detector(model, str(path), test_pipeline=Compose(pipe_cfg)).pred_instances
    return pred.labels.numpy(), pred.scores.numpy(), pred.bboxes.numpy()


def _raw(labels, scores, boxes):
    dets = []
    for lab in sorted(set(labels.tolist())):
        rows = np.flatnonzero(labels == lab)
        rows = rows[np.argsort(-scores[rows], kind="stable")]
        dets.append({"label": lab, "class": NAMES[lab], "boxes": boxes[rows].tolist(),
                     "scores": [float(s) for s in scores[rows]]})
    return {"detections": dets}


def test_final_detections_and_decisions_match(models, tmp_path):
    model, hf, _, _, cfg = models
    # colour rows need CLIP (covered by tests/test_geneval_mmdet_worker.py); the others decide from boxes alone
    rows = [r for r in ROWS[::7] if not any("color" in c for c in r["include"])]
    total = same_box = 0
    worst = 0.0
    above = 0
    for path in _images(tmp_path):
        lo, so, bo = _ours(hf, path)
        lt, st, bt = _theirs(model, path, cfg)
        assert len(lo) == len(lt) == 100
        # mmdet takes topk(sorted=False): compare as sets keyed by (label, rank within label)
        ro, rt = _raw(lo, so, bo), _raw(lt, st, bt)
        assert [d["label"] for d in ro["detections"]] == [d["label"] for d in rt["detections"]]
        for a, b in zip(ro["detections"], rt["detections"]):
            assert len(a["scores"]) == len(b["scores"])
            worst = max(worst, float(np.max(np.abs(np.array(a["scores"]) - np.array(b["scores"])))))
            for ba, bb in zip(a["boxes"], b["boxes"]):
                total += 1
                same_box += ba == bb
                assert np.max(np.abs(np.array(ba) - np.array(bb))) <= 1.0
        above += int((so > 0.3).sum())
        # identical GenEval decisions on a spread of official prompts (thresholds 0.3 / 0.9 and a low one)
        for row in rows:
            it = PromptItem("x", row["prompt"], row["tag"], row)
            for opts in ({}, {"threshold": 0.05, "counting_threshold": 0.05}):
                da, db = R.decide(it, ro, opts), R.decide(it, rt, opts)
                assert (da["correct"], da["reason"]) == (db["correct"], db["reason"])
    print(f"final detections: score max |diff| = {worst:.3g}; identical boxes {same_box}/{total}; "
          f"{above} detections above 0.3 on our side")
    assert worst < SCORE_TOL and same_box / total > 0.97
