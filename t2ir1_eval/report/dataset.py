"""A run's per-image results as a Hugging Face ``datasets.Dataset`` saved as Parquet.

One row per image file: prompt, category, the image itself (bytes embedded, so the Parquet file
stands alone and ``push_to_hub`` needs nothing else), its path in the run, the decision, its
reasons and the scorer's raw output. ``load_dataset("parquet", data_files=PATH)`` reads it back
with the image column decoded as PIL images.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..io import atomic_write_bytes, read_jsonl
from ..store import RunStore

#: decision keys that explain a verdict (whichever the suite's rules report)
REASON_KEYS = ("reason", "error", "problem", "sublist")


def per_image_rows(run_dir: Path) -> list[dict[str, Any]]:
    run_dir = Path(run_dir)
    decisions = run_dir / "decisions.jsonl"
    if not decisions.exists():
        raise ConfigError(f"{decisions}: not found; score the run first (t2ir1-eval score {run_dir} or rescore)")
    store = RunStore(run_dir)
    records = store.records()
    prompts = {row["prompt_id"]: row.get("prompt") for row in store.manifest() if "prompt_id" in row}
    rows = []
    for d in read_jsonl(decisions):
        decision = d["decision"]
        rec = records.get((d["prompt_id"], d["file_index"]))
        meta = d.get("metadata") or {}
        prompt = prompts.get(d["prompt_id"]) or meta.get("prompt") or meta.get("Prompt") or ""
        reasons = {k: decision[k] for k in REASON_KEYS if decision.get(k) not in (None, "", [], {})}
        rows.append({
            "prompt_id": d["prompt_id"], "prompt": prompt, "category": d["category"], "file_index": d["file_index"],
            "image_path": str(store.image_path(d["file"])),
            "score": None if decision.get("score") is None else float(decision["score"]),
            "failed": bool(decision.get("failed", False)),
            "reasons": json.dumps(reasons, ensure_ascii=False, default=str),
            "decision": json.dumps(decision, ensure_ascii=False, default=str),
            "raw": json.dumps(rec["raw"] if rec else None, ensure_ascii=False, default=str),
            "scorer": rec.get("scorer", "") if rec else "",
        })
    return rows


def build_dataset(run_dir: Path, images: bool = True) -> Any:
    """The run as a ``datasets.Dataset`` (image column embedded as bytes unless ``images=False``)."""
    import datasets

    rows = per_image_rows(run_dir)
    features = {"prompt_id": datasets.Value("string"), "prompt": datasets.Value("string"),
                "category": datasets.Value("string"), "file_index": datasets.Value("int32"),
                "image_path": datasets.Value("string"), "score": datasets.Value("float64"),
                "failed": datasets.Value("bool"), "reasons": datasets.Value("string"),
                "decision": datasets.Value("string"), "raw": datasets.Value("string"), "scorer": datasets.Value("string")}
    if images:
        features["image"] = datasets.Image()
        for r in rows:
            path = Path(r["image_path"])
            r["image"] = {"bytes": path.read_bytes(), "path": path.name} if path.is_file() else None
    return datasets.Dataset.from_list(rows, features=datasets.Features(features))


def export_run(run_dir: Path, out: Path | None = None, images: bool = True) -> Path:
    """Write ``<run>/per_image.parquet`` (or ``out``) atomically; returns its path."""
    import io

    out = Path(out) if out else Path(run_dir) / "per_image.parquet"
    buf = io.BytesIO()
    import datasets

    datasets.disable_progress_bars()  # the CLI prints one line; a bar per Arrow batch is noise
    build_dataset(run_dir, images=images).to_parquet(buf)
    atomic_write_bytes(out, buf.getvalue())
    return out
