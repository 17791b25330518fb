"""Defaults that do not surprise: no default model, suite lists, recursive report, display-name
categories, progress lines in plain logs, scorer-option typos caught before any image is made."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from PIL import Image

from t2ir1_eval.cli import main

REPO = Path(__file__).resolve().parents[1]
WISE_IDS = ["1", "401", "568", "701", "801", "901"]  # first prompt of each WISE category


def _wise_images(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in WISE_IDS:
        Image.new("RGB", (16, 16), (int(i) % 255, 0, 0)).save(root / f"{i}.png")
    return root


def test_run_and_generate_need_a_model(data_dir, tmp_path):
    for cmd in ["run", "generate"]:
        r = CliRunner().invoke(main, [cmd, "--bench", "geneval", "--data-dir", str(data_dir), "--run-dir", str(tmp_path / "r")])
        assert r.exit_code == 2 and "Missing option '--model'" in r.output
    assert not (tmp_path / "r").exists()
    demo_args = next(ln for ln in (REPO / "Makefile").read_text().splitlines() if ln.startswith("DEMO_ARGS"))
    assert "--model tiny" in demo_args  # the smoke run says what it runs


def test_bench_takes_a_comma_list_and_all(data_dir, tmp_path):
    r = CliRunner().invoke(main, ["run", "--bench", "geneval,wise", "--model", "t2i-r1", "--dry-run", "--limit", "1",
                                  "--data-dir", str(data_dir)])
    assert r.exit_code == 0, r.output
    assert "a photo of a bench" in r.output and '"prompt_id": "401"' in r.output
    r = CliRunner().invoke(main, ["generate", "--bench", "all", "--model", "folder", "--name", "x", "--dry-run",
                                  "--images", str(tmp_path), "--limit", "1", "--data-dir", str(data_dir)])
    assert r.exit_code == 0, r.output
    for pid in ['"00000"', '"color/000"', '"1"', '"0"']:  # GenEval, T2I-CompBench, WISE, DPG-Bench
        assert f'"prompt_id": {pid}' in r.output
    assert r.output.count("(pre-generated image)") == 3 + 3 + 3 + 1  # a dry run shows 3 prompts; DPG has 1 category
    make_all = (REPO / "Makefile").read_text().split("\nall:", 1)[1].splitlines()[1]
    assert "--bench all" in make_all
    r = CliRunner().invoke(main, ["run", "--bench", "geneval,wies", "--model", "tiny", "--dry-run", "--data-dir", str(data_dir)])
    assert r.exit_code == 2 and "Did you mean 'wise'" in r.output


def test_report_finds_nested_runs_and_says_when_there_are_none(data_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, ["report", "--runs-dir", "results/runs", "--out", "lb"])
    assert r.exit_code == 0 and "warning: no runs (summary.json) under results/runs" in r.output
    run_dir = tmp_path / "results" / "runs" / "demo" / "wise"  # nested like `make demo`'s runs
    r = CliRunner().invoke(main, ["generate", "--bench", "wise", "--model", "folder", "--name", "Outside", "--limit", "1",
                                  "--images", str(_wise_images(tmp_path / "imgs")), "--data-dir", str(data_dir),
                                  "--run-dir", str(run_dir)])
    assert r.exit_code == 0, r.output
    assert CliRunner().invoke(main, ["rescore", str(run_dir)]).exit_code == 0
    r = CliRunner().invoke(main, ["report", "--out", "lb"])
    assert r.exit_code == 0, r.output
    assert "1 run(s) under results/runs" in r.output and "| Outside " in r.output and "warning" not in r.output


def test_category_accepts_display_names(data_dir):
    r = CliRunner().invoke(main, ["run", "--bench", "geneval", "--model", "t2i-r1", "--dry-run", "--limit", "1",
                                  "--category", "Color Attribution", "--category", "counting", "--data-dir", str(data_dir)])
    assert r.exit_code == 0, r.output
    assert "a photo of a bench" not in r.output  # single_object is not selected
    assert "a photo of a" in r.output
    r = CliRunner().invoke(main, ["run", "--bench", "geneval", "--model", "t2i-r1", "--dry-run", "--category", "Colour",
                                  "--data-dir", str(data_dir)])
    assert r.exit_code == 2 and "color_attr (Color Attribution)" in r.output


def test_progress_lines_in_a_non_interactive_log(data_dir, tmp_path):
    """stderr is a pipe here, as under Slurm or nohup: a line with rate and ETA, not silence."""
    env = {k: v for k, v in os.environ.items() if k != "T2IR1_EVAL_DATA"}
    env.update(PYTHONPATH=str(REPO), T2IR1_EVAL_PROGRESS_SECONDS="0")
    r = subprocess.run([sys.executable, "-m", "t2ir1_eval.cli", "generate", "--bench", "wise", "--model", "folder",
                        "--name", "x", "--images", str(_wise_images(tmp_path / "imgs")), "--limit", "1",
                        "--data-dir", str(data_dir), "--run-dir", str(tmp_path / "run")],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "import wise: 3/6 file (50%)" in r.stderr and "file/s" in r.stderr and "ETA" in r.stderr


def test_mistyped_scorer_option_fails_before_generation(data_dir, tmp_path):
    r = CliRunner().invoke(main, ["run", "--bench", "wise", "--model", "folder", "--name", "x", "--limit", "1",
                                  "--images", str(_wise_images(tmp_path / "imgs")), "--data-dir", str(data_dir),
                                  "--run-dir", str(tmp_path / "run"), "--scorer-option", "wise-jduge.backend=transformers"])
    assert r.exit_code == 2 and "Did you mean 'wise-judge'" in r.output
    assert not (tmp_path / "run" / "images").exists() and not (tmp_path / "run" / "manifest").exists()
