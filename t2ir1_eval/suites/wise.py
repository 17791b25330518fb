"""WISE: 1000 knowledge prompts, one image each named `{prompt_id}.png`."""

from __future__ import annotations

import json
from typing import Any

from ..errors import DataError
# decisions and aggregation: named here, so the suite's dependency on its rules is an import
from ..rules import wise as rules  # noqa: F401
from ..types import PromptItem
from .spec import Suite

FILES = ["cultural_common_sense", "spatio-temporal_reasoning", "natural_science"]


def data_keys(suite: Suite, options: dict[str, Any]) -> list[str]:
    judge = ["judge_prompts", f"judge_{options['protocol']}_system", f"judge_{options['protocol']}_user"]
    return [f"{options['protocol']}_{f}" for f in FILES] + judge


def load_items(suite: Suite, resolver, options: dict[str, Any]) -> list[PromptItem]:
    from ..rules.wise import category_of

    protocol = options["protocol"]
    items = []
    for f in FILES:
        path = suite.data_file(resolver, f"{protocol}_{f}")
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: expected a JSON list of prompts, found invalid JSON: {exc}") from exc
        for row in rows:
            if "prompt_id" not in row or "Prompt" not in row:
                raise DataError(f"{path}: expected rows with 'prompt_id' and 'Prompt', found keys {sorted(row)}")
            items.append(PromptItem(str(row["prompt_id"]), row["Prompt"], category_of(row, protocol), row))
    return sorted(items, key=lambda it: int(it.prompt_id))
