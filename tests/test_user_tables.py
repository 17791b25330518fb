"""Tables a person can read, and leaderboards / per-image results as data (pandas, datasets)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner
from PIL import Image

from t2ir1_eval.cli import main
from t2ir1_eval.errors import DataError
from t2ir1_eval.io import atomic_write_json
from t2ir1_eval.report.references import REFERENCES, load_references
from t2ir1_eval.report.tables import build_table, to_csv, to_json, to_markdown
from t2ir1_eval.suites.spec import load_suite

SCORES = {"Color": 0.80, "Shape": 0.58, "Texture": 0.72, "2D-Spatial": 0.33, "Non-spatial": 0.31, "Complex": 0.40,
          "3D-Spatial": 0.35, "Numeracy": 0.60, "Average6": 0.5233}


def _summary(run_dir, scores, model="Mine", n_prompts=2400, options=None, metric=None):
    return {"suite": "t2i-compbench", "benchmark": "T2I-CompBench", "model": model, "model_preset": "folder",
            "run_dir": str(run_dir), "scores": scores, "n_images": n_prompts * 10, "n_prompts": n_prompts, "n_failed": 0,
            "failed": [], "comparable": True, "metric": metric,
            "provenance": {"options": options or {"color_val": "pre-2025-09-03", "depth_indexing": "transposed"},
                           "protocol_version": "x", "seed": 0, "generator": {"model": model, "images": "/data/" + "x" * 150},
                           "scorers": {"blip-vqa": {"model_id": "Salesforce/blip-vqa-capfilt-large"}},
                           "environment": {"tool_version": "0.1.0", "git_commit": "abc", "device": {"gpu": "H100"}}}}


def _rows(md: str) -> dict[str, list[str]]:
    return {c[0]: c for c in ([x.strip() for x in ln.strip().strip("|").split("|")] for ln in md.splitlines()
                              if ln.startswith("| ") and not ln.startswith("| Model"))}


def _write(tmp_path, name, summary):
    atomic_write_json(tmp_path / name / "summary.json", summary)
    return tmp_path / name


def test_table_cells_are_short_with_badges_and_footnoted_provenance(tmp_path):
    partial = _summary(tmp_path / "p", SCORES, model="Partial", n_prompts=16,
                       options={"color_val": "current", "depth_indexing": "row_col"})
    table = build_table(load_suite("t2i-compbench"), [_summary(tmp_path / "a", SCORES), partial])
    md = to_markdown(table)
    rows = _rows(md)
    assert rows["Partial"][1] == "partial 16/2400, corrected: color_val=current,depth_indexing=row_col"
    assert rows["T2I-R1"][1] == "unverified: Numeracy"
    assert all(len(cell) < 80 for row in rows.values() for cell in row)  # provenance is not in a cell
    ref = rows["Mine"][-1]
    footnote = next(ln for ln in md.splitlines() if ln.startswith(ref + " "))
    assert "blip-vqa=Salesforce/blip-vqa-capfilt-large" in footnote and "x" * 150 in footnote


def test_csv_deltas_are_rounded_and_compare_prints_no_negative_zero(tmp_path):
    a = _write(tmp_path, "a", _summary(tmp_path / "a", SCORES))
    b = _write(tmp_path, "b", _summary(tmp_path / "b", dict(SCORES, Color=0.80 - 1e-9, Texture=0.5)))
    r = CliRunner().invoke(main, ["report", str(a), "--out", str(tmp_path / "lb"), "--baseline", "Janus-Pro-7B"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO((tmp_path / "lb" / "t2i-compbench.csv").read_text())))
    t2i = next(row for row in rows if row["model"] == "T2I-R1")
    assert t2i["delta_Color"] == "0.1771"  # 0.8130 - 0.6359, not 0.17709999999999992
    assert all(len(row[k].split(".")[-1]) <= 4 for row in rows for k in row if k.startswith("delta_") and row[k])
    r = CliRunner().invoke(main, ["compare", str(a), str(b)])
    assert r.exit_code == 0
    assert "| Color | 0.8000 | 0.8000 | 0.0000 |" in r.output and "| Texture | 0.7200 | 0.5000 | -0.2200 |" in r.output
    assert "-0.0000" not in r.output


def test_baseline_exact_or_unique_prefix_and_says_which(tmp_path):
    a = _write(tmp_path, "a", _summary(tmp_path / "a", SCORES, model="T2I-R1"))  # same name as the published row
    out = ["--out", str(tmp_path / "lb")]
    r = CliRunner().invoke(main, ["report", str(a), *out, "--baseline", "T2I-R1"])
    assert r.exit_code == 0 and "deltas against the row 'T2I-R1' (--baseline 'T2I-R1')" in r.output
    assert _rows(r.output)["T2I-R1 (ours)"][2] == "0.8000 (-0.0130)"
    r = CliRunner().invoke(main, ["report", str(a), *out, "--baseline", "sd"])
    assert r.exit_code == 0 and "deltas against the row 'SD3'" in r.output
    r = CliRunner().invoke(main, ["report", str(a), *out, "--baseline", "T2I"])
    assert r.exit_code == 2 and "ambiguous" in r.output and "'T2I-R1 (ours)'" in r.output
    r = CliRunner().invoke(main, ["report", str(a), *out, "--baseline", "Imagen"])
    assert r.exit_code == 2 and "matches no row" in r.output


def test_derived_mean_computed_for_every_row_that_has_its_parts(tmp_path):
    assert not [r for r in load_references() if r.category == "Average6"]  # none stored by hand
    table = build_table(load_suite("t2i-compbench"), [_summary(tmp_path, dict(SCORES, Average6=0.0))])
    avg = {r["model"]: r["values"]["Average6"] for r in table.rows}
    assert round(avg["T2I-R1"], 4) == 0.5281 and round(avg["Janus-Pro-7B"], 4) == 0.3921  # the corrected values
    assert avg["FLUX.1"] == pytest.approx((0.7407 + 0.5718 + 0.6922 + 0.2863 + 0.3127 + 0.3703) / 6)
    assert avg["Emu3"] is None  # only 3 of the 6 columns published
    assert avg["Mine"] == pytest.approx(sum(SCORES[c] for c in ["Color", "Shape", "Texture", "2D-Spatial", "Non-spatial",
                                                                 "Complex"]) / 6)
    md = to_markdown(table)
    assert "Average6 (derived)" in md and "Average6 (derived) = mean of Color, Shape" in md
    bad = tmp_path / "refs.csv"
    bad.write_text(REFERENCES.read_text() + 'X,T2I-CompBench,Average6,0.5,0-1,"derived: by hand"\n')
    with pytest.raises(DataError, match="derived aggregate"):
        load_references(bad)


def test_leaderboard_exports_share_one_frame(tmp_path):
    import pandas as pd

    a = _write(tmp_path, "a", _summary(tmp_path / "a", SCORES))
    r = CliRunner().invoke(main, ["report", str(a), "--out", str(tmp_path / "lb")])
    assert r.exit_code == 0, r.output
    lb = tmp_path / "lb"
    pq = pd.read_parquet(lb / "t2i-compbench.parquet")
    js = json.loads((lb / "t2i-compbench.json").read_text())
    cs = pd.read_csv(lb / "t2i-compbench.csv")
    assert list(pq["model"]) == [row["model"] for row in js["rows"]] == list(cs["model"])
    assert pq.loc[pq["model"] == "Mine", "Color"].item() == 0.80 == js["rows"][-1]["Color"]
    assert js["footnotes"][js["rows"][-1]["note"]].startswith("run ")


def test_per_image_results_load_as_a_datasets_parquet(tmp_path, data_dir, monkeypatch):
    import datasets

    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf"))
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    for i in ["1", "401", "568", "701", "801", "901"]:
        Image.new("RGB", (16, 16), (int(i) % 255, 0, 0)).save(imgs / f"{i}.png")
    run_dir = tmp_path / "run"
    r = CliRunner().invoke(main, ["generate", "--bench", "wise", "--model", "folder", "--name", "Outside", "--limit", "1",
                                  "--images", str(imgs), "--data-dir", str(data_dir), "--run-dir", str(run_dir)])
    assert r.exit_code == 0, r.output
    assert CliRunner().invoke(main, ["rescore", str(run_dir)]).exit_code == 0  # unscored: decisions say why
    r = CliRunner().invoke(main, ["export", str(run_dir)])
    assert r.exit_code == 0, r.output
    ds = datasets.load_dataset("parquet", data_files=str(run_dir / "per_image.parquet"), split="train",
                               cache_dir=str(tmp_path / "hf"))
    assert len(ds) == 6 and set(ds.column_names) >= {"prompt", "category", "image", "image_path", "decision", "reasons", "raw"}
    row = ds[0]
    assert row["prompt_id"] == "1" and row["category"] == "culture" and row["prompt"]
    assert row["image"].size == (16, 16) and row["image_path"].endswith("images/1.png")
    assert row["failed"] and "not scored" in row["reasons"]


# ------------------------------------------------------------------------- intervals and seeds in every table
def _with_uncertainty(run_dir, seed, shift=0.0, model="Mine", options=None):
    """A summary as finalise writes it: an identity (which the seed is part of) and an interval per score."""
    scores = {c: v + shift for c, v in SCORES.items()}
    s = _summary(run_dir, scores, model=model, options=options)
    s["provenance"]["seed"] = seed
    s["provenance"]["identity"] = {"suite": "t2i-compbench", "model": "folder", "seed": seed,
                                   "generator": {"images": "/data/imgs"}, "options": s["provenance"]["options"]}
    s["uncertainty"] = {"method": "percentile", "seed": 0, "n_resamples": 1000, "level": 0.95,
                        "intervals": {c: {"lo": v - 0.021, "hi": v + 0.034, "se": 0.01} for c, v in scores.items()}}
    return s


def test_intervals_and_seed_spread_reach_markdown_and_csv(tmp_path):
    import statistics

    a, b = _with_uncertainty(tmp_path / "a", 0), _with_uncertainty(tmp_path / "b", 1, shift=0.01)
    other = _with_uncertainty(tmp_path / "c", 2, model="Other", options={"color_val": "current", "depth_indexing": "row_col"})
    lone = dict(_summary(tmp_path / "d", SCORES, model="Other"), uncertainty=a["uncertainty"])  # no identity: never pooled
    lone["provenance"]["seed"] = 3
    table = build_table(load_suite("t2i-compbench"), [a, b, other, lone], baseline="Janus-Pro-7B")
    md = to_markdown(table)
    rows = _rows(md)
    # our score, its interval one decimal shorter, then the delta; published rows have no interval
    color = SCORES["Color"]
    assert rows["Mine [a]"][2] == f"{color:.4f} [{color - 0.021:.3f}, {color + 0.034:.3f}] (+{color - 0.6359:.4f})"
    assert rows["T2I-R1"][2] == "0.8130 (+0.1771)"
    # one mean ± sd row, for the two runs that differ only in their seed
    seeds = [r for r in table.rows if r["kind"] == "seeds"]
    assert [r["model"] for r in seeds] == ["Mine (mean ± sd over 2 seeds)"]
    mean, sd = statistics.fmean([color, color + 0.01]), statistics.stdev([color, color + 0.01])
    assert rows["Mine (mean ± sd over 2 seeds)"][2] == f"{mean:.4f} ± {sd:.4f} (+{mean - 0.6359:.4f})"
    assert "[lo, hi] after a score of ours" in md and "95% level, 1000 resamples, seed 0" in md and "sd_COLUMN" in md

    by_model = {r["model"]: r for r in csv.DictReader(io.StringIO(to_csv(table)))}
    assert float(by_model["Mine [a]"]["lo_Color"]) == pytest.approx(color - 0.021)
    assert float(by_model["Mine [b]"]["hi_Color"]) == pytest.approx(color + 0.01 + 0.034)
    assert by_model["T2I-R1"]["lo_Color"] == by_model["T2I-R1"]["hi_Color"] == ""  # published: blank
    seed_row = by_model["Mine (mean ± sd over 2 seeds)"]
    assert seed_row["kind"] == "seeds" and float(seed_row["sd_Color"]) == pytest.approx(sd) and seed_row["lo_Color"] == ""
    assert by_model["Mine [a]"]["sd_Color"] == ""
    js = json.loads(to_json(table))
    assert js["rows"][-1]["model"] == "Mine (mean ± sd over 2 seeds)" and js["rows"][-1]["sd_Color"] == pytest.approx(sd)


def test_seed_rows_only_for_distinct_seeds_of_one_config(tmp_path):
    from t2ir1_eval.report.seeds import seed_groups

    a, b = _with_uncertainty(tmp_path / "a", 0), _with_uncertainty(tmp_path / "b", 1)
    partial = _with_uncertainty(tmp_path / "p", 2)
    partial["n_prompts"] = 16  # another --limit: other prompts, not another draw of the same ones
    same_seed = _with_uncertainty(tmp_path / "s", 0)
    assert seed_groups([a, b, partial]) == [[0, 1]]
    assert seed_groups([a, b, same_seed]) == []  # seed 0 twice would count one draw twice
    no_identity = [_summary(tmp_path / "x", SCORES), _summary(tmp_path / "y", SCORES)]
    no_identity[1]["provenance"]["seed"] = 1
    assert seed_groups(no_identity) == []
    # without intervals (an older summary) the cells stay as they were: no empty brackets, no note
    md = to_markdown(build_table(load_suite("t2i-compbench"), no_identity))
    assert "[lo, hi]" not in md and "[]" not in md and _rows(md)["Mine [x]"][2] == "0.8000"
