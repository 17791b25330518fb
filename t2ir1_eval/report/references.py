"""Published numbers (results/references.csv), each row with its source."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from ..suites.spec import bundled_dir

REFERENCES = bundled_dir("results", "t2ir1_eval.reference_data") / "references.csv"
COLUMNS = ["model", "benchmark", "category", "score", "scale", "source"]


@dataclass(frozen=True)
class Reference:
    model: str
    benchmark: str
    category: str
    score: float
    scale: str
    source: str


def load_references(path: Path = REFERENCES) -> list[Reference]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != COLUMNS:
            raise DataError(f"{path}: expected columns {COLUMNS}, found {reader.fieldnames}")
        out = []
        for n, row in enumerate(reader, 2):
            if not row["source"].strip():
                raise DataError(f"{path}:{n}: every reference row needs a source, found none for {row['model']} {row['category']}")
            if row["source"].strip().lower().startswith("derived"):
                raise DataError(f"{path}:{n}: {row['model']} {row['category']} is a derived aggregate; the tool computes "
                                f"those from the per-category rows (suite YAML 'derived:'), so delete the row "
                                f"(scripts/sync_references.py does)")
            try:
                score = float(row["score"])
            except ValueError as exc:
                raise DataError(f"{path}:{n}: score must be a number, found {row['score']!r}") from exc
            out.append(Reference(row["model"], row["benchmark"], row["category"], score, row["scale"], row["source"]))
    return out


def reference_table(benchmark: str, path: Path = REFERENCES) -> dict[str, dict[str, object]]:
    """model -> {category: score, "_source": ..., "_scale": ...} for one benchmark."""
    table: dict[str, dict[str, object]] = {}
    for ref in load_references(path):
        if ref.benchmark != benchmark:
            continue
        row = table.setdefault(ref.model, {"_sources": [], "_scale": ref.scale, "_source_of": {}})
        row[ref.category] = ref.score
        row["_source_of"][ref.category] = ref.source
        if ref.source not in row["_sources"]:
            row["_sources"].append(ref.source)
    return table
