"""Leaderboards beside published rows, deltas, compare, and the regression check."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from t2ir1_eval.cli import main
from t2ir1_eval.io import atomic_write_json
from t2ir1_eval.report.check import check, make_baseline
from t2ir1_eval.report.references import load_references
from t2ir1_eval.report.tables import build_table, to_csv, to_markdown
from t2ir1_eval.suites.spec import load_suite


def _summary(run_dir, scores, model="T2I-R1 (ours)", comparable=True, metric=None, failed=0):
    return {"suite": "t2i-compbench", "benchmark": "T2I-CompBench", "model": model, "model_preset": "t2i-r1",
            "run_dir": str(run_dir), "scores": scores, "n_images": 80, "n_failed": failed, "failed": [],
            "comparable": comparable, "metric": metric,
            "provenance": {"options": {"color_val": "pre-2025-09-03"}, "protocol_version": "x", "seed": 0,
                           "generator": {"model_id": "CaraJ/T2I-R1", "recipe": {"name": "t2i-r1"}, "dtype": "bfloat16"},
                           "scorers": {"blip-vqa": {"model_id": "Salesforce/blip-vqa-capfilt-large"}},
                           "environment": {"tool_version": "0.1.0", "git_commit": "abc", "device": {"gpu": "H100"}}}}


SCORES = {"Color": 0.80, "Shape": 0.58, "Texture": 0.72, "2D-Spatial": 0.33, "Non-spatial": 0.31, "Complex": 0.40,
          "3D-Spatial": 0.35, "Numeracy": 0.60, "Average6": 0.5233}


def test_every_reference_row_has_a_source():
    refs = load_references()
    assert len(refs) > 90 and all(r.source for r in refs)
    assert {r.benchmark for r in refs} == {"GenEval", "T2I-CompBench", "WISE", "DPG-Bench"}


def test_table_puts_runs_beside_references_with_deltas(tmp_path):
    suite = load_suite("t2i-compbench")
    table = build_table(suite, [_summary(tmp_path, SCORES)], baseline="Janus-Pro-7B")
    rows = {r["model"]: r for r in table.rows}
    assert {"T2I-R1", "Janus-Pro-7B", "FLUX.1", "T2I-R1 (ours)"} <= set(rows)
    assert rows["T2I-R1"]["values"]["Color"] == pytest.approx(0.8130)
    assert rows["T2I-R1 (ours)"]["delta"]["Color"] == pytest.approx(0.80 - 0.6359)
    md = to_markdown(table)
    cells = {c[0]: c for c in ([x.strip() for x in ln.strip("|").split("|")] for ln in md.splitlines() if ln.startswith("|"))}
    assert cells["T2I-R1 (ours)"][2] == "0.8000 (+0.1641)"
    assert "T2I-R1 paper" in md and "CaraJ/T2I-R1" in md  # provenance lives in the footnotes
    csv_text = to_csv(table)
    assert csv_text.splitlines()[0].startswith("model,kind,Color,Shape")


def test_smoke_and_foreign_judge_rows_are_labelled(tmp_path):
    suite = load_suite("wise")
    s = _summary(tmp_path, {"Cultural": 0.1, "Overall": 0.1}, model="tiny (random)", comparable=False,
                 metric="WiScore[judge=qwen2-vl-tiny]")
    s["suite"] = "wise"
    row = [r for r in build_table(suite, [s]).rows if r["kind"] == "ours"][0]
    assert "judge=qwen2-vl-tiny" in row["badges"] and "smoke" in row["badges"]


def test_check_names_the_categories_that_fell(tmp_path):
    base = make_baseline(_summary(tmp_path, SCORES))
    worse = dict(SCORES, Color=0.70, Numeracy=0.599)
    fallen = check(_summary(tmp_path, worse), base, tolerance=0.005)
    assert len(fallen) == 1 and fallen[0].startswith("Color: 0.7000 < baseline 0.8000")
    assert check(_summary(tmp_path, SCORES), base, 0.0) == []
    gone = dict(SCORES)
    del gone["Shape"]
    assert check(_summary(tmp_path, gone), base, 1.0)[0].startswith("Shape: missing")


def test_check_and_compare_commands(tmp_path):
    for name, scores in [("a", SCORES), ("b", dict(SCORES, Texture=0.5))]:
        atomic_write_json(tmp_path / name / "summary.json", _summary(tmp_path / name, scores))
    runner = CliRunner()
    r = runner.invoke(main, ["check", str(tmp_path / "a"), "--write-baseline", str(tmp_path / "base.json")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["check", str(tmp_path / "b"), "--baseline", str(tmp_path / "base.json"), "--tolerance", "0.01"])
    assert r.exit_code == 1 and "Texture: 0.5000 < baseline 0.7200" in r.output
    r = runner.invoke(main, ["check", str(tmp_path / "a"), "--baseline", str(tmp_path / "base.json")])
    assert r.exit_code == 0 and "OK" in r.output
    r = runner.invoke(main, ["compare", str(tmp_path / "a"), str(tmp_path / "b")])
    assert r.exit_code == 0 and "| Texture | 0.7200 | 0.5000 | -0.2200 |" in r.output
    r = runner.invoke(main, ["report", str(tmp_path / "a"), "--out", str(tmp_path / "lb"), "--baseline", "Janus-Pro-7B"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "lb" / "t2i-compbench.csv").exists() and (tmp_path / "lb" / "t2i-compbench.md").exists()
    assert "T2I-R1 (ours)" in (tmp_path / "lb" / "t2i-compbench.md").read_text()
