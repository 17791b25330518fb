"""GenEval scorer: Mask2Former detections (transformers or mmdet) + CLIP colours.

Heavy imports (torch, transformers, mmdet) happen in the submodules, only when used.
"""

from __future__ import annotations

from typing import Any


def convert_checkpoint(src: Any, dst: Any) -> dict[str, Any]:
    """``t2ir1-eval convert geneval-mask2former SRC DST``: mmdet .pth -> transformers folder."""
    from .convert_mmdet import convert_checkpoint as _convert

    return _convert(src, dst)
