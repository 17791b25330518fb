"""Reading the DPG-Bench questions CSV: our schema CSV, wrong schemas, the official file when present."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from t2ir1_eval.errors import DataError
from t2ir1_eval.io import git_blob_sha1
from t2ir1_eval.scorers.dpg.questions import OFFICIAL_COLUMNS, first_row_item, load_questions

SMALL = Path(__file__).parent / "data" / "dpg_bench_small.csv"
OFFICIAL_BLOB = "98457fc9901943f51ff9a30367250fc292533bed"
HEADER = ",".join(OFFICIAL_COLUMNS)


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "q.csv"
    p.write_text(text, encoding="utf-8")
    return p


def test_small_csv_groups_rows_per_item_in_csv_order():
    qs = load_questions(SMALL)
    assert list(qs) == ["partiprompts97", "0", "1", "2"]  # ids stay strings, "0" is not an int
    assert first_row_item(qs) == "partiprompts97"
    first = qs["partiprompts97"]
    assert [x["row"] for x in first] == [0, 1, 2, 3]
    assert first[3]["dependency"] == [1, 3]  # "1,3" quoted in the CSV
    assert qs["0"][5]["tuple"] == "global - (morning)"
    assert all(x["question"].endswith("?") for rows in qs.values() for x in rows)


def test_small_csv_item_ids_are_benchmark_prompts(data_dir):
    ids = {json.loads(line)["item_id"] for line in (data_dir / "dpg_bench" / "prompts.jsonl").open(encoding="utf-8")}
    assert set(load_questions(SMALL)) <= ids


def test_wrong_schema_names_file_expected_and_found(tmp_path):
    p = write(tmp_path, "id,question,answer\n0,Is there a cat?,yes\n")
    with pytest.raises(DataError) as err:
        load_questions(p)
    msg = str(err.value)
    assert str(p) in msg and "question_natural_language" in msg and "'answer'" in msg


def test_bad_dependency_names_the_line(tmp_path):
    p = write(tmp_path, HEADER + '\n0,t,k,1,0,e,w,entity - whole (a),Is there a?\n0,t,k,2,"1;x",e,w,entity - whole (b),Is there b?\n')
    with pytest.raises(DataError, match=r"q\.csv:3: .*dependency.*'1;x'"):
        load_questions(p)


def test_empty_required_value_is_refused(tmp_path):
    p = write(tmp_path, HEADER + "\n0,t,k,1,,e,w,entity - whole (a),Is there a?\n")
    with pytest.raises(DataError, match="q.csv:2: expected a value in column 'dependency'"):
        load_questions(p)


def test_separate_block_of_an_item_replaces_the_earlier_one(tmp_path, caplog):
    rows = [
        "a,t,k,1,0,e,w,entity - whole (x),Is there x?",
        "b,t,k,1,0,e,w,entity - whole (y),Is there y?",
        "a,t,k,7,0,e,w,entity - whole (z),Is there z?",
    ]
    p = write(tmp_path, HEADER + "\n" + "\n".join(rows) + "\n")
    with caplog.at_level(logging.WARNING):
        qs = load_questions(p)
    assert [x["qid"] for x in qs["a"]] == [7] and "replaces" in caplog.text
    assert first_row_item(qs) is None  # row 0's block was replaced


def official_csv(data_dir: Path) -> Path | None:
    """Beside the other benchmark data, or wherever T2IR1_EVAL_DPG_CSV points."""
    candidates = [data_dir / "dpg_bench" / "dpg_bench.csv"]
    if os.environ.get("T2IR1_EVAL_DPG_CSV"):
        candidates.insert(0, Path(os.environ["T2IR1_EVAL_DPG_CSV"]))
    for p in candidates:
        if p.is_file():
            return p
    return None


def test_official_csv_when_present(data_dir):
    path = official_csv(data_dir)
    if path is None:
        pytest.skip("the official dpg_bench.csv is not on this machine (see shared/benchmarks/dpg_bench/SOURCES.md)")
    assert git_blob_sha1(path) == OFFICIAL_BLOB
    qs = load_questions(path)
    assert first_row_item(qs) == "partiprompts97"  # ELLA issue #61
    assert len(qs) == 1065
