"""Loading third-party checkpoints without running code from them.

A full (not weights-only) ``torch.load`` unpickles arbitrary objects: a crafted ``.pth`` in the cache
runs its payload during a plain ``score``. Here a checkpoint is read only with
``weights_only=True`` (tensors, containers and a short allow-list of numpy types that mmcv
writes into ``meta``), and a file the tool knows by name must match its pinned hash before it is
read at all. A file that fails either check is refused with a message; nothing is unpickled.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .io import sha256_file

log = logging.getLogger(__name__)

#: checkpoint file name -> pinned sha256, or its first hex digits where the publisher pins only
#: those: OpenMMLab names each file ``..._<date>-<first 8 hex of sha256>.pth`` (mmcv publish_model),
#: which is all upstream publishes for GenEval's detector.
PINNED_CHECKPOINTS: dict[str, str] = {
    "mask2former_swin-s-p4-w7-224_lsj_8x2_50e_coco.pth": "743b7d99",
    "mask2former_swin-s-p4-w7-224_lsj_8x2_50e_coco_20220504_001756-743b7d99.pth": "743b7d99",
}


class CheckpointRefused(ConfigError):
    """A checkpoint that fails its pinned hash or cannot be read without unpickling code."""


def verify_pinned(path: Path, sha256: str | None = None) -> str:
    """The file's sha256; CheckpointRefused when its name is pinned and the hash differs."""
    path = Path(path)
    found = sha256 or sha256_file(path)
    pin = PINNED_CHECKPOINTS.get(path.name)
    if pin is not None and not found.startswith(pin):
        raise CheckpointRefused(
            f"{path}: sha256 {found} does not match the pinned checkpoint ({pin}...) for {path.name}. The file is not "
            f"the published one (corrupt, truncated or replaced); it was not loaded. Delete it and download it again.")
    return found


def _numpy_safe_globals() -> list[Any]:
    """numpy types mmcv stores in a checkpoint's ``meta``: data only, no code."""
    import numpy as np

    out: list[Any] = [np.ndarray, np.dtype]
    for mod in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            module = __import__(mod, fromlist=["_reconstruct", "scalar"])
            out += [module._reconstruct, module.scalar]
            break
        except (ImportError, AttributeError):
            continue
    out += [type(np.dtype(t)) for t in ("float32", "float64", "int64", "int32", "uint8", "bool")]
    return out


def safe_torch_load(path: Path) -> Any:
    """``torch.load`` with ``weights_only=True`` only (pinned names are hash-checked first)."""
    import torch

    path = Path(path)
    verify_pinned(path)
    try:
        with torch.serialization.safe_globals(_numpy_safe_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure means: not a plain tensor checkpoint
        raise CheckpointRefused(
            f"{path}: refused to load: it cannot be read as plain tensors (torch.load weights_only=True: "
            f"{str(exc).splitlines()[0][:300]}). It may hold pickled code, which is never run. Use the published "
            f"checkpoint, or a safetensors copy (`t2ir1-eval convert geneval-mask2former SRC DST`).") from exc


def refuse_unsafe_pickle(path: Path) -> None:
    """For checkpoints another library loads (detectron2's UniDet): refuse one that holds code.

    The pickle's globals are listed without running it (``get_unsafe_globals_in_checkpoint``);
    anything beyond tensors and the numpy allow-list is refused. Older torch or a legacy
    (non-zip) file: a full ``weights_only=True`` read decides instead.
    """
    import torch

    path = Path(path)
    verify_pinned(path)
    scan = getattr(torch.serialization, "get_unsafe_globals_in_checkpoint", None)
    try:
        names = scan(path) if scan is not None else None
    except Exception:  # noqa: BLE001 - not a zip checkpoint: fall back to a weights-only read
        names = None
    if names is None:
        safe_torch_load(path)
        return
    allowed = {f"{g.__module__}.{g.__qualname__}" for g in _numpy_safe_globals()}
    bad = sorted(n for n in names if n not in allowed)
    if bad:
        raise CheckpointRefused(f"{path}: refused to load: the checkpoint pickles {bad[:5]}, which would run code when "
                                f"read. Expected tensors only; use the published weights.")
