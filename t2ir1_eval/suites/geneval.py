"""GenEval: 553 prompts from evaluation_metadata.jsonl, 4 images each, 6 tags."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import DataError
# decisions and aggregation: named here, so the suite's dependency on its rules is an import
from ..rules import geneval as rules  # noqa: F401
from ..io import atomic_write_text
from ..types import PromptItem
from .spec import Suite


def data_keys(suite: Suite, options: dict[str, Any]) -> list[str]:
    return ["metadata", "object_names"]


def load_items(suite: Suite, resolver, options: dict[str, Any]) -> list[PromptItem]:
    path = suite.data_file(resolver, "metadata")
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        try:
            row = json.loads(line)
            items.append(PromptItem(f"{n:05d}", row["prompt"], row["tag"], row))
        except (json.JSONDecodeError, KeyError) as exc:
            raise DataError(f"{path}:{n + 1}: expected a JSON object with 'prompt' and 'tag', found {line[:80]!r}") from exc
    return items


def write_extras(images_dir: Path, item: PromptItem) -> None:
    """The official layout keeps each prompt's metadata beside its samples."""
    target = images_dir / item.prompt_id / "metadata.jsonl"
    text = json.dumps(item.metadata) + "\n"
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        atomic_write_text(target, text)


def write_official(run_dir: Path, rows: list[dict[str, Any]]) -> None:
    """results.jsonl as evaluate_images.py writes it, and the text summary_scores.py prints,
    so a run can be checked against (or fed to) the official scripts."""
    from ..rules.geneval import format_summary, official_results_line, official_results_row, summary

    images = Path(run_dir) / "images"
    official = []
    for r in rows:
        item = PromptItem(r["prompt_id"], r["metadata"]["prompt"], r["category"], r["metadata"])
        path = os.path.join(str(images), r["prompt_id"], "samples", f"{r['file_index']:04d}.png")
        official.append(official_results_row(item, r["file_index"], path, r["decision"]))
    atomic_write_text(Path(run_dir) / "results.jsonl", "".join(official_results_line(o) + "\n" for o in official))
    atomic_write_text(Path(run_dir) / "results_summary.txt", format_summary(summary(official)))
