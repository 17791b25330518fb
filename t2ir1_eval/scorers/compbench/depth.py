"""DPT-Hybrid MiDaS depth for T2I-CompBench 3D spatial, and the "unidet-3d" scorer.

Official pipeline (UniDet_eval/3D_spatial_eval.py):
1. ``Resize([480, 480])`` (PIL bilinear), ToTensor, Normalize(0.5, 0.5); DPT-Hybrid MiDaS
   (relative inverse depth: larger = nearer), position table resized on the fly;
2. per image min-max to [0, 1], bilinear (align_corners=True) upsampling to the original size,
   x255 and saved as an **8-bit grayscale PNG** (``Image.fromarray(float).convert('L')``);
3. at scoring time the PNG is resized like the detector input (``Resize(479, max_size=480)``)
   and divided by 255;
4. the mean depth in a box is taken as ``depth[x_min:x_max, y_min:y_max]``: rows indexed by x,
   a transposed-indexing quirk the rules reproduce by default.
The map itself is not stored: per detection we keep the two means the rules may read
(``transposed`` = upstream, ``row_col`` = corrected), ``None`` for an empty slice (NaN upstream).
Here through transformers ``DPTForDepthEstimation`` (``Intel/dpt-hybrid-midas``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...context import ScorerContext
from ...errors import BackendUnavailable
from ...registry import TINY_MODELS
from ...types import Sample
from .common import load_rgb, resize_short_side, to_chw
from .unidet import INPUT_MAX_SIZE, INPUT_SIZE, CompBenchDetectionScorer

MODEL_ID = "Intel/dpt-hybrid-midas"
DEPTH_INPUT = 480


def load_dpt(model_id: str, device: str = "cpu", dtype: str = "float32", revision: str | None = None, seed: int = 0) -> Any:
    import torch

    if model_id == "tiny":
        model = TINY_MODELS.load("dpt-hybrid")(seed)
    else:
        from transformers import DPTForDepthEstimation

        try:
            model = DPTForDepthEstimation.from_pretrained(model_id, revision=revision)
        except OSError as exc:
            raise BackendUnavailable(
                f"could not load DPT {model_id!r}: expected a hub id reachable from here or a local folder, found: "
                f"{exc}. Download it once with `huggingface-cli download {model_id}`, or use model_id='tiny' for tests"
            ) from exc
    # transformers only checks the input size against the config; the hybrid embeddings resize
    # the position table to the input grid on every call (bilinear), like MiDaS's forward_flex
    model.dpt.embeddings.image_size = (DEPTH_INPUT, DEPTH_INPUT)
    torch_dtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[dtype]
    return model.to(device=device, dtype=torch_dtype).eval()


def depth_pngs(model: Any, images: list[Any]) -> list[Any]:
    """The official 8-bit depth PNG (as a PIL 'L' image at the original size) of each image."""
    import torch
    from PIL import Image

    p = next(model.parameters())
    px = torch.from_numpy(np.stack([to_chw(im.resize((DEPTH_INPUT, DEPTH_INPUT), Image.Resampling.BILINEAR),
                                           (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)) for im in images]))
    with torch.no_grad():
        pred = model(pixel_values=px.to(p.device, p.dtype)).predicted_depth.float()
    out = []
    for d, im in zip(pred, images):
        span = d.max() - d.min()
        # upstream divides by zero on a flat map (NaN -> undefined PNG); we write zeros instead
        d = (d - d.min()) / span if float(span) > 0 else torch.zeros_like(d)
        d = torch.nn.functional.interpolate(d[None, None], size=(im.height, im.width), mode="bilinear",
                                            align_corners=True)[0, 0]
        out.append(Image.fromarray(255 * d.cpu().numpy()).convert("L"))
    return out


def depth_map(png: Any) -> Any:
    """The scoring-time map: the PNG resized like the detector input, / 255, float32 [h, w]."""
    import torch

    resized = resize_short_side(png, INPUT_SIZE, INPUT_MAX_SIZE, resample="bilinear")
    return torch.tensor(np.array(resized)).float() / 255.0


def box_means(depth: Any, boxes: list[list[float]]) -> list[dict[str, float | None]]:
    """Mean depth per box with upstream's transposed slice and with the corrected one."""
    def mean(t: Any) -> float | None:
        return float(t.mean()) if t.numel() else None

    out = []
    for x0, y0, x1, y1 in boxes:
        out.append({"transposed": mean(depth[int(x0):int(x1), int(y0):int(y1)]),
                    "row_col": mean(depth[int(y0):int(y1), int(x0):int(x1)])})
    return out


class UniDet3DScorer(CompBenchDetectionScorer):
    """Registry "unidet-3d": UniDet (R50 upstream) detections + DPT depth statistics per box."""

    name = "unidet-3d"
    version = "1"
    batch_size = 8

    def __init__(self, context: ScorerContext, model_id: str | None = None, checkpoint: str = "R50",
                 depth_model_id: str | None = None, depth_revision: str | None = None, depth_dtype: str = "float32",
                 device: str | None = None, seed: int = 0, **options: Any) -> None:
        super().__init__(context, model_id=model_id, checkpoint=checkpoint, seed=seed, **options)
        self.depth_model_id = depth_model_id or ("tiny" if model_id == "tiny" else MODEL_ID)
        self.depth_revision = depth_revision
        self.depth_dtype = depth_dtype
        self.device_name = device or context.device
        self.seed = seed
        self._dpt: Any = None

    def score(self, samples: list[Sample]) -> list[dict[str, Any]]:
        raws = super().score(samples)
        if self._dpt is None:
            self._dpt = load_dpt(self.depth_model_id, self.device_name, self.depth_dtype, self.depth_revision, self.seed)
        todo = [i for i, r in enumerate(raws) if "error" not in r]
        images = []
        for i in list(todo):
            try:
                images.append(load_rgb(samples[i].path))
            except Exception as exc:
                raws[i] = {"error": f"{type(exc).__name__}: {exc}"}
                todo.remove(i)
        for i, png in zip(todo, depth_pngs(self._dpt, images) if images else []):
            dmap = depth_map(png)
            boxes = [d[2] for d in raws[i]["detections"]]
            raws[i]["depth"] = {"map_size": [int(dmap.shape[1]), int(dmap.shape[0])], "box_means": box_means(dmap, boxes)}
        return raws

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        if self._dpt is None:
            self._dpt = load_dpt(self.depth_model_id, self.device_name, self.depth_dtype, self.depth_revision, self.seed)
        tiny = self.depth_model_id == "tiny"
        d.update(name=self.name, version=self.version, comparable=d["comparable"] and not tiny,
                 depth={"model_id": self.depth_model_id, "revision": self.depth_revision
                        or getattr(self._dpt.config, "_commit_hash", None), "dtype": self.depth_dtype,
                        "input": "PIL Resize([480, 480]) bilinear, Normalize(0.5, 0.5)",
                        "png_round_trip": "min-max, bilinear align_corners upsampling, 8-bit L PNG, Resize(479, 480)",
                        "comparable": not tiny})
        return d
