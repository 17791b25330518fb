"""GenEval: 553 prompts from evaluation_metadata.jsonl, 4 images each, 6 tags."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import DataError
from ..io import atomic_write_text
from ..types import PromptItem
from .spec import Suite, mean


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


def aggregate(suite: Suite, rows: list[dict[str, Any]], options: dict[str, Any]) -> dict[str, float]:
    """summary_scores.py: per-tag accuracy over images, overall = unweighted mean of the tags."""
    by_tag: dict[str, list[float]] = {}
    for r in rows:
        by_tag.setdefault(r["category"], []).append(float(r["decision"]["score"]))
    scores = {tag: mean(v) for tag, v in by_tag.items()}
    if scores:
        scores["Overall"] = mean(list(scores.values()))
    return scores
