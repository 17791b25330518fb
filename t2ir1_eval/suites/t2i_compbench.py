"""T2I-CompBench++: 8 categories x 300 val prompts, 10 images each, `{prompt}_{idx:06d}.png`."""

from __future__ import annotations

from typing import Any

from ..errors import DataError
# decisions and aggregation: named here, so the suite's dependency on its rules is an import
from ..rules import t2i_compbench as rules  # noqa: F401
from ..types import PromptItem
from .spec import Suite

CATEGORIES = ["color", "shape", "texture", "spatial", "non_spatial", "complex", "3d_spatial", "numeracy"]


def _file_key(category: str, options: dict[str, Any]) -> str:
    if category == "color" and options.get("color_val") == "pre-2025-09-03":
        return "color_val_pre_2025_09_03"
    return f"{category}_val"


def data_keys(suite: Suite, options: dict[str, Any]) -> list[str]:
    keys = [_file_key(c, options) for c in CATEGORIES]
    return keys + ["complex_val_spatial", "complex_val_action", "complex_val_spatialaction", "new_objects", "unidet_labels"]


def _lines(path) -> list[str]:
    # Upstream files mix CRLF/LF and may lack a final newline.
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def load_items(suite: Suite, resolver, options: dict[str, Any]) -> list[PromptItem]:
    sub = {}
    for name in ("spatial", "action", "spatialaction"):
        for p in _lines(suite.data_file(resolver, f"complex_val_{name}")):
            sub[p] = name
    items = []
    for category in CATEGORIES:
        path = suite.data_file(resolver, _file_key(category, options))
        prompts = _lines(path)
        for row, prompt in enumerate(prompts):
            meta: dict[str, Any] = {"row": row, "category": category}
            if category == "complex":
                if prompt not in sub:
                    raise DataError(f"{path}: complex prompt {prompt!r} is in none of complex_val_{{spatial,action,spatialaction}}.txt")
                meta["complex_sublist"] = sub[prompt]
            items.append(PromptItem(f"{category}/{row:03d}", prompt, category, meta))
    return items


def layout_fields(item: PromptItem, file_index: int) -> dict[str, Any]:
    """The official evaluators parse `{prompt}_{idx}` with idx = row*10 + k, a global counter."""
    if "_" in item.prompt:
        raise DataError(f"T2I-CompBench prompt {item.prompt!r} contains '_': the official evaluators split file names "
                        f"on '_' and would misread it")
    return {"index": item.metadata["row"] * 10 + file_index}
