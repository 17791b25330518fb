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

    def __init__(self, images: str | None = None, model_name: str | None = None, image_size: str | None = None,
                 **_: Any) -> None:
        if not images:
            raise ConfigError("the folder model needs --images DIR: a folder holding the images in the suite's official layout")
        self.root = Path(images)
        if not self.root.is_dir():
            raise ConfigError(f"--images {self.root}: expected a folder of images in the official layout, found no such folder")
        if not model_name:
            raise ConfigError("a folder run needs --name NAME (e.g. --name SD3-medium): the model that made the images, "
                              "shown in every table and in the run directory's name")
        self.model_name = model_name
        #: our relpath -> the user's file, as the suite's official evaluator finds it (see bind)
        self.files: dict[str, Path] | None = None
        if image_size:
            w, _, h = str(image_size).partition("x")
            self.image_size = (int(w), int(h or w))

    def bind(self, suite: Any, items: list[Any]) -> list[str]:
        """Index the folder as the suite's official evaluator reads it; returns warnings (extra or odd files)."""
        from .folder_layout import index_folder

        index = index_folder(suite, items, self.root)
        self.files = index.files
        return index.warnings

    def source_file(self, relpath: str) -> Path:
        path = self.files.get(relpath) if self.files is not None else self.root / relpath
        if path is None or not path.is_file():
            raise ImageError(f"missing image: expected {self.root / relpath} or another name the suite's official "
                             f"evaluator accepts (see docs), found nothing. Add the image to --images {self.root}, "
                             f"or pass --allow-missing to score it as a failure")
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
