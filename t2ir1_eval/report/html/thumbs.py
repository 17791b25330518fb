"""Small WebP copies of run images, made once and cached under ``<run>/thumbs``."""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image

from ...io import atomic_write_bytes

THUMB_PX = 192


def thumbnail(run_root: Path, image: Path, rel: str, size: int = THUMB_PX) -> Path | None:
    """The cached thumbnail of ``image`` (remade only when the image is newer); None if the image is missing."""
    if not image.is_file():
        return None
    out = Path(run_root) / "thumbs" / f"{rel}.webp"
    if out.is_file() and out.stat().st_mtime >= image.stat().st_mtime:
        return out
    with Image.open(image) as im:
        im = im.convert("RGB")
        im.thumbnail((size, size), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        im.save(buf, format="WEBP", quality=80)
    atomic_write_bytes(out, buf.getvalue())
    os.chmod(out, 0o644)  # readable by a static file server running as another user
    return out
