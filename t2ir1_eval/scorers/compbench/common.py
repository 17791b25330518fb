"""Image handling shared by the T2I-CompBench scorers, matching torchvision on PIL images.

The official evaluators use torchvision transforms on PIL images, which call ``PIL.Image.resize``
underneath; these helpers do the same with PIL directly (no torchvision here), including the
size arithmetic of ``Resize(size=479, max_size=480)`` and ``CenterCrop``'s rounding.
Light at import time (PIL, numpy): the UniDet worker imports it in a detectron2 environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ImageError
from ...rules.t2i_compbench import prompt_from_filename

#: CLIP mean/std: BLIP's and CLIP's Normalize
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

__all__ = ["CLIP_MEAN", "CLIP_STD", "load_rgb", "short_side_size", "resize_short_side", "to_chw",
           "center_crop", "prompt_for", "prompt_from_filename"]


def load_rgb(path: Path) -> Any:
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.convert("RGB")
    except (OSError, ValueError) as exc:
        raise ImageError(f"{path}: expected a readable image, found: {exc}") from exc


def short_side_size(width: int, height: int, size: int, max_size: int | None = None) -> tuple[int, int]:
    """(w, h) torchvision's ``Resize(size, max_size=...)`` gives a (w, h) image (int truncation)."""
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size, int(size * long / short)
    if max_size is not None:
        if max_size <= size:
            raise ValueError(f"max_size={max_size} must be larger than size={size}")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    return (new_short, new_long) if width <= height else (new_long, new_short)


def resize_short_side(img: Any, size: int, max_size: int | None = None, resample: str = "bilinear") -> Any:
    """``torchvision.transforms.Resize(size, max_size)`` on a PIL image (bilinear by default)."""
    from PIL import Image

    w, h = short_side_size(img.width, img.height, size, max_size)
    return img.resize((w, h), getattr(Image.Resampling, resample.upper()))


def center_crop(img: Any, size: int) -> Any:
    """``torchvision.transforms.CenterCrop(size)``: offsets rounded, not floored (differs from HF)."""
    w, h = img.size
    top = int(round((h - size) / 2.0))
    left = int(round((w - size) / 2.0))
    return img.crop((left, top, left + size, top + size))


def to_chw(img: Any, mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """ToTensor + Normalize: float32 CHW, /255, then (x - mean) / std per channel."""
    arr = np.asarray(img, dtype=np.uint8).astype(np.float32) / np.float32(255.0)
    arr = arr.transpose(2, 0, 1)
    m = np.asarray(mean, dtype=np.float32)[:, None, None]
    s = np.asarray(std, dtype=np.float32)[:, None, None]
    return (arr - m) / s


def prompt_for(sample: Any, source: str = "filename") -> str:
    """The text the official scripts parse: the file name's text before the first '_'.

    ``source="item"`` uses the suite's prompt instead (identical for correctly named files).
    """
    if source == "item":
        return sample.item.prompt
    if source != "filename":
        raise ValueError(f"prompt_source: expected 'filename' or 'item', found {source!r}")
    name = Path(sample.path).name
    if "_" not in name:
        raise ImageError(f"{sample.path}: expected a file name '{{prompt}}_{{index:06d}}.png' (the official "
                         f"evaluators read the prompt before the first '_'), found no '_'")
    return prompt_from_filename(name)
