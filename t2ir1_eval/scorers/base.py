"""The scorer interface: image files -> raw model outputs (never decisions).

Decisions and aggregates come from the raw outputs through each suite's pure rules, so a run
can be re-scored (``t2ir1-eval rescore``) without loading any model.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from ..types import Sample


class Scorer(ABC):
    #: registry name
    name: str = ""
    #: bump when the raw-output schema or the computation changes
    version: str = "1"
    #: how many samples ``score`` should receive at once (also the resume granularity)
    batch_size: int = 8

    @abstractmethod
    def score(self, samples: list[Sample]) -> list[dict[str, Any]]:
        """One JSON-serialisable raw-output dict per sample, in order.

        A per-sample failure is returned as ``{"error": "<what happened>"}`` rather than raised,
        so it is counted (and scored as the protocol says) instead of dropped.
        """

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Provenance: scorer models (ids, revisions, checksums), library versions, options."""

    def close(self) -> None:
        """Free memory, stop worker processes."""
