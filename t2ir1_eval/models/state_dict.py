"""Reading architecture sizes off a checkpoint's tensor names and shapes (shared by the Janus and
BLIP conversions): the tensors, not a config file, are the truth about what a checkpoint holds."""

from __future__ import annotations

import re

from ..errors import ConfigError


def count_children(prefix: str, keys: list[str]) -> int:
    """Number of consecutive integer children under ``prefix`` (e.g. layers.0, layers.1, ...)."""
    pat = re.compile(re.escape(prefix) + r"(\d+)\.")
    idx = {int(m.group(1)) for k in keys if (m := pat.match(k))}
    return max(idx) + 1 if idx else 0


def require_shape(shapes: dict[str, tuple[int, ...]], key: str, source: str, what: str) -> tuple[int, ...]:
    """The shape of tensor ``key``; a clear error naming the file and the checkpoint kind if it is absent."""
    if key not in shapes:
        raise ConfigError(f"{source}: expected tensor {key!r} in the original {what} checkpoint, not found")
    return shapes[key]
