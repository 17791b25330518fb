"""What a scorer may know about the run it serves."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable


@dataclass
class ScorerContext:
    """Handed to every scorer constructor.

    ``data_file(key)`` returns the verified local path of one of the suite's declared data files
    (e.g. ``"judge_prompts"`` for WISE, ``"new_objects"`` for T2I-CompBench).
    ``cache_dir`` is a per-user folder for caches that outlive a run (judge replies, converted
    weights); ``run_dir`` is the run being scored (None when scoring a bare folder).
    """

    suite: str
    options: dict[str, Any]
    data_file: Callable[[str], Path]
    device: str = "cpu"
    dtype: str = "float32"
    cache_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "t2ir1-eval")
    run_dir: Path | None = None
