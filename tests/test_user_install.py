"""A user's install: the wheel carries the suites and published numbers; users add suites with --include-path.

The wheel test builds the real wheel and installs it (no editable finder, no PYTHONPATH) into a
fresh venv that sees only this environment's third-party packages, then runs the CLI from a
folder outside the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from click.testing import CliRunner

from t2ir1_eval.cli import main

REPO = Path(__file__).resolve().parents[1]


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "T2IR1_EVAL_DATA", "VIRTUAL_ENV"}}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    # build from a copy: an in-tree build/ left by an older build could slip stale modules into the wheel
    src = tmp / "src"
    src.mkdir()
    for name in ["t2ir1_eval", "benchmarks", "setup.py", "setup.cfg", "pyproject.toml", "README.md"]:
        p = REPO / name
        (shutil.copytree(p, src / name, ignore=shutil.ignore_patterns("__pycache__")) if p.is_dir()
         else shutil.copy2(p, src / name))
    (src / "results").mkdir()
    shutil.copy2(REPO / "results" / "references.csv", src / "results" / "references.csv")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp / "dist"),
                    str(src)], check=True, env=_clean_env(), cwd=tmp)
    wheel = next((tmp / "dist").glob("t2ir1_eval-*.whl"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # the fresh venv sees this environment's dependencies (torch, transformers, ...) through a path
    # line; .pth files inside that folder (our editable finder) are not executed from there
    purelib = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  check=True, capture_output=True, text=True).stdout.strip())
    (purelib / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed", str(wheel)],
                   check=True, env=_clean_env(), cwd=tmp)
    return venv


@pytest.mark.slow
def test_wheel_install_has_the_suites_and_runs_from_anywhere(wheel_venv, data_dir, tmp_path):
    py, cli = wheel_venv / "bin" / "python", wheel_venv / "bin" / "t2ir1-eval"
    where = subprocess.run([str(py), "-c", "import t2ir1_eval; print(t2ir1_eval.__file__)"], check=True, cwd=tmp_path,
                           capture_output=True, text=True, env=_clean_env()).stdout.strip()
    assert Path(where).is_relative_to(wheel_venv), f"imported from {where}, not from the installed wheel"
    r = subprocess.run([str(cli), "ls", "--data-dir", str(data_dir)], cwd=tmp_path, capture_output=True, text=True,
                       env=_clean_env())
    assert r.returncode == 0, r.stderr
    for line in ["geneval        553 prompts", "t2i-compbench  2400 prompts", "wise           1000 prompts",
                 "dpg-bench      1065 prompts"]:
        assert line in r.stdout
    r = subprocess.run([str(cli), "run", "--bench", "geneval", "--model", "tiny", "--tiny-scorers", "--limit", "1",
                        "--category", "single_object", "--data-dir", str(data_dir)], cwd=tmp_path, capture_output=True,
                       text=True, env=_clean_env(T2IR1_EVAL_CACHE=str(tmp_path / "cache"), T2IR1_EVAL_OFFLINE="1"))
    assert r.returncode == 0, r.stderr[-3000:]
    assert (tmp_path / "results" / "runs" / "geneval-tiny-seed0" / "summary.json").is_file()
    assert "Janus-Pro-7B" in r.stdout  # the bundled references.csv is found too


def test_include_path_adds_a_users_suite(tmp_path, data_dir):
    mine = tmp_path / "suites"
    mine.mkdir()
    text = (REPO / "benchmarks" / "wise.yaml").read_text(encoding="utf-8").replace("name: wise", "name: my-wise", 1)
    (mine / "my-wise.yaml").write_text(text.replace("title: WISE", "title: My WISE", 1), encoding="utf-8")
    r = CliRunner().invoke(main, ["ls", "--data-dir", str(data_dir), "--include-path", str(mine)])
    assert r.exit_code == 0, r.output
    assert "my-wise        1000 prompts" in r.output and "geneval        553 prompts" in r.output
    assert f"[from {mine / 'my-wise.yaml'}]" in r.output
    r = CliRunner().invoke(main, ["run", "--bench", "my-wise", "--model", "t2i-r1", "--dry-run", "--limit", "1",
                                  "--data-dir", str(data_dir), "--include-path", str(mine)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["ls", "--include-path", str(tmp_path / "nowhere")])
    assert r.exit_code == 2 and "expected a folder of suite YAML files" in r.output


def test_one_data_variable_for_tool_and_tests(data_dir, monkeypatch):
    """The tests read T2IR1_EVAL_DATA, the same variable the tool reads (conftest.py)."""
    conftest = (REPO / "tests" / "conftest.py").read_text(encoding="utf-8")
    assert 'os.environ.get("T2IR1_EVAL_DATA")' in conftest and "T2IR1_EVAL_TEST_DATA" not in conftest
    monkeypatch.setenv("T2IR1_EVAL_DATA", str(data_dir))
    r = CliRunner().invoke(main, ["ls"])
    assert r.exit_code == 0 and "geneval        553 prompts" in r.output
