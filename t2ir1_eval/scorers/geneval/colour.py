"""GenEval colour classification: CLIP zero-shot over the 10 colours, per object, batched.

Official (evaluate_images.py + clip_benchmark 1.4.0 + open_clip 2.20):
* text side, once per object class: for each colour the 3 templates
  "a photo of a {c} {cls}", "a photo of a {c}-colored {cls}", "a photo of a {c} object"
  are encoded, L2-normalised, averaged and re-normalised -> weights [d, 10];
* image side, per object: the RGB image composited over a solid #999 canvas through the
  instance mask, cropped to the detection box, then open_clip's eval transform (shortest side
  to 224 bicubic, centre crop 224, CLIP mean/std), encoded under CUDA fp16 autocast;
* logits = 100 * normalize(image feature) @ weights; prediction = argmax.
We store the 10 logits per object (the rules take the argmax), so a rescore needs no model.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from PIL import Image, ImageColor

from ...models.clip import OPENAI_MEAN, OPENAI_STD, ClipBundle
from ...rules.geneval import COLORS

TEMPLATES: tuple[str, ...] = ("a photo of a {c} {classname}", "a photo of a {c}-colored {classname}",
                              "a photo of a {c} object")
#: open_clip architecture names (the official ``--options clip_model=``) -> the hub id with the same OpenAI weights
OPEN_CLIP_TO_HF = {
    "ViT-L-14": "openai/clip-vit-large-patch14",
    "ViT-B-32": "openai/clip-vit-base-patch32",
    "ViT-B-16": "openai/clip-vit-base-patch16",
    "ViT-L-14-336": "openai/clip-vit-large-patch14-336",
}


def clip_transform(image: Image.Image, size: int) -> torch.Tensor:
    """open_clip's eval transform without torchvision: Resize(size, bicubic) on the shortest side
    (long side truncated, as torchvision computes it), CenterCrop(size), RGB, ToTensor, Normalize."""
    w, h = image.size
    if w <= h:
        new_w, new_h = size, int(size * h / w)
    else:
        new_w, new_h = int(size * w / h), size
    if (new_w, new_h) != (w, h):
        image = image.resize((new_w, new_h), Image.BICUBIC)
    # torchvision center_crop: pad if needed (never after the resize above), offsets rounded
    top = int(round((new_h - size) / 2.0))
    left = int(round((new_w - size) / 2.0))
    image = image.crop((left, top, left + size, top + size)).convert("RGB")
    x = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1).float().div_(255.0)
    mean = torch.tensor(OPENAI_MEAN)[:, None, None]
    std = torch.tensor(OPENAI_STD)[:, None, None]
    return (x - mean) / std


def object_crop(image: Image.Image, box: Sequence[float], mask: np.ndarray | None, bgcolor: str = "#999",
                crop: bool = True) -> Image.Image:
    """The official ImageCrops item: composite through the mask over ``bgcolor`` (or keep the
    image for ``bgcolor="original"``), then crop to the box (rounded as Pillow rounds floats).

    Compositing is per pixel, so we crop first and composite the crop: same pixels, less work.
    """
    image = image.convert("RGB")
    if mask is not None and tuple(mask.shape) != (image.size[1], image.size[0]):
        raise ValueError(f"mask of shape {tuple(mask.shape)} does not fit the image {image.size[1]}x{image.size[0]}")
    if crop:
        x0, y0, x1, y1 = (int(round(float(v))) for v in box[:4])
    else:
        x0, y0, x1, y1 = 0, 0, image.size[0], image.size[1]
    region = image.crop((x0, y0, x1, y1))  # Pillow pads outside the image with black, as the official
    if mask is None or bgcolor == "original":
        return region
    h, w = mask.shape
    m = np.zeros((max(y1 - y0, 0), max(x1 - x0, 0)), dtype=bool)
    inside = np.zeros_like(m)
    sy0, sx0, sy1, sx1 = max(y0, 0), max(x0, 0), min(y1, h), min(x1, w)
    if sy1 > sy0 and sx1 > sx0:
        m[sy0 - y0: sy1 - y0, sx0 - x0: sx1 - x0] = mask[sy0:sy1, sx0:sx1]
        inside[sy0 - y0: sy1 - y0, sx0 - x0: sx1 - x0] = True
    # inside the image: the pixel through the mask, else the background; outside: the crop's black padding
    bg = np.array(ImageColor.getrgb(bgcolor)[:3], dtype=np.uint8)
    rgb = np.asarray(region)
    out = np.where(m[..., None], rgb, np.where(inside[..., None], bg, np.zeros(3, np.uint8)))
    return Image.fromarray(out.astype(np.uint8))


class ColourClassifier:
    """Batched CLIP colour logits for object crops; text weights cached per class name."""

    def __init__(self, clip: ClipBundle, bgcolor: str = "#999", crop: bool = True, amp: bool = True,
                 batch_size: int = 64) -> None:
        self.clip = clip
        self.bgcolor = bgcolor
        self.crop = crop
        self.amp = amp
        self.batch_size = batch_size
        self._weights: dict[str, torch.Tensor] = {}

    def weights(self, classname: str) -> torch.Tensor:
        """[d, 10] zero-shot weights for one object class (clip_benchmark zero_shot_classifier)."""
        if classname not in self._weights:
            texts = [t.format(c=c, classname=classname) for c in COLORS for t in TEMPLATES]
            feats = self.clip.text_features(texts, autocast=self.amp).view(len(COLORS), len(TEMPLATES), -1)
            mean = feats.mean(dim=1)
            self._weights[classname] = (mean / mean.norm(dim=-1, keepdim=True)).T.contiguous()
        return self._weights[classname]

    def logits(self, crops: Sequence[Image.Image], classnames: Sequence[str]) -> list[list[float]]:
        """100 * cos(image, colour) for each crop against its class's colour weights: [n][10]."""
        if not crops:
            return []
        size = self.clip.image_size
        pixels = torch.stack([clip_transform(c, size) for c in crops])
        feats = self.clip.image_features(pixels, batch_size=self.batch_size, autocast=self.amp)
        out: list[list[float]] = []
        half = self.amp and feats.device.type == "cuda"  # clip_benchmark takes this product under fp16 autocast
        for feat, name in zip(feats, classnames):
            w = self.weights(name).to(feat.device)
            lg = 100.0 * (feat.half() @ w.half()) if half else 100.0 * feat @ w
            out.append([float(v) for v in lg.float().cpu().numpy().astype(np.float32)])
        return out
