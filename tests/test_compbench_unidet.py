"""UniDet through the real worker protocol (a real subprocess) with a stand-in detector, the JSON
source, the synthetic smoke detector, and the missing-detectron2 error."""

from __future__ import annotations

import json
import os
import sys

import pytest

from t2ir1_eval.errors import BackendUnavailable
from t2ir1_eval.rules import t2i_compbench as R
from t2ir1_eval.scorers.compbench.unidet import (
    CompBenchDetectionScorer,
    UniDetScorer,
    input_size,
    read_labels,
)

from standins.compbench_helpers import DATA_KEYS, context, write_images


@pytest.fixture(scope="module")
def labels(data_dir):
    return read_labels(data_dir / DATA_KEYS["unidet_labels"])


def solid(path, size, rgb):
    from PIL import Image

    Image.new("RGB", size, rgb).save(path)


def test_input_size_matches_torchvision_resize_479_max_480():
    assert input_size(384, 384) == (479, 479)
    assert input_size(1024, 1024) == (479, 479)
    assert input_size(96, 64) == (480, 320)  # long side capped at 480
    assert input_size(500, 520) == (461, 480)  # int(479 * 520 / 500) = 498 > 480 -> short = int(480 * 479 / 498)
    assert input_size(600, 479) == (480, 383)


def test_worker_subprocess_with_standin(data_dir, tmp_path, labels):
    samples = write_images(tmp_path, "spatial", ["a dog on the left of a cat", "a girl next to a chair"])
    samples += write_images(tmp_path, "numeracy", ["two dogs and one cat"], size=(96, 64))
    for s, size in zip(samples, [(64, 64), (64, 64), (96, 64)]):
        solid(s.path, size, (255, 0, 0))  # pure red: the detector must receive BGR (0, 0, 255)
    dog, cat, person, chair = (labels.index(n) for n in ("dog", "cat", "person", "chair"))
    dets = {
        samples[0].path.name: [[cat, 0.9, [300, 0, 400, 100]], [dog, 0.8, [0, 0, 100, 100]]],
        samples[1].path.name: [[person, 0.95, [0, 0, 100, 100]], [chair, 0.6, [120, 0, 200, 100]]],
        samples[2].path.name: [[dog, 0.9, [0, 0, 50, 50]], [dog, 0.85, [1, 1, 50, 50]], [dog, 0.8, [200, 0, 260, 60]],
                               [cat, 0.7, [300, 0, 360, 60]]],
    }
    det_file = tmp_path / "standin.json"
    det_file.write_text(json.dumps(dets))
    scorer = CompBenchDetectionScorer(
        context(data_dir, tmp_path), detector="worker", python=sys.executable,
        target="tests.standins.unidet_standin:UniDetStandIn", worker_options={"detections_file": str(det_file)})
    try:
        raws = scorer.score(samples)
        desc = scorer.describe()
    finally:
        scorer.close()
    # checkpoint=auto: one worker per upstream checkpoint (RS200 for spatial, R50 for numeracy)
    assert set(scorer.sources) == {"RS200", "R50"}
    pids = {w.info["pid"] for w in scorer.sources.values()}
    assert len(pids) == 2 and os.getpid() not in pids  # real subprocesses answered init
    assert all(w._proc.poll() is not None for w in scorer.sources.values())  # and exited on close
    assert desc["detector"] == "worker" and desc["sources"]["R50"]["checkpoint"] == "R50"
    assert desc["sources"]["RS200"]["worker"]["target"].endswith("UniDetStandIn")
    assert desc["comparable"] is False and desc["spacy"]["model_version"]

    r0, r1, r2 = raws
    assert r0["detections"][0] == ["cat", 0.9, [300.0, 0.0, 400.0, 100.0]]  # ids -> names, order kept
    assert r0["input_size"] == [479, 479] and r0["image_size"] == [64, 64] and r0["box_space"] == "input"
    assert r0["standin_input"]["shape"] == [3, 479, 479] and r0["standin_input"]["dtype"] == "float32"
    assert r0["standin_input"]["first_pixel"] == [0.0, 0.0, 255.0]  # BGR quirk
    assert r2["standin_input"]["shape"] == [3, 320, 480] and r2["input_size"] == [480, 320]
    assert [t[0] for t in r0["tokens"]][:2] == ["a", "dog"] and r0["prompt"] == "a dog on the left of a cat"

    d0 = R.decide(samples[0].item, r0, {})
    assert d0["score"] == pytest.approx(0.25 * 0.8 + 0.25 * 0.9 + 0.5)
    d1 = R.decide(samples[1].item, r1, {})
    assert d1["objects"] == ["person", "chair"] and d1["score"] == pytest.approx(0.25 * 0.95 + 0.25 * 0.6 + 0.5)
    assert r2["numeracy"] == {"objects": ["dog", "cat"], "counts": [2, 1], "notes": []}
    d2 = R.decide(samples[2].item, r2, {})
    assert d2["detected_counts"] == [2, 1] and d2["score"] == 1.0  # the 0.9-overlap duplicate dog is merged
    assert "table" not in labels  # so 'a ... table' prompts can never match both objects in 2D (exact match)


def test_worker_reports_backend_errors(data_dir, tmp_path):
    from t2ir1_eval.scorers.worker import WorkerError

    with pytest.raises(WorkerError, match="detections_file|No such file"):
        CompBenchDetectionScorer(context(data_dir, tmp_path), detector="worker", python=sys.executable, checkpoint="R50",
                                 target="tests.standins.unidet_standin:UniDetStandIn",
                                 worker_options={"detections_file": str(tmp_path / "missing.json")})


def test_unidet_without_detectron2_explains_setup(data_dir, tmp_path):
    pytest.importorskip("torch")
    try:
        import detectron2  # noqa: F401
        pytest.skip("detectron2 is installed here")
    except ImportError:
        pass
    with pytest.raises(BackendUnavailable, match="detectron2") as exc:
        UniDetScorer(context(data_dir, tmp_path), unidet_root=str(tmp_path))
    assert "Unified_learned_OCIM_RS200" in str(exc.value) and "unidet_root" in str(exc.value)


def test_json_detections_folder_with_original_space(data_dir, tmp_path, labels):
    samples = write_images(tmp_path, "spatial", ["a dog next to a cat"], size=(96, 64))
    folder = tmp_path / "dets"
    folder.mkdir()
    rec = {"box_space": "original", "detections": [["dog", 0.9, [0, 0, 48, 32]], [labels.index("cat"), 0.8, [48, 32, 96, 64]]]}
    (folder / f"{samples[0].path.stem}.json").write_text(json.dumps(rec))
    scorer = CompBenchDetectionScorer(context(data_dir, tmp_path), detector="json", detections=str(folder),
                                      checkpoint="RS200")
    raw = scorer.score(samples)[0]
    assert raw["detections"] == [["dog", 0.9, [0.0, 0.0, 240.0, 160.0]], ["cat", 0.8, [240.0, 160.0, 480.0, 320.0]]]
    assert scorer.describe()["comparable"] is True
    missing = write_images(tmp_path, "spatial", ["a cow near a cat"])
    assert "error" in scorer.score(missing)[0]


def test_synthetic_detector_is_deterministic_and_labelled(data_dir, tmp_path):
    samples = write_images(tmp_path, "spatial", ["a dog on the left of a cat", "a cow near a horse"], per_prompt=3)
    scorer = CompBenchDetectionScorer(context(data_dir, tmp_path), model_id="tiny")
    a, b = scorer.score(samples), scorer.score(samples)
    assert a == b and scorer.describe()["comparable"] is False
    for raw in a:
        scores = [d[1] for d in raw["detections"]]
        assert scores == sorted(scores, reverse=True) and all(0.1 < s <= 1 for s in scores)
        assert R.decide(samples[0].item, raw, {})["failed"] is False
    # the official detector's range reaches down to 0.1, and so do the smoke detections
    many = write_images(tmp_path / "many", "spatial", ["a dog on the left of a cat"], per_prompt=40)
    low = [d[1] for raw in scorer.score(many) for d in raw["detections"]]
    assert any(0.1 < s < 0.5 for s in low) and all(0.1 < s <= 1 for s in low)
    sources = scorer.describe()["sources"].values()
    assert sources and all(src["score_range"] == "(0.1, 1]" for src in sources)


def test_json_detections_keep_everything_above_0_1(data_dir, tmp_path, labels):
    # UniDet's cascade ROI heads keep scores > 0.1 whatever --confidence-threshold says
    samples = write_images(tmp_path, "spatial", ["a dog next to a cat"], size=(96, 64))
    rec = [["dog", 0.45, [0, 0, 40, 40]], ["cat", 0.3, [60, 0, 100, 40]], ["cat", 0.1, [0, 0, 9, 9]],
           ["dog", 0.05, [0, 0, 9, 9]]]
    (tmp_path / "dets.json").write_text(json.dumps({samples[0].path.name: rec}))
    scorer = CompBenchDetectionScorer(context(data_dir, tmp_path), detector="json", detections=str(tmp_path / "dets.json"),
                                      checkpoint="RS200")
    raw = scorer.score(samples)[0]
    assert [d[:2] for d in raw["detections"]] == [["dog", 0.45], ["cat", 0.3]]
    assert raw["dropped_at_or_below_0.1"] == 2
    d = R.decide(samples[0].item, raw, {})
    assert d["score"] == 0.25 * 0.45 + 0.25 * 0.3 + 1 / 2  # both found, next to: pos 1
