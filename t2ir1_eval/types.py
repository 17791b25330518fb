"""Small value types passed between suites, generators, scorers and the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class PromptItem:
    """One benchmark prompt.

    ``prompt_id`` is unique within a suite and stable across data versions where the
    benchmark allows it (GenEval row index as ``00042``, WISE ``prompt_id``, DPG ``item_id``,
    T2I-CompBench ``<category>/<row index>``). ``metadata`` holds the suite-specific fields
    the rules need (GenEval's include/exclude, WISE's Explanation, ...).
    """

    prompt_id: str
    prompt: str
    category: str
    metadata: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class GenRequest:
    """Ask a generator for one image: ``seed`` is already derived per image."""

    item: PromptItem
    sample_index: int
    seed: int


@dataclass
class GenResult:
    """A generated image plus what produced it.

    ``info`` holds the exact model input strings of each stage (``model_inputs``), the
    reasoning text if any (``reasoning``), the sampling knobs and ``seconds``; it goes to
    the manifest verbatim, so it must be JSON-serialisable.
    """

    image: Any  # PIL.Image.Image; typed loosely so importing this module needs no PIL
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Sample:
    """One image file to score: the unit of scoring and of records.

    ``file_index`` is the image's index within its prompt in the official layout (GenEval and
    T2I-CompBench sample index; 0 for WISE and for DPG's single 2x2 grid).
    """

    item: PromptItem
    file_index: int
    path: Path
