"""The official detector through mmdet itself (mmdet 3.3 + mmcv 2.1, built by scripts/mmdet_venv.sh).

In-process when mmdet imports here; otherwise ``GenEvalScorer(backend="mmdet",
mmdet_python=<venv>/bin/python)`` runs the whole scorer as a worker under that interpreter.

GenEval's checkpoint is an mmdet 2.x file; mmdet 3.x names a few modules differently, so its
keys are renamed on load (``mmdet2_to_mmdet3``). mmdet 3.x pads with 0 after normalising
where the 2.x LSJ test pipeline pads with 128 before; square 512/1024 px images resize to
800 x 800 and need no padding, so this only matters for other sizes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import BackendUnavailable

CONFIG_3X = "mask2former/mask2former_swin-s-p4-w7-224_8xb2-lsj-50e_coco.py"

_2TO3 = [
    (re.compile(r"(pixel_decoder\.encoder\.layers\.\d+)\.attentions\.0\."), r"\1.self_attn."),
    (re.compile(r"(pixel_decoder\.encoder\.layers\.\d+)\.ffns\.0\."), r"\1.ffn."),
    (re.compile(r"(transformer_decoder\.layers\.\d+)\.attentions\.0\."), r"\1.cross_attn."),
    (re.compile(r"(transformer_decoder\.layers\.\d+)\.attentions\.1\."), r"\1.self_attn."),
    (re.compile(r"(transformer_decoder\.layers\.\d+)\.ffns\.0\."), r"\1.ffn."),
]


def mmdet2_to_mmdet3(state: dict[str, Any]) -> dict[str, Any]:
    """Rename mmdet 2.x Mask2Former keys to the 3.x module names (a no-op on 3.x keys)."""
    out = {}
    for key, value in state.items():
        for pattern, repl in _2TO3:
            key = pattern.sub(repl, key)
        out[key] = value
    return out


def default_config_path() -> Path:
    try:
        import mmdet
    except ImportError as exc:
        raise BackendUnavailable(
            "GenEval backend 'mmdet' needs mmdet 3.3 + mmcv 2.1 in this interpreter (build them with "
            "`bash scripts/mmdet_venv.sh <venv>`, see docs/geneval.md) or mmdet_python=<venv>/bin/python"
        ) from exc
    path = Path(mmdet.__file__).parent / ".mim" / "configs" / CONFIG_3X
    if not path.is_file():
        raise BackendUnavailable(f"mmdet config not found: expected {path} (shipped in the mmdet 3.3 wheel); "
                                 f"pass mmdet_config=<path to {Path(CONFIG_3X).name}>")
    return path


class MmdetDetector:
    """mmdet Mask2Former Swin-S: PIL image -> labels, scores, boxes, masks (numpy)."""

    def __init__(self, checkpoint: str | None, config: str | None, device: Any, cache_dir: Path | None,
                 test_scale: tuple[int, int] | None = None) -> None:
        from mmengine.config import Config

        from mmdet.apis import init_detector

        cfg_path = Path(config) if config else default_config_path()
        cfg = Config.fromfile(str(cfg_path))
        cfg.model.backbone.init_cfg = None  # never download the ImageNet Swin
        if test_scale is not None and tuple(test_scale) != (1333, 800):  # tests / smoke runs only
            for step in cfg.test_dataloader.dataset.pipeline:
                if str(step.get("type", "")).endswith("Resize"):
                    step["scale"] = tuple(test_scale)
        self.test_scale = tuple(test_scale) if test_scale else (1333, 800)
        self.config_path = cfg_path
        self.checkpoint = checkpoint
        self.model = init_detector(cfg, checkpoint=None, device=str(device))
        if checkpoint == "random":
            self.weights = "random (mmdet init)"
        else:
            from ...io import sha256_file
            from .mask2former import _checkpoint_search_paths

            path = Path(checkpoint) if checkpoint else next(
                (p for p in _checkpoint_search_paths(cache_dir) if p.is_file()), None)
            if path is None or not path.is_file():
                raise BackendUnavailable(f"GenEval mmdet backend: checkpoint {checkpoint or 'mask2former_swin-s-...pth'} "
                                         f"not found (see docs/geneval.md for the download)")
            from .convert_mmdet import load_mmdet_state_dict

            state = mmdet2_to_mmdet3(load_mmdet_state_dict(path))
            missing, unexpected = self.model.load_state_dict(state, strict=False)
            missing = [k for k in missing if not k.endswith("relative_position_index")]
            if missing or unexpected:
                raise BackendUnavailable(f"{path}: does not fit mmdet's Mask2Former Swin-S: missing {missing[:5]}, "
                                         f"unexpected {unexpected[:5]}")
            self.weights = f"{path} (sha256 {sha256_file(path)[:16]})"
        self.model.eval()

    def detect(self, image: Any) -> dict[str, Any]:
        from mmdet.apis import inference_detector

        bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[..., ::-1])  # mmcv.imread gives BGR
        pred = inference_detector(self.model, bgr).pred_instances
        return {
            "labels": pred.labels.cpu().numpy(),
            "scores": pred.scores.float().cpu().numpy().astype(np.float32),
            "boxes": pred.bboxes.float().cpu().numpy().astype(np.float32),
            "masks": pred.masks.cpu().numpy().astype(bool),
        }

    def describe(self) -> dict[str, Any]:
        import mmcv
        import mmdet

        return {"model_id": self.checkpoint, "weights": self.weights, "config": str(self.config_path),
                "test_scale": list(self.test_scale),
                "mmdet": mmdet.__version__, "mmcv": mmcv.__version__, "comparable": self.checkpoint != "random",
                "pid": os.getpid()}
