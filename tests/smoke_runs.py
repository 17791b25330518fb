"""The offline smoke runs of `make demo` (GenEval and WISE), made by the real CLI in subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO_ARGS = ["--model", "tiny", "--tiny-scorers", "--limit", "2", "--device", "cpu"]


def run_cli(args: list[str], cwd: Path = REPO, pythonpath: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(pythonpath or REPO)
    env.pop("OPENAI_API_KEY", None)  # the smoke judge must not need (or see) a real key
    proc = subprocess.run([sys.executable, "-m", "t2ir1_eval.cli", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"t2ir1-eval {' '.join(args)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def geneval_args(run_dir: Path, data_dir: Path, seed: int = 0) -> list[str]:
    return ["run", "--bench", "geneval", "--run-dir", str(run_dir), "--seed", str(seed), "--data-dir", str(data_dir),
            *DEMO_ARGS, "--scorer-option", "geneval.backend=synthetic"]


def wise_args(run_dir: Path, data_dir: Path, seed: int = 0) -> list[str]:
    # as the Makefile's demo-wise: the real OpenAI client against the seeded smoke judge on loopback
    return ["smoke-judge", "--port", "0", "--", sys.executable, "-m", "t2ir1_eval.cli", "run", "--bench", "wise",
            "--run-dir", str(run_dir), "--seed", str(seed), "--data-dir", str(data_dir), *DEMO_ARGS,
            "--scorer-option", "wise-judge.base_url={base_url}", "--scorer-option", "wise-judge.model_id=smoke-judge",
            "--scorer-option", "wise-judge.api_key_env=T2IR1_SMOKE_JUDGE_KEY", "--scorer-option", "wise-judge.cache=false"]


def dpg_args(run_dir: Path, data_dir: Path, seed: int = 0) -> list[str]:
    return ["run", "--bench", "dpg-bench", "--run-dir", str(run_dir), "--seed", str(seed), "--data-dir", str(data_dir),
            *DEMO_ARGS, "--fallback-data", f"questions={REPO / 'tests' / 'data' / 'dpg_bench_small.csv'}",
            "--scorer-option", "dpg-vqa.backend=t2ir1_eval.scorers.dpg.synthetic:SyntheticVqa"]


def make_smoke_runs(root: Path, data_dir: Path) -> dict[str, Path]:
    runs = {"geneval": root / "geneval", "geneval-seed1": root / "geneval-seed1", "wise": root / "wise",
            "dpg-bench": root / "dpg-bench"}
    run_cli(geneval_args(runs["geneval"], data_dir, 0))
    run_cli(geneval_args(runs["geneval-seed1"], data_dir, 1))
    run_cli(wise_args(runs["wise"], data_dir, 0))
    run_cli(dpg_args(runs["dpg-bench"], data_dir, 0))
    return runs
