"""Images that already exist in a suite's official layout (e.g. another model's outputs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ConfigError, ImageError
from ..io import sha256_file
from ..types import GenRequest, GenResult
from .base import Generator


class FolderGenerator(Generator):
    """Provides whole image files; the pipeline copies and validates them into the run."""

    name = "folder"

    def __init__(self, images: str | None = None, model_name: str = "folder", image_size: str | None = None, **_: Any) -> None:
        if not images:
            raise ConfigError("the folder model needs --images DIR: a folder holding the images in the suite's official layout")
        self.root = Path(images)
        if not self.root.is_dir():
            raise ConfigError(f"--images {self.root}: expected a folder of images in the official layout, found no such folder")
        self.model_name = model_name
        if image_size:
            w, _, h = str(image_size).partition("x")
            self.image_size = (int(w), int(h or w))

    def source_file(self, relpath: str) -> Path:
        path = self.root / relpath
        if not path.is_file():
            raise ImageError(f"missing image: expected {path} (official layout of this suite), found nothing")
        return path

    def file_info(self, relpath: str) -> dict[str, Any]:
        path = self.source_file(relpath)
        return {"source": str(path), "sha256": sha256_file(path)}

    def generate(self, requests: list[GenRequest]) -> list[GenResult]:
        raise NotImplementedError("FolderGenerator provides whole files via source_file(); the pipeline copies them")

    def dry_run(self, requests: list[GenRequest]) -> list[dict[str, Any]]:
        return [{"prompt_id": r.item.prompt_id, "sample_index": r.sample_index, "model_inputs": "(pre-generated image)"} for r in requests]

    def describe(self) -> dict[str, Any]:
        return {"generator": "folder", "model": self.model_name, "images": str(self.root.resolve()),
                "image_size": list(self.image_size) if self.image_size else None}
