"""DPG-Bench: 1065 dense prompts, 4 images per prompt tiled 2x2 into `{item_id}.png`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import DataError
# decisions and aggregation: named here, so the suite's dependency on its rules is an import
from ..rules import dpg_bench as rules  # noqa: F401
from ..types import PromptItem
from .spec import BENCHMARKS_DIR, Suite


def data_keys(suite: Suite, options: dict[str, Any]) -> list[str]:
    return ["questions"]


def prompt_manifest(suite: Suite) -> dict[str, str]:
    # beside the suite's YAML (an --include-path copy brings its own)
    folder = suite.yaml_path.parent if suite.yaml_path else BENCHMARKS_DIR
    path = folder / suite.prompt_files["manifest"]
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        digest, name = line.split(None, 1)
        out[name.strip()] = digest
    return out


def _sort_key(item_id: str) -> tuple[str, int]:
    m = re.fullmatch(r"([A-Za-z_]*)(\d+)", item_id)
    return (m.group(1), int(m.group(2))) if m else (item_id, -1)


def load_items(suite: Suite, resolver, options: dict[str, Any]) -> list[PromptItem]:
    spec = suite.prompt_files
    folder = resolver.resolve_prompt_dir(spec["dir"], prompt_manifest(suite), spec.get("url"))
    items = []
    for name in prompt_manifest(suite):
        item_id = name[: -len(".txt")]
        # Byte-exact: two upstream prompts carry leading/trailing whitespace and the models saw it.
        text = (Path(folder) / name).read_bytes().decode("utf-8")
        if not text.strip():
            raise DataError(f"{folder / name}: empty prompt")
        prefix = _sort_key(item_id)[0]
        items.append(PromptItem(item_id, text, "dpg", {"item_id": item_id, "prefix": prefix}))
    return sorted(items, key=lambda it: _sort_key(it.prompt_id))
