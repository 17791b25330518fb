"""GenEval's detector in transformers: Mask2Former Swin-S (mmdet COCO-instance weights) with the
official mmdet test-time pre-processing and instance post-processing.

Official pipeline (mmdet 2.x, config mask2former_swin-s-p4-w7-224_lsj_8x2_50e_coco.py):
  load (RGB, uint8) -> keep-ratio resize to scale (1333, 800), bilinear (cv2) on uint8 -> pad
  to a multiple of 32 with 128 -> normalise with ImageNet mean/std (``pipeline="mmdet2"``).
  ``pipeline="mmdet3"`` is mmdet 3.x's test pipeline instead (image loaded as float32 and
  resized without rounding, normalised, then padded with 0) -> 
  model -> mask logits upsampled (bilinear) to the padded size, cropped to the resized size,
  upsampled to the original size -> softmax over 81 classes, drop no-object -> top 100
  (query, class) pairs -> binary mask = logit > 0, score = class prob x mean sigmoid inside the
  mask, box = tight box of the mask [x1, y1, x2 + 1, y2 + 1].
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ...errors import BackendUnavailable, ConfigError
from ...io import sha256_file
from ...registry import TINY_MODELS
# the checkpoint conversion (keys + config) sits below the detector; geneval_config is re-exported
from .convert_mmdet import CONVERTER_VERSION, check_against, convert_state_dict, geneval_config, load_mmdet_state_dict

log = logging.getLogger(__name__)

#: the checkpoint GenEval's download_models.sh fetches (mmdet 2.x, COCO instance)
OFFICIAL_CHECKPOINT = "mask2former_swin-s-p4-w7-224_lsj_8x2_50e_coco"
OFFICIAL_CHECKPOINT_URL = ("https://download.openmmlab.com/mmdetection/v2.0/mask2former/"
                           "mask2former_swin-s-p4-w7-224_lsj_8x2_50e_coco/"
                           "mask2former_swin-s-p4-w7-224_lsj_8x2_50e_coco_20220504_001756-743b7d99.pth")
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)
TEST_SCALE = (1333, 800)
PAD_DIVISOR = 32
PIPELINES = ("mmdet2", "mmdet3")


# ----------------------------------------------------------------------------- pre-processing
@dataclass
class Prepared:
    """One image after the official test pipeline, before batching."""

    pixels: torch.Tensor  # float32 [3, Hp, Wp], normalised, padded
    ori_size: tuple[int, int]  # (h, w) of the file
    img_size: tuple[int, int]  # (h, w) after the keep-ratio resize
    pad_size: tuple[int, int]  # (h, w) after padding


def rescale_size(w: int, h: int, scale: tuple[int, int] = TEST_SCALE) -> tuple[int, int]:
    """mmcv.rescale_size: the largest size within ``scale`` keeping the ratio; (new_w, new_h)."""
    long_edge, short_edge = max(scale), min(scale)
    factor = min(long_edge / max(h, w), short_edge / min(h, w))
    return int(w * float(factor) + 0.5), int(h * float(factor) + 0.5)


def _resize(img: np.ndarray, new_w: int, new_h: int, backend: str, device: torch.device) -> torch.Tensor:
    """Bilinear resize as mmcv.imresize (cv2.INTER_LINEAR) -> float32 [3, h, w] on ``device``.

    A uint8 image is rounded back to uint8 values (mmdet 2.x resizes the uint8 image); a float32
    one is not (mmdet 3.x loads as float32). The torch fallback runs on ``device``.
    """
    if (img.shape[1], img.shape[0]) == (new_w, new_h):
        out = torch.from_numpy(np.ascontiguousarray(img)).to(device)
    elif backend == "cv2":
        import cv2  # optional: the exact routine mmcv.imresize calls

        out = torch.from_numpy(cv2.resize(img, (new_w, new_h), interpolation=cv2.INTER_LINEAR)).to(device)
    else:
        t = torch.from_numpy(np.ascontiguousarray(img)).to(device).permute(2, 0, 1)[None].float()
        t = F.interpolate(t, size=(new_h, new_w), mode="bilinear", align_corners=False, antialias=False)[0]
        return t.round().clamp(0, 255) if img.dtype == np.uint8 else t
    return out.permute(2, 0, 1).float()


def default_resize_backend() -> str:
    try:
        import cv2  # noqa: F401
    except ImportError:
        return "torch"
    return "cv2"


def preprocess(image: Any, scale: tuple[int, int] = TEST_SCALE, pipeline: str = "mmdet2",
               resize_backend: str = "torch", device: str | torch.device = "cpu") -> Prepared:
    """The official test pipeline on one RGB PIL image (already EXIF-transposed)."""
    if pipeline not in PIPELINES:
        raise ConfigError(f"GenEval pipeline: expected one of {PIPELINES}, found {pipeline!r}")
    device = torch.device(device)
    rgb = np.array(image.convert("RGB"), dtype=np.uint8)  # a writable copy for torch.from_numpy
    if pipeline == "mmdet3":
        rgb = rgb.astype(np.float32)  # LoadImageFromFile(to_float32=True) in the 3.x config
    h, w = rgb.shape[:2]
    new_w, new_h = rescale_size(w, h, scale)
    x = _resize(rgb, new_w, new_h, resize_backend, device)
    ph = int(np.ceil(new_h / PAD_DIVISOR) * PAD_DIVISOR)
    pw = int(np.ceil(new_w / PAD_DIVISOR) * PAD_DIVISOR)
    mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float32, device=device)[:, None, None]
    # mmcv.imnormalize multiplies by 1/std (computed in float64), it does not divide
    stdinv = (1.0 / torch.tensor(IMAGENET_STD, dtype=torch.float64)).float().to(device)[:, None, None]
    if pipeline == "mmdet2":
        canvas = torch.full((3, ph, pw), 128.0, device=device)
        canvas[:, :new_h, :new_w] = x
        out = (canvas - mean) * stdinv
    else:
        out = torch.zeros((3, ph, pw), device=device)
        out[:, :new_h, :new_w] = (x - mean) * stdinv
    return Prepared(out, (h, w), (new_h, new_w), (ph, pw))


# ----------------------------------------------------------------------------- post-processing
@dataclass
class Instances:
    """Detections of one image, top ``max_per_image`` (query, class) pairs, score-descending."""

    labels: torch.Tensor  # int64 [N]
    scores: torch.Tensor  # float32 [N]
    boxes: torch.Tensor  # float32 [N, 4], x1 y1 x2 y2 in original pixels (x2, y2 exclusive)
    masks: torch.Tensor  # bool [N, H, W] at the original size
    queries: torch.Tensor  # int64 [N], the query each pair came from


def mask_to_box(masks: torch.Tensor) -> torch.Tensor:
    """mmdet ``mask2bbox``: [x_min, y_min, x_max + 1, y_max + 1]; an empty mask gives zeros."""
    n, h, w = masks.shape
    x_any = masks.any(dim=1)  # [N, W]
    y_any = masks.any(dim=2)  # [N, H]
    x1 = x_any.float().argmax(dim=1)
    y1 = y_any.float().argmax(dim=1)
    x2 = w - x_any.flip(1).float().argmax(dim=1)
    y2 = h - y_any.flip(1).float().argmax(dim=1)
    boxes = torch.stack([x1, y1, x2, y2], dim=1).float()
    empty = ~(x_any.any(dim=1) & y_any.any(dim=1))
    boxes[empty] = 0
    return boxes


def upsample_masks(mask_logits: torch.Tensor, prepared: Prepared) -> torch.Tensor:
    """[Q, h/4, w/4] logits -> [Q, H, W] at the original size, as mmdet 2.x does it."""
    m = F.interpolate(mask_logits[None], size=prepared.pad_size, mode="bilinear", align_corners=False)[0]
    m = m[:, : prepared.img_size[0], : prepared.img_size[1]]
    return F.interpolate(m[None], size=prepared.ori_size, mode="bilinear", align_corners=False)[0]


def instance_postprocess(class_logits: torch.Tensor, mask_logits: torch.Tensor, max_per_image: int = 100,
                         sorted_topk: bool = True) -> Instances:
    """mmdet MaskFormerFusionHead.instance_postprocess on one image (masks at the original size)."""
    num_queries, num_cls1 = class_logits.shape
    num_classes = num_cls1 - 1
    scores = F.softmax(class_logits.float(), dim=-1)[:, :-1]
    k = min(max_per_image, scores.numel())
    top_scores, top_idx = scores.flatten().topk(k, sorted=sorted_topk)
    labels = top_idx % num_classes
    queries = torch.div(top_idx, num_classes, rounding_mode="floor")
    m = mask_logits[queries].float()
    binary = (m > 0).float()
    mask_scores = (m.sigmoid() * binary).flatten(1).sum(1) / (binary.flatten(1).sum(1) + 1e-6)
    det_scores = top_scores * mask_scores
    masks = binary.bool()
    return Instances(labels, det_scores, mask_to_box(masks), masks, queries)


# ----------------------------------------------------------------------------- model
def _checkpoint_search_paths(cache_dir: Path | None, name: str = OFFICIAL_CHECKPOINT) -> list[Path]:
    roots = []
    if os.environ.get("GENEVAL_MODEL_PATH"):
        roots.append(Path(os.environ["GENEVAL_MODEL_PATH"]))
    if cache_dir is not None:
        roots.append(Path(cache_dir) / "geneval")
    return [r / f"{name}.pth" for r in roots]


def load_detector(model_id: str | None, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
                  cache_dir: Path | None = None) -> tuple[Any, dict[str, Any]]:
    """(Mask2FormerForUniversalSegmentation in eval mode, provenance).

    ``model_id``: ``"tiny"`` (random, offline); ``"random"`` (Swin-S shape, random); a folder made by ``t2ir1-eval convert
    geneval-mask2former`` (config.json + model.safetensors); an mmdet ``.pth`` checkpoint
    (converted on load and cached beside ``cache_dir``); or None for the official checkpoint
    file looked up in ``$GENEVAL_MODEL_PATH`` then ``<cache_dir>/geneval/``.
    """
    from transformers import Mask2FormerForUniversalSegmentation

    info: dict[str, Any] = {"model_id": model_id}
    if model_id == "tiny":
        model = TINY_MODELS.load("mask2former")()
        info.update(comparable=False, weights="random (tiny)")
    elif model_id == "random":  # the real Swin-S architecture, random weights: speed runs only
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = Mask2FormerForUniversalSegmentation(geneval_config())
        info.update(comparable=False, weights="random (full Swin-S architecture)")
    else:
        path: Path | None = Path(model_id).expanduser() if model_id else None
        if path is not None and not path.exists() and "/" not in str(model_id) and not str(model_id).endswith(".pth"):
            # the official --options model=<name>: <name>.pth in the model folder
            found = [p for p in _checkpoint_search_paths(cache_dir, str(model_id)) if p.is_file()]
            path = found[0] if found else None
            if path is None:
                model_id = None if model_id == OFFICIAL_CHECKPOINT else model_id
        if path is None:
            candidates = _checkpoint_search_paths(cache_dir, str(model_id or OFFICIAL_CHECKPOINT))
            path = next((p for p in candidates if p.is_file()), None)
            if path is None:
                raise BackendUnavailable(
                    f"GenEval detector weights not found: expected {model_id or OFFICIAL_CHECKPOINT}.pth in "
                    f"{', '.join(str(p.parent) for p in candidates) or '$GENEVAL_MODEL_PATH'}, found nothing. "
                    f"Download {OFFICIAL_CHECKPOINT_URL} and save it as {OFFICIAL_CHECKPOINT}.pth there "
                    f"(or pass model_id=<path to the .pth or to a converted folder>)."
                )
        if path.is_dir():
            if not (path / "config.json").is_file():
                raise BackendUnavailable(f"{path}: expected a converted Mask2Former folder with config.json and "
                                         f"model.safetensors (made by `t2ir1-eval convert geneval-mask2former`), "
                                         f"found {sorted(p.name for p in path.iterdir())[:10]}")
            model = Mask2FormerForUniversalSegmentation.from_pretrained(path)
            info.update(weights=str(path), format="transformers")
        elif path.is_file():
            sha = sha256_file(path)
            # keyed by the source file and the converter's version, so a fixed mapping never reads a stale copy
            cached = (Path(cache_dir) / "geneval" / f"converted-{sha[:16]}-v{CONVERTER_VERSION}") if cache_dir else None
            if cached is not None and (cached / "config.json").is_file():
                model = Mask2FormerForUniversalSegmentation.from_pretrained(cached)
            else:
                model = Mask2FormerForUniversalSegmentation(geneval_config())
                state, _ = convert_state_dict(load_mmdet_state_dict(path), model.config)
                check_against(model, state)  # refuse a partial mapping instead of running random layers
                model.load_state_dict(state, strict=False)
                if cached is not None:
                    try:
                        model.save_pretrained(cached)
                    except OSError as exc:  # a read-only cache must not stop scoring
                        log.warning("could not cache the converted detector in %s: %s", cached, exc)
            info.update(weights=str(path), sha256=sha, format="mmdet (converted on load)",
                        converted_cache=str(cached) if cached is not None else None)
        else:
            raise BackendUnavailable(f"GenEval detector: {path} does not exist (expected an mmdet .pth checkpoint "
                                     f"or a converted folder)")
        info["comparable"] = True
    model = model.to(device=device, dtype=dtype).eval()
    return model, info




@torch.no_grad()
def detect(model: Any, prepared: Sequence[Prepared], max_per_image: int = 100) -> list[Instances]:
    """Run a batch of images that share one padded size; per-image instances."""
    if len({p.pad_size for p in prepared}) != 1:
        raise ValueError("detect(): every image of a batch must have the same padded size (mmdet pads each "
                         "image on its own; padding a batch to a larger size would change the outputs)")
    param = next(model.parameters())
    x = torch.stack([p.pixels for p in prepared]).to(param.device, param.dtype)
    out = model(pixel_values=x)
    results = []
    for i, p in enumerate(prepared):
        masks = upsample_masks(out.masks_queries_logits[i].float(), p)
        results.append(instance_postprocess(out.class_queries_logits[i].float(), masks, max_per_image))
    return results
