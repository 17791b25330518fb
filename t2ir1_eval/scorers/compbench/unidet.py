"""UniDet detections for T2I-CompBench 2D spatial, numeracy and (with depth) 3D spatial.

Two layers:

- *detection sources*, ordinary scorers whose raw output is only the detections:
  ``UniDetScorer`` (the official detector: UniDet on detectron2, normally run in the user's
  detectron2 environment through ``WorkerScorer``), ``JsonDetectionScorer`` (detections a user
  computed elsewhere) and ``SyntheticDetector`` (offline smoke runs: not a model, not comparable).
- ``CompBenchDetectionScorer`` (registry "unidet"): asks a source for detections and adds the
  spaCy parse of the prompt the rules need (tokens; numeracy's object/count lists).

Detections are ``[label name, score, [x_min, y_min, x_max, y_max]]`` in detector order (score
sorted), in the detector's *input* space: the image resized by torchvision's
``Resize(479, max_size=480)`` (a square image becomes 479x479). That is the space the official
rules see, so the 150-px and depth rules apply unchanged.

Score threshold: the official detector keeps every detection scored above **0.1**. Both UniDet
configs use ``UnifiedCascadeROIHeads``, whose inference (UniDet_eval/experts/obj_detection/unidet/
modeling/roi_heads/unified_roi_heads.py) passes a hard-coded 0.1 to ``fast_rcnn_inference``, so
``--confidence-threshold 0.5`` / ``ROI_HEADS.SCORE_THRESH_TEST`` has no effect on these boxes. The
worker runs that code and inherits the 0.1; the JSON source applies it too (a no-op on official
detections) and the synthetic source draws scores from (0.1, 1]. The 2D rule's final "< 0.5 -> 0"
is a different threshold, on the image score, and stays in the rules.

This module imports only the standard library, numpy and PIL at load time: the worker runs it
in a detectron2 environment that may lack transformers and spaCy.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ...context import ScorerContext
from ...errors import BackendUnavailable, ConfigError, DataError
from ...types import Sample
from ..base import Scorer
from .common import load_rgb, resize_short_side, short_side_size

log = logging.getLogger(__name__)

INPUT_SIZE, INPUT_MAX_SIZE = 479, 480
#: the score a detection must exceed to reach the rules: hard-coded in UniDet's cascade ROI heads
EFFECTIVE_SCORE_THRESHOLD = 0.1
CHECKPOINTS = {
    # name: (config under UniDet_eval/experts/obj_detection/configs/, weights under experts/expert_weights/)
    "RS200": ("Unified_learned_OCIM_RS200_6x+2x.yaml", "Unified_learned_OCIM_RS200_6x+2x.pth"),
    "R50": ("Unified_learned_OCIM_R50_6x+2x.yaml", "Unified_learned_OCIM_R50_6x+2x.pth"),
}
SETUP_RECIPE = """UniDet needs detectron2 and the UniDet code of the official T2I-CompBench repository, in their own
Python environment (see docs/t2i_compbench.md, "UniDet environment"):
  python3.10 -m venv ~/venvs/unidet && . ~/venvs/unidet/bin/activate
  pip install torch==1.13.1 torchvision==0.14.1 numpy pillow      # a CUDA build matching your driver
  pip install 'git+https://github.com/facebookresearch/detectron2.git@v0.6'
  git clone https://github.com/Karine-Huang/T2I-CompBench && cd T2I-CompBench/UniDet_eval
  mkdir -p experts/expert_weights && cd experts/expert_weights
  wget https://huggingface.co/shikunl/prismer/resolve/main/expert_weights/Unified_learned_OCIM_RS200_6x%2B2x.pth
  gdown 'https://drive.google.com/uc?id=1C4sgkirmgMumKXXiLOPmCKNTZAc3oVbq'   # Unified_learned_OCIM_R50_6x+2x.pth
then point the harness at it: scorer option detector=worker, python=~/venvs/unidet/bin/python,
unidet_root=/path/to/T2I-CompBench/UniDet_eval (or run UniDet elsewhere and use detector=json)."""


def input_size(width: int, height: int) -> tuple[int, int]:
    """(w, h) of the detector input: torchvision ``Resize(479, max_size=480)``."""
    return short_side_size(width, height, INPUT_SIZE, INPUT_MAX_SIZE)


def read_labels(path: Path) -> list[str]:
    labels = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(labels, list) or len(labels) != 722:
        raise DataError(f"{path}: expected the 722 UniDet class names (a JSON list), found "
                        f"{type(labels).__name__} of length {len(labels) if isinstance(labels, list) else '-'}")
    return [str(x) for x in labels]


def _labels_from(context: ScorerContext, labels_file: str | None) -> list[str]:
    if labels_file:
        return read_labels(Path(labels_file))
    try:
        return read_labels(context.data_file("unidet_labels"))
    except KeyError as exc:
        raise ConfigError(f"UniDet needs its 722 class names: expected the suite data file 'unidet_labels' or the "
                          f"option labels_file, found neither ({exc})") from exc


def detection_record(dets: list[list[Any]], image_wh: tuple[int, int], source: str) -> dict[str, Any]:
    return {"detections": dets, "image_size": list(image_wh), "input_size": list(input_size(*image_wh)),
            "box_space": "input", "detector": source}


# ---------------------------------------------------------------------------------------------- UniDet
class UniDetScorer(Scorer):
    """The official detector, in-process: needs detectron2 + ``UniDet_eval`` (run it as a worker).

    Input quirks kept: PIL ``Resize(479, max_size=480)`` (bilinear), channels reversed to BGR
    although the config says RGB, ``height``/``width`` = the resized size (so boxes stay in
    that space), fp16 autocast on CUDA (accelerate's fp16 upstream). ``confidence_threshold``
    (upstream 0.5) is written into the config as upstream does, but the cascade ROI heads ignore
    it: detections scored above :data:`EFFECTIVE_SCORE_THRESHOLD` (0.1) come out.
    """

    name = "unidet-detector"
    version = "1"
    batch_size = 16

    def __init__(self, context: ScorerContext, unidet_root: str | None = None, checkpoint: str = "RS200",
                 weights: str | None = None, confidence_threshold: float = 0.5, fp16: bool = True,
                 device: str | None = None, labels_file: str | None = None, batch_size: int | None = None) -> None:
        if checkpoint not in CHECKPOINTS:
            raise ConfigError(f"UniDet checkpoint: expected one of {sorted(CHECKPOINTS)}, found {checkpoint!r}")
        self.context = context
        self.checkpoint = checkpoint
        self.confidence_threshold = float(confidence_threshold)
        self.fp16 = bool(fp16)
        self.device_name = device or context.device
        if batch_size:
            self.batch_size = int(batch_size)
        self.labels = _labels_from(context, labels_file)
        self.unidet_root = Path(unidet_root).expanduser() if unidet_root else None
        self.weights = weights
        self._model = self._load_model()

    def _load_model(self) -> Any:
        try:
            import detectron2  # noqa: F401
            import torch  # noqa: F401
        except ImportError as exc:
            raise BackendUnavailable(f"UniDet: detectron2 is not importable here ({exc}).\n{SETUP_RECIPE}") from exc
        root = self.unidet_root
        if root is None or not (root / "experts" / "obj_detection" / "unidet").is_dir():
            raise BackendUnavailable(f"UniDet: option unidet_root must be the official UniDet_eval folder (with "
                                     f"experts/obj_detection/unidet), found {root}.\n{SETUP_RECIPE}")
        config_name, weights_name = CHECKPOINTS[self.checkpoint]
        config = root / "experts" / "obj_detection" / "configs" / config_name
        weights = Path(self.weights) if self.weights else root / "experts" / "expert_weights" / weights_name
        for what, p in (("config", config), ("weights", weights)):
            if not p.exists():
                raise BackendUnavailable(f"UniDet {self.checkpoint}: expected the {what} at {p}, found nothing.\n{SETUP_RECIPE}")
        self.weights_path = weights
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        from detectron2.config import get_cfg
        from detectron2.engine.defaults import DefaultPredictor
        from experts.obj_detection.unidet.config import add_unidet_config  # the official UniDet code

        cfg = get_cfg()
        add_unidet_config(cfg)
        cfg.merge_from_file(str(config))
        cfg.merge_from_list(["MODEL.WEIGHTS", str(weights), "MODEL.DEVICE", self.device_name])
        cfg.MODEL.RETINANET.SCORE_THRESH_TEST = self.confidence_threshold
        cfg.MODEL.ROI_HEADS.SCORE_THRESH_TEST = self.confidence_threshold
        cfg.MODEL.PANOPTIC_FPN.COMBINE.INSTANCES_CONFIDENCE_THRESH = self.confidence_threshold
        cfg.freeze()
        model = DefaultPredictor(cfg).model
        model.eval()
        return model

    @staticmethod
    def model_input(img: Any) -> tuple[np.ndarray, int, int]:
        """float32 CHW **BGR** array of the 479/480-resized image, and its (h, w)."""
        resized = resize_short_side(img, INPUT_SIZE, INPUT_MAX_SIZE, resample="bilinear")
        arr = np.asarray(resized)[:, :, ::-1].astype("float32").transpose(2, 0, 1)
        return np.ascontiguousarray(arr), arr.shape[1], arr.shape[2]

    def _predict(self, batch: list[tuple[Sample, np.ndarray, int, int]]) -> list[list[tuple[list[float], int, float]]]:
        """Per image: [(box, class id, score)] in detector order."""
        import contextlib

        import torch

        inputs = [{"image": torch.as_tensor(a), "height": h, "width": w} for _, a, h, w in batch]
        amp = (torch.autocast("cuda", dtype=torch.float16) if self.fp16 and self.device_name.startswith("cuda")
               else contextlib.nullcontext())
        with torch.no_grad(), amp:
            outputs = self._model(inputs)
        result = []
        for o in outputs:
            inst = o["instances"].to("cpu")
            result.append(list(zip(inst.pred_boxes.tensor.float().tolist(), inst.pred_classes.tolist(),
                                   inst.scores.float().tolist())))
        return result

    def score(self, samples: list[Sample]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = [{} for _ in samples]
        batch = []
        for pos, s in enumerate(samples):
            try:
                img = load_rgb(s.path)
                arr, h, w = self.model_input(img)
            except Exception as exc:
                out[pos] = {"error": f"{type(exc).__name__}: {exc}"}
                continue
            batch.append((pos, img.size, (s, arr, h, w)))
        if batch:
            preds = self._predict([b[2] for b in batch])
            for (pos, size, _), pred in zip(batch, preds):
                dets = [[self.labels[int(c)], float(sc), [float(v) for v in box]] for box, c, sc in pred]
                out[pos] = detection_record(dets, size, f"unidet-{self.checkpoint}")
        return out

    def describe(self) -> dict[str, Any]:
        import torch

        d = {"name": self.name, "version": self.version, "checkpoint": self.checkpoint,
             "weights": str(getattr(self, "weights_path", self.weights)),
             "confidence_threshold": self.confidence_threshold,
             "effective_score_threshold": EFFECTIVE_SCORE_THRESHOLD,
             "threshold_note": "UnifiedCascadeROIHeads passes a hard-coded 0.1 to fast_rcnn_inference; "
                               "confidence_threshold does not reach these boxes",
             "fp16_autocast": self.fp16,
             "input": "PIL Resize(479, max_size=480) bilinear, BGR, height/width = resized size",
             "comparable": True, "torch": torch.__version__}
        try:
            import detectron2

            d["detectron2"] = detectron2.__version__
        except ImportError:  # pragma: no cover - a stand-in subclass
            pass
        return d


# ---------------------------------------------------------------------------------------------- other sources
def _record_from_json(value: Any, where: str) -> tuple[list[list[Any]], str]:
    if isinstance(value, list):
        return value, "input"
    if isinstance(value, dict) and isinstance(value.get("detections"), list):
        space = value.get("box_space", "input")
        if space not in ("input", "original"):
            raise DataError(f"{where}: box_space must be 'input' or 'original', found {space!r}")
        return value["detections"], space
    raise DataError(f"{where}: expected a list of [label, score, [x0, y0, x1, y1]] or {{'detections': [...]}}, "
                    f"found {type(value).__name__}")


class JsonDetectionScorer(Scorer):
    """Detections computed elsewhere: ``detections`` is a folder of ``<image stem>.json`` or one
    JSON file mapping image file names to records.

    A record is a list of ``[label name or class id, score, [x0, y0, x1, y1]]`` in detector order,
    or ``{"detections": [...], "box_space": "input" | "original"}``: "original" boxes (image
    pixels) are scaled into the 479/480 input space the rules expect. Detections scored at or
    below 0.1 are dropped (the official detector never emits them); everything above 0.1 is kept.
    """

    name = "unidet-json"
    version = "1"
    batch_size = 64

    def __init__(self, context: ScorerContext, detections: str, labels_file: str | None = None,
                 checkpoint: str = "unknown") -> None:
        self.source = Path(detections).expanduser()
        if not self.source.exists():
            raise ConfigError(f"detector=json: expected a folder or JSON file of detections at {self.source}, found nothing")
        self._mapping = json.loads(self.source.read_text(encoding="utf-8")) if self.source.is_file() else None
        self.checkpoint = checkpoint
        self._context, self._labels_file, self._labels = context, labels_file, None

    def _label(self, value: Any) -> str:
        if isinstance(value, int):
            if self._labels is None:
                self._labels = _labels_from(self._context, self._labels_file)
            return self._labels[value]
        return str(value)

    def _raw_record(self, path: Path) -> Any:
        if self._mapping is not None:
            if path.name not in self._mapping:
                raise DataError(f"{self.source}: no detections for {path.name!r}")
            return self._mapping[path.name]
        f = self.source / f"{path.stem}.json"
        if not f.exists():
            raise DataError(f"{self.source}: expected {f.name} for image {path.name}, found nothing")
        return json.loads(f.read_text(encoding="utf-8"))

    def score(self, samples: list[Sample]) -> list[dict[str, Any]]:
        out = []
        for s in samples:
            try:
                from PIL import Image

                with Image.open(s.path) as im:
                    size = im.size
                dets, space = _record_from_json(self._raw_record(Path(s.path)), f"{self.source}[{Path(s.path).name}]")
                iw, ih = input_size(*size)
                sx, sy = (iw / size[0], ih / size[1]) if space == "original" else (1.0, 1.0)
                norm = [[self._label(d[0]), float(d[1]),
                         [float(d[2][0]) * sx, float(d[2][1]) * sy, float(d[2][2]) * sx, float(d[2][3]) * sy]]
                        for d in dets if float(d[1]) > EFFECTIVE_SCORE_THRESHOLD]
                record = detection_record(norm, size, f"json:{self.checkpoint}")
                if len(norm) < len(dets):
                    record["dropped_at_or_below_0.1"] = len(dets) - len(norm)
                out.append(record)
            except Exception as exc:
                out.append({"error": f"{type(exc).__name__}: {exc}"})
        return out

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "source": str(self.source), "checkpoint": self.checkpoint,
                "effective_score_threshold": EFFECTIVE_SCORE_THRESHOLD, "comparable": self.checkpoint in CHECKPOINTS}


class SyntheticDetector(Scorer):
    """NOT A MODEL: deterministic pseudo-detections for offline smoke runs (``model_id="tiny"``).

    Seeded by the image bytes; labels drawn from the prompt's nouns and the UniDet names, so
    every rule branch is reached. Its scores mean nothing and ``describe()`` says so.
    """

    name = "synthetic-detector"
    version = "2"  # 2: scores from (0.1, 1], the official detector's range (were [0.5, 1))
    batch_size = 64

    def __init__(self, context: ScorerContext, seed: int = 0, labels_file: str | None = None) -> None:
        self.seed = int(seed)
        try:
            self.labels = _labels_from(context, labels_file)
        except (ConfigError, DataError, OSError):
            self.labels = ["person", "dog", "car", "table"]

    def score(self, samples: list[Sample]) -> list[dict[str, Any]]:
        out = []
        for s in samples:
            try:
                data = Path(s.path).read_bytes()
                img = load_rgb(s.path)
            except Exception as exc:
                out.append({"error": f"{type(exc).__name__}: {exc}"})
                continue
            rng = random.Random(int.from_bytes(hashlib.sha256(data).digest()[:8], "big") ^ self.seed)
            words = [w.strip(".,").lower() for w in s.item.prompt.split() if len(w) > 2]
            pool = words + [rng.choice(self.labels) for _ in range(3)]
            w, h = input_size(*img.size)
            dets = []
            for _ in range(rng.randint(0, 4)):
                x0, y0 = rng.uniform(0, w * 0.7), rng.uniform(0, h * 0.7)
                box = [x0, y0, min(w, x0 + rng.uniform(20, w * 0.5)), min(h, y0 + rng.uniform(20, h * 0.5))]
                # (0.1, 1]: the official detector's effective score range (see EFFECTIVE_SCORE_THRESHOLD)
                score = EFFECTIVE_SCORE_THRESHOLD + (1.0 - EFFECTIVE_SCORE_THRESHOLD) * (1.0 - rng.random())
                dets.append([rng.choice(pool), score, box])
            dets.sort(key=lambda d: -d[1])
            out.append(detection_record(dets, img.size, "synthetic"))
        return out

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "comparable": False,
                "score_range": "(0.1, 1]", "note": "synthetic detections for smoke runs, not a detector"}


# ---------------------------------------------------------------------------------------------- the scorer
#: upstream's detector per category: 2D_spatial_eval.py loads RS200, numeracy and 3D load R50
CATEGORY_CHECKPOINT = {"spatial": "RS200", "complex": "RS200", "numeracy": "R50", "3d_spatial": "R50"}


class CompBenchDetectionScorer(Scorer):
    """Registry "unidet": detections from a source plus the prompt parse the rules read.

    Options: ``detector`` = "worker" (UniDet in another interpreter: ``python``, ``unidet_root``,
    ``weights``, ``target`` to swap the worker class), "inprocess" (UniDet here), "json"
    (``detections``) or "synthetic" (smoke runs; the default when ``model_id="tiny"``).
    ``checkpoint`` = "auto" picks upstream's per category (RS200 for spatial and complex, R50
    for numeracy and 3D), starting one detector per checkpoint on first use.
    """

    name = "unidet"
    version = "1"
    batch_size = 16

    def __init__(self, context: ScorerContext, detector: str | None = None, model_id: str | None = None,
                 checkpoint: str = "auto", python: str | None = None, target: str | None = None,
                 unidet_root: str | None = None, weights: str | None = None, detections: str | None = None,
                 confidence_threshold: float = 0.5, fp16: bool = True, spacy_model: str | None = None,
                 prompt_source: str = "filename", batch_size: int | None = None, seed: int = 0,
                 worker_options: dict[str, Any] | None = None) -> None:
        self.context = context
        self.detector = detector or ("synthetic" if model_id == "tiny" else "worker")
        if checkpoint != "auto" and checkpoint not in CHECKPOINTS:
            raise ConfigError(f"{self.name}: checkpoint must be auto, {' or '.join(CHECKPOINTS)}, found {checkpoint!r}")
        self.checkpoint = checkpoint
        self.spacy_model = spacy_model
        self.prompt_source = prompt_source
        if batch_size:
            self.batch_size = int(batch_size)
        if self.detector == "worker" and not python:
            raise ConfigError(f"{self.name}: detector=worker needs option python=<the detectron2 environment's "
                              f"python>.\n{SETUP_RECIPE}")
        if self.detector == "json" and not detections:
            raise ConfigError(f"{self.name}: detector=json needs option detections=<folder or JSON file>")
        if self.detector not in ("worker", "inprocess", "json", "synthetic"):
            raise ConfigError(f"{self.name}: detector must be worker, inprocess, json or synthetic, found {self.detector!r}")
        self._settings = {"python": python, "target": target, "detections": detections, "seed": seed,
                          "worker_options": worker_options or {},
                          "unidet": {"unidet_root": unidet_root, "weights": weights,
                                     "confidence_threshold": confidence_threshold, "fp16": fp16}}
        self.sources: dict[str, Scorer] = {}
        if self.detector in ("worker", "inprocess") and checkpoint != "auto":
            self._source(checkpoint)  # fail early on a broken setup
        self._nlp: Any = None
        self._new_objects: tuple[list[str], list[str]] | None = None

    def checkpoint_for(self, sample: Sample) -> str:
        if self.checkpoint != "auto":
            return self.checkpoint
        return CATEGORY_CHECKPOINT.get(sample.item.category, "RS200")

    def _source(self, checkpoint: str) -> Scorer:
        key = checkpoint if self.detector in ("worker", "inprocess") else self.detector
        if key in self.sources:
            return self.sources[key]
        st = self._settings
        unidet_opts = {k: v for k, v in {**st["unidet"], "checkpoint": checkpoint}.items() if v is not None}
        if self.detector == "worker":
            from ..worker import WorkerScorer

            src: Scorer = WorkerScorer(self.context, python=st["python"], target=st["target"] or f"{__name__}:UniDetScorer",
                                       data_keys=["unidet_labels"], batch_size=self.batch_size, **unidet_opts,
                                       **st["worker_options"])
        elif self.detector == "inprocess":
            src = UniDetScorer(self.context, **unidet_opts)
        elif self.detector == "json":
            src = JsonDetectionScorer(self.context, st["detections"], checkpoint=self.checkpoint)
        else:
            src = SyntheticDetector(self.context, seed=st["seed"])
        self.sources[key] = src
        return src

    def detect(self, samples: list[Sample]) -> list[dict[str, Any]]:
        """Detection records in sample order, one source per checkpoint."""
        raws: list[dict[str, Any]] = [{} for _ in samples]
        groups: dict[str, list[int]] = {}
        for i, s in enumerate(samples):
            groups.setdefault(self.checkpoint_for(s), []).append(i)
        for ckpt, idx in groups.items():
            for i, raw in zip(idx, self._source(ckpt).score([samples[i] for i in idx])):
                raws[i] = raw
        return raws

    def _parse(self, sample: Sample) -> dict[str, Any]:
        from ...rules.t2i_compbench import numeracy_targets, read_new_objects
        from . import nlp
        from .common import prompt_for

        if self._nlp is None:
            self._nlp = nlp.load_spacy(self.spacy_model)
        prompt = prompt_for(sample, self.prompt_source)
        doc = self._nlp(prompt)
        parsed: dict[str, Any] = {"prompt": prompt, "tokens": nlp.tokens(doc)}
        if sample.item.category == "numeracy":
            if self._new_objects is None:
                self._new_objects = read_new_objects(self.context.data_file("new_objects").read_text(encoding="utf-8"))
            parsed["numeracy"] = numeracy_targets(parsed["tokens"], *self._new_objects)
        return parsed

    def score(self, samples: list[Sample]) -> list[dict[str, Any]]:
        raws = self.detect(samples)
        out = []
        for s, raw in zip(samples, raws):
            if "error" in raw:
                out.append(raw)
                continue
            try:
                out.append({**raw, **self._parse(s)})
            except Exception as exc:
                out.append({"error": f"{type(exc).__name__}: {exc}"})
        return out

    def describe(self) -> dict[str, Any]:
        from . import nlp

        if self._nlp is None:
            self._nlp = nlp.load_spacy(self.spacy_model)
        if not self.sources:
            self._source(self.checkpoint if self.checkpoint != "auto" else "RS200")
        srcs = {key: src.describe() for key, src in self.sources.items()}
        return {"name": self.name, "version": self.version, "detector": self.detector, "checkpoint": self.checkpoint,
                "checkpoint_by_category": CATEGORY_CHECKPOINT if self.checkpoint == "auto" else None,
                "sources": srcs, "comparable": all(bool(d.get("comparable", False)) for d in srcs.values()),
                "prompt_source": self.prompt_source, "spacy": nlp.spacy_provenance(self._nlp)}

    def close(self) -> None:
        for src in self.sources.values():
            src.close()
