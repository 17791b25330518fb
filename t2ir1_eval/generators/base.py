"""The generator interface: (prompt, sample index, seed) -> image + what produced it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from ..types import GenRequest, GenResult


class Generator(ABC):
    """A text-to-image backend.

    Subclasses take keyword options from the CLI (``model_id``, ``recipe``, ``device``,
    ``dtype``, ``batch_size``, ...) and must not load weights in ``__init__`` if
    ``dry_run`` is to work without them: load lazily on the first ``generate``.
    """

    #: registry name
    name: str = ""
    #: (width, height) every image will have, or None when unknown until generated
    image_size: tuple[int, int] | None = None
    #: how many requests ``generate`` should receive at once
    batch_size: int = 1

    @abstractmethod
    def generate(self, requests: list[GenRequest]) -> list[GenResult]:
        """One result per request, in order. Each image must depend only on its request
        (prompt, sample index, seed), never on the batch it came in."""

    def dry_run(self, requests: list[GenRequest]) -> list[dict[str, Any]]:
        """The exact model inputs each request would get, without loading any weights."""
        return [{"prompt_id": r.item.prompt_id, "sample_index": r.sample_index, "model_inputs": [r.item.prompt]} for r in requests]

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Provenance: model id and revision, recipe and every sampling knob, dtype, device."""

    def identity(self) -> dict[str, Any]:
        """The part of ``describe`` that changes the images (compared on resume)."""
        d = dict(self.describe())
        for volatile in ("device", "batch_size", "seconds", "gpu", "load_seconds"):
            d.pop(volatile, None)
        return d

    def close(self) -> None:
        """Free memory (GPU weights); called once at the end of a run."""
