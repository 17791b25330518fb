"""GenEval scorer: images -> raw detections (+ CLIP colour logits). Decisions come from
``t2ir1_eval.rules.geneval.decide``; the raw schema is in docs/raw_outputs/geneval.md.

Backends:
* ``mask2former`` (default): transformers Mask2Former carrying the official mmdet weights
  (converted by our key mapping), official pre/post-processing, batched.
* ``mmdet``: the official mmdet model itself, in-process (needs mmdet 3.3 + mmcv 2.1), or in a
  worker process under another interpreter (``mmdet_python=/path/to/venv/bin/python``).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps
from tqdm import tqdm

from ...context import ScorerContext
from ...errors import ConfigError, ImageError
from ...rules import geneval as rules
from ...types import Sample
from ..base import Scorer
from .colour import object_crop

log = logging.getLogger(__name__)

BACKENDS = ("mask2former", "mmdet", "synthetic")
#: open_clip ViT-L-14 pretrained="openai" = these weights
DEFAULT_CLIP = "openai/clip-vit-large-patch14"


def read_class_names(path: Path) -> list[str]:
    names = [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(names) != 80:
        raise ConfigError(f"{path}: expected the 80 COCO class names of GenEval's object_names.txt, found {len(names)}")
    return names


def load_image(path: Path) -> Image.Image:
    """As the official: ``ImageOps.exif_transpose(Image.open(path))``, as RGB."""
    try:
        with Image.open(path) as im:
            return ImageOps.exif_transpose(im).convert("RGB")
    except (OSError, ValueError) as exc:
        raise ImageError(f"cannot read image {path}: expected a PNG, found {type(exc).__name__}: {exc}") from exc


def colour_targets(metadata: dict[str, Any]) -> list[str]:
    """Classes whose colour the rules may ask for (include clauses with a colour)."""
    out: list[str] = []
    for clause in metadata.get("include", []):
        if "color" in clause and clause["class"] not in out:
            out.append(clause["class"])
    return out


class GenEvalScorer(Scorer):
    name = "geneval"
    version = "1"

    def __init__(
        self,
        context: ScorerContext,
        backend: str = "mask2former",
        model_id: str | None = None,
        clip_model_id: str | None = None,
        batch_size: int = 8,
        device: str | None = None,
        dtype: str = "float32",
        max_per_image: int = 100,
        colour_top_k: int = 16,
        colour_min_score: float = 0.0,
        bgcolor: str = "#999",
        crop: str | int | bool = "1",
        pipeline: str = "mmdet2",
        resize_backend: str = "auto",
        clip_amp: bool = True,
        clip_batch_size: int = 64,
        test_scale: tuple[int, int] | list[int] = (1333, 800),
        mmdet_python: str | None = None,
        mmdet_config: str | None = None,
        show_progress: bool = False,
        **official_options: Any,
    ) -> None:
        if clip_model_id is None:  # the tiny convention covers both models
            clip_model_id = "tiny" if model_id == "tiny" else DEFAULT_CLIP
        if backend not in BACKENDS:
            raise ConfigError(f"GenEval backend: expected one of {BACKENDS}, found {backend!r}")
        self.context = context
        self.backend = backend
        self.batch_size = int(batch_size)
        self.device = torch.device(device or context.device or "cpu")
        self.max_per_image = int(max_per_image)
        self.colour_top_k = int(colour_top_k)
        self.colour_min_score = float(colour_min_score)
        # the official --options names: model (checkpoint name), clip_model (open_clip arch), bgcolor, crop
        if "clip_model" in official_options:
            from .colour import OPEN_CLIP_TO_HF

            arch = official_options.pop("clip_model")
            clip_model_id = OPEN_CLIP_TO_HF.get(arch, arch)
        if "model" in official_options and model_id is None:
            model_id = official_options.pop("model")
        self.bgcolor = str(official_options.pop("bgcolor", bgcolor))
        self.crop = str(official_options.pop("crop", crop)).lower() in {"1", "true"}
        self.rule_options = rules.resolve_options(official_options)
        unknown = sorted(k for k in official_options if rules.ALIASES.get(k, k) not in rules.DEFAULT_OPTIONS)
        if unknown:
            raise ConfigError(f"GenEval scorer: unknown options {unknown}; official options are "
                              f"{sorted(rules.DEFAULT_OPTIONS)} + model, clip_model, bgcolor, crop")
        self.pipeline = pipeline
        self.test_scale = (int(test_scale[0]), int(test_scale[1]))
        self.show_progress = show_progress
        self.class_names = read_class_names(context.data_file("object_names"))
        self.class_index = {n: i for i, n in enumerate(self.class_names)}
        self._worker = None
        self.timings: dict[str, float] = defaultdict(float)

        if backend == "synthetic":  # smoke runs only: seeded pseudo-detections, labelled as such
            from .synthetic import SyntheticGenEvalDetector

            self._worker = SyntheticGenEvalDetector(context, self.class_names)
            return
        if backend == "mmdet" and mmdet_python:
            # everything (detector and CLIP) runs in the other interpreter
            from ..worker import WorkerScorer

            # (WorkerScorer keeps batch_size for itself; the mmdet backend runs image by image anyway)
            opts = dict(backend="mmdet", model_id=model_id, clip_model_id=clip_model_id,
                        device=str(self.device), dtype=dtype, max_per_image=max_per_image, colour_top_k=colour_top_k,
                        colour_min_score=colour_min_score, bgcolor=self.bgcolor, crop="1" if self.crop else "0",
                        clip_amp=clip_amp, clip_batch_size=clip_batch_size, mmdet_config=mmdet_config,
                        test_scale=list(self.test_scale), **self.rule_options)
            self._worker = WorkerScorer(context, python=mmdet_python, target=f"{__name__}:GenEvalScorer",
                                        data_keys=["object_names"], batch_size=self.batch_size, **opts)
            return

        from ...models.clip import load_clip
        from .colour import ColourClassifier

        if backend == "mask2former":
            from . import mask2former as m2f

            dtypes = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
            if dtype not in dtypes:
                raise ConfigError(f"GenEval detector dtype: expected one of {sorted(dtypes)}, found {dtype!r}")
            torch_dtype = dtypes[dtype]
            self.detector, self.detector_info = m2f.load_detector(model_id, self.device, torch_dtype, context.cache_dir)
            self.resize_backend = m2f.default_resize_backend() if resize_backend == "auto" else resize_backend
        else:
            from .mmdet_backend import MmdetDetector

            self.detector = MmdetDetector(model_id, mmdet_config, self.device, context.cache_dir, self.test_scale)
            self.detector_info = self.detector.describe()
            self.resize_backend = "mmcv (cv2)"
        self.clip = load_clip(clip_model_id, self.device, "float32", cache_dir=None)
        self.colour = ColourClassifier(self.clip, bgcolor=self.bgcolor, crop=self.crop,
                                       amp=clip_amp and self.device.type == "cuda", batch_size=clip_batch_size)
        self.clip_amp = clip_amp and self.device.type == "cuda"

    # ------------------------------------------------------------------ scoring
    def score(self, samples: list[Sample]) -> list[dict[str, Any]]:
        if self._worker is not None:
            return self._worker.score(samples)
        results: list[dict[str, Any] | None] = [None] * len(samples)
        images: dict[int, Image.Image] = {}
        t0 = time.perf_counter()

        def _load(i: int) -> tuple[int, Image.Image | str]:
            try:
                return i, load_image(Path(samples[i].path))
            except ImageError as exc:
                return i, str(exc)

        # PNG decoding releases the GIL: a few threads keep the GPU fed
        with ThreadPoolExecutor(max_workers=min(4, max(1, len(samples)))) as pool:
            for i, got in pool.map(_load, range(len(samples))):
                if isinstance(got, str):
                    results[i] = {"error": got}
                else:
                    images[i] = got
        self.timings["load"] += time.perf_counter() - t0
        instances = self._detect(images)
        t0 = time.perf_counter()
        # colour: crops for the top colour_top_k objects of each colour clause's class, all images at once
        crops, owners = [], []
        for i, inst in instances.items():
            wanted: list[tuple[int, str]] = []
            for classname in colour_targets(samples[i].item.metadata):
                if classname not in self.class_index:
                    results[i] = {"error": f"prompt {samples[i].item.prompt_id}: class {classname!r} is not in "
                                           f"object_names.txt"}
                    continue
                rows = self._rows_of(inst, self.class_index[classname])[: self.colour_top_k]
                wanted += [(r, classname) for r in rows if float(inst["scores"][r]) > self.colour_min_score]
            if not wanted:
                continue
            masks = inst["masks"]
            idx = [r for r, _ in wanted]
            # one device -> host copy per image, only of the masks that are cropped
            sel = masks[torch.as_tensor(idx, device=masks.device)].cpu().numpy() if isinstance(masks, torch.Tensor) \
                else np.asarray(masks)[idx]
            for (r, classname), mask in zip(wanted, sel):
                crops.append(object_crop(images[i], inst["boxes"][r], mask, self.bgcolor, self.crop))
                owners.append((i, r, classname))
        logits = self.colour.logits(crops, [o[2] for o in owners]) if crops else []
        colour_of: dict[tuple[int, int], list[float]] = {(i, r): lg for (i, r, _), lg in zip(owners, logits)}
        self.timings["colour"] += time.perf_counter() - t0
        for i, inst in instances.items():
            if results[i] is None:
                results[i] = self._raw(images[i], inst, {r: v for (j, r), v in colour_of.items() if j == i})
        return [r if r is not None else {"error": "not scored"} for r in results]

    def _detect(self, images: dict[int, Image.Image]) -> dict[int, dict[str, Any]]:
        """Per image: labels, scores (float32 numpy), boxes, masks (bool, on CPU)."""
        t0 = time.perf_counter()
        out: dict[int, dict[str, Any]] = {}
        if self.backend == "mmdet":
            for i, im in images.items():
                out[i] = self.detector.detect(im)
            self.timings["detect"] += time.perf_counter() - t0
            return out
        from . import mask2former as m2f

        prepared = {i: m2f.preprocess(im, self.test_scale, self.pipeline, self.resize_backend, self.device)
                    for i, im in images.items()}
        self.timings["preprocess"] += time.perf_counter() - t0
        t1 = time.perf_counter()
        groups: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i, p in prepared.items():
            groups[p.pad_size].append(i)
        bar = tqdm(total=len(prepared), desc="geneval detect", unit="img", disable=not self.show_progress)
        for idx in groups.values():
            for start in range(0, len(idx), self.batch_size):
                chunk = idx[start:start + self.batch_size]
                for i, inst in zip(chunk, m2f.detect(self.detector, [prepared[i] for i in chunk], self.max_per_image)):
                    out[i] = {
                        "labels": inst.labels.cpu().numpy(),
                        "scores": inst.scores.float().cpu().numpy().astype(np.float32),
                        "boxes": inst.boxes.float().cpu().numpy().astype(np.float32),
                        "masks": inst.masks,  # stays on the device until the crops are cut
                    }
                bar.update(len(chunk))
        bar.close()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.timings["detect"] += time.perf_counter() - t1
        return out

    @staticmethod
    def _rows_of(inst: dict[str, Any], label: int) -> list[int]:
        """Rows of one class, most confident first (ties: later row first, as the rules order)."""
        rows = [int(r) for r in np.flatnonzero(inst["labels"] == label)]
        return sorted(rows, key=lambda r: (-float(inst["scores"][r]), -r))

    def _raw(self, image: Image.Image, inst: dict[str, Any], colours: dict[int, list[float]]) -> dict[str, Any]:
        by_label: dict[int, list[int]] = defaultdict(list)
        for r, lab in enumerate(inst["labels"]):
            by_label[int(lab)].append(r)
        detections = []
        for lab in sorted(by_label):
            rows = by_label[lab]
            entry: dict[str, Any] = {
                "label": lab,
                "class": self.class_names[lab],
                # float32 values widened to float: exact, so the rules see the detector's float32
                "boxes": [[float(v) for v in inst["boxes"][r]] for r in rows],
                "scores": [float(inst["scores"][r]) for r in rows],
            }
            if any(r in colours for r in rows):
                entry["colour_logits"] = [colours.get(r) for r in rows]
            detections.append(entry)
        return {
            "backend": self.backend,
            "image_size": [image.size[0], image.size[1]],
            "max_per_image": self.max_per_image,
            "colour_top_k": self.colour_top_k,
            "colour_min_score": self.colour_min_score,
            "detections": detections,
        }

    # ------------------------------------------------------------------ provenance
    def describe(self) -> dict[str, Any]:
        if self._worker is not None:
            return self._worker.describe()
        import transformers

        from .colour import TEMPLATES

        det = dict(self.detector_info)
        comparable = bool(det.get("comparable", True)) and bool(self.clip.describe()["comparable"])
        return {
            "scorer": self.name,
            "version": self.version,
            "backend": self.backend,
            "detector": det,
            "preprocessing": {"test_scale": list(self.test_scale), "pad_divisor": 32, "pipeline": self.pipeline,
                              "resize": self.resize_backend, "normalise": "ImageNet mean/std (RGB)"},
            "postprocessing": {"max_per_image": self.max_per_image, "mask": "logit > 0",
                               "score": "class prob x mean mask prob", "box": "tight box of the mask (+1 on x2, y2)"},
            "colour": {"clip": self.clip.describe(), "templates": list(TEMPLATES), "colours": list(rules.COLORS),
                "bgcolor": self.bgcolor, "crop": self.crop, "fp16_autocast": self.clip_amp,
                "top_k_per_class": self.colour_top_k, "min_score": self.colour_min_score},
            "rules": {**self.rule_options, "mode": "official"},
            "libraries": {"torch": torch.__version__, "transformers": transformers.__version__},
            "device": str(self.device),
            "comparable": comparable,
        }

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None
        for attr in ("detector", "clip", "colour"):
            if hasattr(self, attr):
                delattr(self, attr)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
