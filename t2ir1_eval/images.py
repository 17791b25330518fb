"""Image checks and the 2x2 grid used by DPG-Bench."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from .errors import ImageError


REGENERATE = "Delete it and run again to regenerate it."
#: for images that came from outside (--model folder): the tool cannot remake them
REPLACE = "Replace it in the --images folder (t2ir1-eval did not make it and cannot regenerate it)."


def check_image(path: Path, expected_size: tuple[int, int] | None = None, fix: str = REGENERATE) -> tuple[int, int]:
    """Open and fully verify a PNG/JPEG; return its (width, height) or raise naming the file and ``fix``."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise ImageError(f"missing image: expected {path}, found nothing")
    try:
        with Image.open(path) as im:
            im.verify()  # reads the whole stream: catches truncated or corrupt files, not only a bad header
        with Image.open(path) as im:
            im.load()
            size = im.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"corrupt image {path}: expected a readable PNG, found {type(exc).__name__}: {exc}. "
                         f"{fix}") from exc
    if expected_size is not None and tuple(size) != tuple(expected_size):
        raise ImageError(f"image {path} has size {size[0]}x{size[1]}, expected {expected_size[0]}x{expected_size[1]} "
                         f"(the size of every image of this run)" + ("" if fix == REGENERATE else f". {fix}"))
    return size


def make_grid(images: Sequence[Any], rows: int, cols: int) -> Any:
    """Tile equally sized images row-major, no padding (DPG-Bench splits the grid evenly)."""
    from PIL import Image

    if len(images) != rows * cols:
        raise ValueError(f"expected {rows * cols} tiles, got {len(images)}")
    w, h = images[0].size
    if any(im.size != (w, h) for im in images):
        raise ImageError(f"grid tiles differ in size: {[im.size for im in images]}")
    grid = Image.new("RGB", (cols * w, rows * h))
    for i, im in enumerate(images):
        grid.paste(im.convert("RGB"), ((i % cols) * w, (i // cols) * h))
    return grid
