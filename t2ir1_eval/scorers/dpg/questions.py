"""Read DPG-Bench's questions CSV (ELLA ``dpg_bench/dpg_bench.csv``) the way the official code does.

One row per question: ``item_id, text, keywords, proposition_id, dependency, category_broad,
category_detailed, tuple, question_natural_language``. Every column is read as a string
(pandas' dtype inference would turn numeric item ids into ints and single-integer dependency
columns into int64, which breaks the official code in two different ways).

Grouping reproduces ``prepare_dpg_data``: rows of one item are expected to be contiguous; a
later, separate block of the same item replaces the earlier one (a warning says so). Row 0 is
kept here with its index: the first-row bug is a rule option (``rules/dpg_bench.py``), so both
modes can be scored from the same answers.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

from ...errors import DataError

log = logging.getLogger(__name__)

#: the columns the scorer uses; the official file has these plus text, keywords, category_broad, category_detailed
REQUIRED_COLUMNS = ("item_id", "proposition_id", "dependency", "tuple", "question_natural_language")
OFFICIAL_COLUMNS = (
    "item_id", "text", "keywords", "proposition_id", "dependency",
    "category_broad", "category_detailed", "tuple", "question_natural_language",
)

#: one question: ``row`` is the 0-based data row (the first-row bug drops row 0)
Question = dict[str, Any]


def parse_dependency(text: str) -> list[int]:
    """``"1,2"`` -> ``[1, 2]``; ``"0"`` means no parent (official: split on "," and int())."""
    return [int(part.strip()) for part in text.split(",")]


def load_questions(csv_path: Path) -> dict[str, list[Question]]:
    """``item_id -> [question, ...]`` in CSV order (each item's surviving block)."""
    path = Path(csv_path)
    try:
        fh = open(path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise DataError(f"{path}: cannot read the DPG-Bench questions CSV: {exc}") from exc
    with fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise DataError(
                f"{path}: not a DPG-Bench questions CSV: expected the columns {', '.join(OFFICIAL_COLUMNS)} "
                f"(at least {', '.join(REQUIRED_COLUMNS)}), found {header or 'no header'}; missing {missing}"
            )
        items: dict[str, list[Question]] = {}
        previous = None
        for row_index, row in enumerate(reader):
            line = row_index + 2  # header is line 1
            for column in REQUIRED_COLUMNS:
                if row.get(column) is None or not row[column].strip():
                    raise DataError(f"{path}:{line}: expected a value in column {column!r}, found {row.get(column)!r}")
            item_id = row["item_id"]
            try:
                qid = int(row["proposition_id"])
            except ValueError as exc:
                raise DataError(f"{path}:{line}: expected an integer proposition_id, found {row['proposition_id']!r}") from exc
            try:
                dependency = parse_dependency(row["dependency"])
            except ValueError as exc:
                raise DataError(
                    f"{path}:{line}: expected comma-separated integer parents in 'dependency' (0 = none), "
                    f"found {row['dependency']!r}"
                ) from exc
            question = {
                "row": row_index,
                "qid": qid,
                "dependency": dependency,
                "tuple": row["tuple"],
                "question": row["question_natural_language"],
            }
            if item_id != previous:
                if item_id in items:
                    log.warning("%s:%d: item %s appears again after other items; as in the official code, "
                                "this block replaces its earlier questions", path, line, item_id)
                items[item_id] = []
            items[item_id].append(question)
            previous = item_id
    if not items:
        raise DataError(f"{path}: the DPG-Bench questions CSV has a header but no question rows")
    return items


def first_row_item(questions: dict[str, list[Question]]) -> str | None:
    """The item that holds CSV row 0 (the question the first-row bug loses); None if replaced."""
    for item_id, rows in questions.items():
        if any(q["row"] == 0 for q in rows):
            return item_id
    return None
