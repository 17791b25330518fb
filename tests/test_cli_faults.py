"""Bad input, faults and attacks through the real CLI: each one a clear message and the right exit code.

Every row of BAD_INPUTS runs the real ``t2ir1-eval`` command (click's main, in process) on a
small WISE run of pre-made images (6 prompts, no model) or on nothing at all, and checks the
exit code (0 pass, 1 regression / nothing measured, 2 usage or configuration error), that the
message names the culprit, that no traceback is printed, and that summary.json is unchanged.
The tests after the table need a judge server, a second process or a signal.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pickle
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
from click.testing import CliRunner
from PIL import Image

from t2ir1_eval.cli import main
from tests.chat_server import ChatServer
from tests.e2e_helpers import REPO, image_dependent_reply

WISE_IDS = ["1", "401", "568", "701", "801", "901"]  # the first prompt of each WISE category


def invoke(args: list[Any], env: dict[str, str] | None = None) -> tuple[int, str]:
    r = CliRunner().invoke(main, [str(a) for a in args], env=env)
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        import traceback

        raise AssertionError("uncaught exception (a traceback for the user):\n"
                             + "".join(traceback.format_exception(r.exception)))
    assert "Traceback" not in r.output, r.output
    return r.exit_code, r.output


def make_images(folder: Path, size: tuple[int, int] = (8, 8), odd: dict[str, Any] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n, i in enumerate(WISE_IDS):
        Image.new("RGB", size, (40 * n, 10, 200)).save(folder / f"{i}.png")
    for name, maker in (odd or {}).items():
        maker(folder / name)
    return folder


def generate_wise(tmp: Path, data_dir: Path, images: Path | None = None) -> Path:
    run_dir = tmp / "run"
    code, out = invoke(["generate", "--bench", "wise", "--model", "folder", "--name", "outside-model", "--images", images or make_images(tmp / "imgs"),
                        "--limit", "1", "--data-dir", data_dir, "--run-dir", run_dir])
    assert code == 0, out
    return run_dir


def judge_opts(url: str, *extra: str) -> list[str]:
    out = ["--scorer-option", f"wise-judge.base_url={url}", "--scorer-option", "wise-judge.backoff_base=0.01",
           "--scorer-option", "wise-judge.concurrency=2"]
    for e in extra:
        out += ["--scorer-option", e]
    return out


@pytest.fixture()
def scored_run(tmp_path, data_dir, monkeypatch) -> Path:
    """A finished WISE run (6 images, judged by a loopback server) with its summary."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
    run_dir = generate_wise(tmp_path, data_dir)
    with ChatServer(reply=image_dependent_reply, model="gpt-4o-2024-05-13") as judge:
        code, out = invoke(["score", run_dir, *judge_opts(judge.base_url)])
    assert code == 0, out
    return run_dir


# --------------------------------------------------------------------------------- the table
@dataclass
class Case:
    id: str
    #: (tmp_path, data_dir, run_dir or None) -> argv
    args: Callable[[Path, Path, Path | None], list[Any]]
    code: int
    culprit: list[str]
    needs_run: bool = False
    #: a path (relative to tmp) that must not exist afterwards: nothing was claimed
    not_created: str | None = None
    setup: Callable[[Path, Path | None], None] | None = None
    extra: Callable[[Path, Path | None, str], None] | None = None
    env: dict[str, str] = field(default_factory=dict)


def _wise_run(*extra: str):
    return lambda t, d, r: ["run", "--bench", "wise", "--model", "folder", "--name", "outside-model", "--images", make_images(t / "imgs"), "--limit", "1",
                            "--data-dir", d, "--run-dir", t / "new", *extra]


def _geneval(*extra: str):
    return lambda t, d, r: ["run", "--bench", "geneval", "--model", "tiny", "--limit", "1", "--data-dir", d,
                            "--run-dir", t / "new", *extra]


def _write(rel: str, text: str):
    def setup(t: Path, r: Path | None) -> None:
        (t / rel).parent.mkdir(parents=True, exist_ok=True)
        (t / rel).write_text(text)
    return setup


def _baseline_with(**change: Any):
    def setup(t: Path, r: Path | None) -> None:
        code, out = invoke(["check", r, "--write-baseline", t / "base.json"])
        assert code == 0, out
        b = json.loads((t / "base.json").read_text())
        for k, v in change.items():
            if callable(v):
                v(b)
            else:
                b[k] = v
        (t / "base.json").write_text(json.dumps(b))
    return setup


def _bomb(path: Path) -> None:
    Image.new("1", (15000, 15000)).save(path)  # 225 Mpx in a tiny 1-bit PNG: over PIL's 2x bomb limit


BAD_INPUTS = [
    # misspelt scorer: used to send every image (and the key) to the default public endpoint
    Case("scorer-name-typo", _wise_run("--scorer-option", "wise_judge.base_url=http://127.0.0.1:9/v1"), 2,
         ["wise_judge", "Did you mean 'wise-judge'"], not_created="new"),
    Case("scorer-key-typo", _wise_run("--scorer-option", "wise-judge.base_ur=http://127.0.0.1:9/v1"), 2,
         ["base_ur", "Did you mean 'base_url'"], not_created="new"),
    Case("scorer-value-type", _wise_run("--scorer-option", "wise-judge.concurrency=abc"), 2,
         ["concurrency", "expected an integer", "'abc'"], not_created="new"),
    Case("scorer-value-range", _wise_run("--scorer-option", "wise-judge.max_retries=0"), 2,
         ["max_retries", "[1, 100]"], not_created="new"),
    Case("star-option-nobody-has", _wise_run("--scorer-option", "treshold=0.5"), 2, ["treshold", "no scorer"],
         not_created="new"),
    Case("worker-for-unknown-scorer", _wise_run("--scorer-worker", "geneval=/usr/bin/python3"), 2, ["geneval", "wise-judge"],
         not_created="new"),
    Case("suite-option-nan", _geneval("-o", "threshold=NaN"), 2, ["threshold", "finite number in [0, 1]"], not_created="new"),
    Case("suite-option-bool", _geneval("-o", "threshold=true"), 2, ["threshold", "True"], not_created="new"),
    Case("suite-option-fraction", _geneval("-o", "max_objects=2.5"), 2, ["max_objects", "integer", "2.5"], not_created="new"),
    Case("suite-option-list", _geneval("-o", "threshold=[1,2]"), 2, ["threshold", "[1, 2]"], not_created="new"),
    Case("suite-option-typo", _geneval("-o", "treshold=0.5"), 2, ["treshold", "Did you mean 'threshold'"], not_created="new"),
    Case("gen-option-type", _geneval("--gen-option", "cfg_weight=abc"), 2, ["cfg_weight", "'abc'"], not_created="new"),
    Case("gen-option-unknown", _geneval("--gen-option", "cfg_wieght=5"), 2, ["cfg_wieght", "Did you mean 'cfg_weight'"],
         not_created="new"),
    # report / check on things that are not what they should be
    Case("report-no-summary", lambda t, d, r: ["report", t / "empty", "--out", t / "lb"], 2, ["empty", "summary.json"],
         setup=lambda t, r: (t / "empty").mkdir()),
    Case("check-no-summary", lambda t, d, r: ["check", t / "empty", "--baseline", t / "b.json"], 2, ["empty", "summary.json"],
         setup=lambda t, r: (t / "empty").mkdir()),
    Case("report-empty-runs-dir", lambda t, d, r: ["report", "--runs-dir", t / "nothing", "--out", t / "lb"], 2,
         ["no run with a summary.json", "left as it is"],
         setup=lambda t, r: ((t / "nothing").mkdir(), _write("lb/wise.md", "| ours |\n")(t, r)),
         extra=lambda t, r, out: assert_equal((t / "lb" / "wise.md").read_text(), "| ours |\n")),
    Case("baseline-malformed", lambda t, d, r: ["check", r, "--baseline", t / "b.json"], 2, ["b.json", "could not parse"],
         needs_run=True, setup=_write("b.json", "{not json")),
    Case("baseline-null", lambda t, d, r: ["check", r, "--baseline", t / "b.json"], 2, ["b.json", "NoneType"],
         needs_run=True, setup=_write("b.json", "null")),
    Case("baseline-list", lambda t, d, r: ["check", r, "--baseline", t / "b.json"], 2, ["b.json", "list"],
         needs_run=True, setup=_write("b.json", "[1, 2]")),
    Case("tolerance-nan", lambda t, d, r: ["check", r, "--baseline", t / "base.json", "--tolerance", "nan"], 2,
         ["--tolerance", "nan"], needs_run=True, setup=_baseline_with()),
    Case("check-n-images", lambda t, d, r: ["check", r, "--baseline", t / "base.json"], 2, ["6 images", "1000"],
         needs_run=True, setup=_baseline_with(n_images=1000)),
    Case("check-protocol", lambda t, d, r: ["check", r, "--baseline", t / "base.json"], 2, ["protocol", "wise@old"],
         needs_run=True, setup=_baseline_with(protocol_version="wise@old")),
    Case("check-regression", lambda t, d, r: ["check", r, "--baseline", t / "base.json"], 1, ["REGRESSION", "Overall"],
         needs_run=True, setup=_baseline_with(scores=lambda b: b["scores"].update(Overall=b["scores"]["Overall"] + 0.5))),
    Case("check-category-not-in-baseline", lambda t, d, r: ["check", r, "--baseline", t / "base.json"], 1,
         ["Biology", "no baseline value"], needs_run=True,
         setup=_baseline_with(scores=lambda b: b["scores"].pop("Biology"))),
    Case("check-pass", lambda t, d, r: ["check", r, "--baseline", t / "base.json"], 0, ["OK"], needs_run=True,
         setup=_baseline_with()),
    # images
    Case("decompression-bomb", lambda t, d, r: ["generate", "--bench", "wise", "--model", "folder", "--name", "outside-model", "--images",
                                                make_images(t / "imgs", odd={"568.png": _bomb}), "--limit", "1",
                                                "--data-dir", d, "--run-dir", t / "new"], 2,
         ["568.png", "decompression bomb"]),
    Case("wrong-size-image", lambda t, d, r: ["generate", "--bench", "wise", "--model", "folder", "--name", "outside-model", "--images",
                                              make_images(t / "imgs", odd={"1.png": lambda p: Image.new("RGB", (9, 8)).save(p)}),
                                              "--limit", "1", "--data-dir", d, "--run-dir", t / "new"], 2,
         ["1.png", "9x8", "expected 8x8"]),
]


def assert_equal(a: Any, b: Any) -> None:
    assert a == b, (a, b)


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[c.id for c in BAD_INPUTS])
def test_bad_input(case: Case, tmp_path, data_dir, request, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
    run_dir = request.getfixturevalue("scored_run") if case.needs_run else None
    before = (run_dir / "summary.json").read_bytes() if run_dir else None
    if case.setup:
        case.setup(tmp_path, run_dir)
    code, out = invoke(case.args(tmp_path, data_dir, run_dir))
    assert code == case.code, out
    for text in case.culprit:
        assert text in out, (text, out)
    if case.not_created:
        assert not (tmp_path / case.not_created).exists(), "the run directory was claimed before the input was checked"
    if before is not None:
        assert (run_dir / "summary.json").read_bytes() == before
    if case.extra:
        case.extra(tmp_path, run_dir, out)


# --------------------------------------------------------------------------------- scores
def test_rerun_after_judge_recovery_retries_only_the_failures(tmp_path, data_dir, monkeypatch):
    """Failed items are asked again on a rerun; items that succeeded are not (counted at the server)."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
    run_dir = generate_wise(tmp_path, data_dir)
    opts = judge_opts("{url}", "wise-judge.cache=false")  # no reply cache: only the records keep successes
    with ChatServer(reply=image_dependent_reply, model="gpt-4o-2024-05-13") as judge:
        args = ["score", run_dir, *[o.replace("{url}", judge.base_url) for o in opts]]
        judge.set_default_fault({"status": 500})
        code, out = invoke(args)
        assert code == 1 and "every one of the 6 images failed" in out, out
        assert judge.count() == 6 * 3  # three attempts per image, as the official loop
        s = json.loads((run_dir / "summary.json").read_text())
        assert s["n_failed"] == 6 and s["scores"]["Overall"] == 0.0
        # the judge recovers for all but one prompt
        judge.set_default_fault(None)
        judge.add_plan("Traditional food of the Mid-Autumn Festival", [{"status": 500}] * 3)
        calls = judge.count()
        code, out = invoke(args)
        assert code == 0, out
        assert judge.count() - calls == 6 + 2  # five answered at once, one failed thrice more
        s = json.loads((run_dir / "summary.json").read_text())
        assert s["n_failed"] == 1 and s["n_images"] == 6
        calls = judge.count()
        code, out = invoke(args)
        assert code == 0, out
        assert judge.count() - calls == 1  # only the failure is asked again; the five successes are not
        s = json.loads((run_dir / "summary.json").read_text())
        assert s["n_failed"] == 0 and s["scores"]["Overall"] > 0


def test_score_counts_prompts_whose_generation_failed(tmp_path, data_dir, monkeypatch):
    """score and rescore agree: a prompt whose image failed to generate is a counted failure."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
    run_dir = generate_wise(tmp_path, data_dir)
    # what a failed generation batch leaves: no image, a manifest row with the error
    (run_dir / "images" / "401.png").unlink()
    rows = [json.loads(line) for line in (run_dir / "manifest" / "rank-00000.jsonl").read_text().splitlines()]
    rows = [r for r in rows if r["prompt_id"] != "401"] + [{"file": "401.png", "prompt_id": "401", "error": "RuntimeError: OOM",
                                                             "rank": 0}]
    (run_dir / "manifest" / "rank-00000.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with ChatServer(reply=image_dependent_reply, model="gpt-4o-2024-05-13") as judge:
        code, out = invoke(["score", run_dir, *judge_opts(judge.base_url, "wise-judge.cache=false")])
        assert code == 0, out
        assert judge.count() == 5  # the prompt without an image is not sent
    scored = json.loads((run_dir / "summary.json").read_text())
    assert scored["n_images"] == 6 and scored["n_failed"] == 1 and scored["failed"] == ["401#0"]
    code, out = invoke(["rescore", run_dir])
    assert code == 0, out
    again = json.loads((run_dir / "summary.json").read_text())
    assert (again["n_images"], again["n_failed"], again["scores"]) == (6, 1, scored["scores"])
    decisions = [json.loads(line) for line in (run_dir / "decisions.jsonl").read_text().splitlines()]
    assert any(d["prompt_id"] == "401" and d["decision"]["failed"] for d in decisions)
    assert "generation failed: RuntimeError: OOM" in (run_dir / "records" / "wise-judge" / "rank-00000.jsonl").read_text()


def test_partial_run_is_marked_in_summary_and_tables(scored_run, tmp_path):
    s = json.loads((scored_run / "summary.json").read_text())
    assert s["partial"] == {"n_prompts": 6, "of_prompts": 1000, "categories": sorted(s["partial"]["categories"])}
    code, out = invoke(["report", scored_run, "--out", tmp_path / "lb"])
    assert code == 0, out
    md = (tmp_path / "lb" / "wise.md").read_text()
    # table rows only (the footnotes name the run folder, whose pytest name holds "partial")
    rows = [line for line in md.splitlines() if line.startswith("| ") and "partial" in line]
    # one partial mark, the badge every table shows, fed by summary.json's "partial"
    assert len(rows) == 1 and "partial 6/1000" in rows[0]
    assert "partial 6/1000" in (tmp_path / "lb" / "wise.csv").read_text()


def test_fallback_data_file_is_part_of_the_run_identity(tmp_path, data_dir):
    """Resuming with another --fallback-data file is refused: the identity holds each file's sha256."""
    from t2ir1_eval.pipeline import Run, RunConfig

    a, b = tmp_path / "qa.csv", tmp_path / "qb.csv"
    src = (REPO / "tests" / "data" / "dpg_bench_small.csv").read_text()
    a.write_text(src)
    b.write_text(src.replace("yes", "YES", 1) if "yes" in src else src + "\n")
    empty = data_dir  # holds the prompts but not the questions CSV: the fallback is what is used
    cfg = RunConfig(suite="dpg-bench", model="folder", name="outside-model", run_dir=tmp_path / "r", data_dir=empty, limit=1,
                    generator_options={"images": str(tmp_path)}, fallback_data={"questions": a})
    run = Run(cfg)
    imgs = tmp_path / "imgs"
    for _, _, rel in run.all_file_jobs():
        (imgs / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (16, 16)).save(imgs / rel)
    base = ["generate", "--bench", "dpg-bench", "--model", "folder", "--name", "outside-model", "--images", imgs, "--limit", "1",
            "--data-dir", empty, "--run-dir", tmp_path / "r"]
    code, out = invoke([*base, "--fallback-data", f"questions={a}"])
    assert code == 0, out
    ident = json.loads((tmp_path / "r" / "config.json").read_text())["identity"]["data_files"]
    assert ident["questions"].startswith("fallback:sha256:")
    code, out = invoke([*base, "--fallback-data", f"questions={b}"])
    assert code == 2 and "made with another config" in out and "data_files.questions" in out, out


# --------------------------------------------------------------------------------- security
class _Payload:
    """Pickled, it touches a marker file when unpickled: what a crafted checkpoint does."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_crafted_pickle_checkpoint_is_refused_and_nothing_runs(tmp_path, data_dir, monkeypatch):
    import torch

    marker = tmp_path / "PWNED"
    cache = tmp_path / "cache"
    monkeypatch.setenv("T2IR1_EVAL_CACHE", str(cache))
    # 1) a payload saved under the official checkpoint's name in the cache: fails the pinned hash
    official = cache / "geneval" / "mask2former_swin-s-p4-w7-224_lsj_8x2_50e_coco.pth"
    official.parent.mkdir(parents=True)
    torch.save({"state_dict": {"x": _Payload(marker)}}, official)
    # 2) the same payload under any other name: weights_only=True refuses it
    other = tmp_path / "my_detector.pth"
    with open(other, "wb") as fh:
        pickle.dump({"state_dict": _Payload(marker)}, fh)
    from t2ir1_eval.pipeline import Run, RunConfig

    imgs = tmp_path / "imgs"
    run = Run(RunConfig(suite="geneval", model="folder", name="outside-model", run_dir=tmp_path / "x", data_dir=data_dir, limit=1,
                        categories=["single_object"], generator_options={"images": str(tmp_path)}))
    for _, _, rel in run.all_file_jobs():
        (imgs / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (32, 32)).save(imgs / rel)
    base = ["run", "--bench", "geneval", "--model", "folder", "--name", "outside-model", "--images", imgs, "--limit", "1", "--category", "single_object",
            "--data-dir", data_dir, "--scorer-option", "geneval.clip_model_id=tiny", "--device", "cpu"]
    code, out = invoke([*base, "--run-dir", tmp_path / "r1"])
    assert code == 2 and "does not match the pinned checkpoint" in out and official.name in out, out
    code, out = invoke([*base, "--run-dir", tmp_path / "r2", "--scorer-option", f"geneval.model_id={other}"])
    assert code == 2 and "refused to load" in out and "my_detector.pth" in out, out
    code, out = invoke(["score", tmp_path / "r2", "--fresh", "--scorer-option", f"geneval.model_id={other}",
                        "--scorer-option", "geneval.clip_model_id=tiny", "--device", "cpu"])
    assert code == 2 and "refused to load" in out, out
    assert not marker.exists(), "the checkpoint's pickled code ran"


def test_no_secret_reaches_run_dir_cache_or_log(tmp_path, data_dir):
    """Key from the environment, token in base_url, a server echoing the key in its 401: none is stored or logged."""
    from tests.e2e_helpers import cli

    key, url_token = "sk-live-SECRET-in-env-0123456789", "URLTOKEN9876543210"
    run_dir = generate_wise(tmp_path, data_dir)
    cache = tmp_path / "cache"
    env = {"OPENAI_API_KEY": key, "T2IR1_EVAL_CACHE": str(cache)}
    with ChatServer(reply=image_dependent_reply, model="gpt-4o-2024-05-13") as judge:
        url = judge.base_url.replace("http://", f"http://judge:{url_token}@")
        # a run that works: the token in base_url must not be stored with the scorer options
        p = cli(["-v", "score", str(run_dir), *judge_opts(url)], env=env)
        log1, _ = p.communicate(timeout=120)
        assert p.returncode == 0, log1
        assert judge.count() == 6
        # the key goes wrong: one 401 that echoes it stops the run at once
        judge.set_default_fault({"status": 401, "echo_auth": True})
        p = cli(["-v", "score", str(run_dir), "--fresh", *judge_opts(url, "wise-judge.cache=false")], env=env)
        log2, _ = p.communicate(timeout=120)
    assert p.returncode == 2, log2
    assert "refused the credentials (HTTP 401" in log2 and "Traceback" not in log2
    assert judge.count() - 6 <= 2  # at most one call per worker thread, not three per image
    files = [f for root in (run_dir, cache) for f in root.rglob("*") if f.is_file()]
    assert any(f.name == "scorer.json" for f in files)
    for text, where in [(log1 + log2, "the log")] + [(f.read_bytes().decode("utf-8", "replace"), str(f)) for f in files]:
        assert key not in text and url_token not in text, f"a secret reached {where}"


def test_table_cells_are_escaped_for_their_format(tmp_path, data_dir, monkeypatch):
    """A model name reported by the judge server cannot break the markdown or run in a spreadsheet."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
    evil = 'evil|name\n=HYPERLINK("http://x","y")'
    run_dir = generate_wise(tmp_path, data_dir)
    with ChatServer(reply=image_dependent_reply, model=evil) as judge:
        code, out = invoke(["score", run_dir, *judge_opts(judge.base_url, "wise-judge.model_id=x|y")])
    assert code == 0, out
    code, out = invoke(["report", run_dir, "--out", tmp_path / "lb"])
    assert code == 0, out
    md = (tmp_path / "lb" / "wise.md").read_text()
    table = [line for line in md.splitlines() if line.startswith("|")]
    widths = {len([c for c in line.replace("\\|", "").split("|")]) for line in table}
    assert len(widths) == 1, md  # every row has as many cells as the header
    assert any("evil\\|name =HYPERLINK" in line for line in table), md
    rows = list(csv.reader(io.StringIO((tmp_path / "lb" / "wise.csv").read_text())))
    assert all(not cell.startswith(("=", "+", "@")) for row in rows for cell in row), rows
    assert len({len(r) for r in rows}) == 1


# --------------------------------------------------------------------------------- processes
def test_two_processes_on_one_run_dir(tmp_path, data_dir):
    """Exactly one works; the other exits 2 naming the holder's pid and host."""
    import socket

    from tests.e2e_helpers import cli

    run_dir = generate_wise(tmp_path, data_dir)
    with ChatServer(reply=image_dependent_reply, model="gpt-4o-2024-05-13", latency=0.5) as judge:
        args = ["score", str(run_dir), *judge_opts(judge.base_url, "wise-judge.cache=false")]
        first = cli(args)
        deadline = time.time() + 60
        while not (run_dir / ".lock" / "rank-00000").exists() or judge.count() == 0:
            assert time.time() < deadline and first.poll() is None, first.communicate()[0]
            time.sleep(0.05)
        second = cli(args)
        out2, _ = second.communicate(timeout=120)
        out1, _ = first.communicate(timeout=120)
    assert first.returncode == 0, out1
    assert second.returncode == 2, out2
    assert f"pid {first.pid} on host {socket.gethostname()}" in out2 and "Traceback" not in out2
    assert judge.count() == 6  # the work was done once
    records = (run_dir / "records" / "wise-judge" / "rank-00000.jsonl").read_text().splitlines()
    assert len(records) == 6


def test_ctrl_c_says_the_same_command_resumes(tmp_path, data_dir):
    from tests.e2e_helpers import cli

    run_dir = generate_wise(tmp_path, data_dir)
    with ChatServer(reply=image_dependent_reply, model="gpt-4o-2024-05-13", latency=2.0) as judge:
        p = cli(["score", str(run_dir), *judge_opts(judge.base_url, "wise-judge.cache=false")])
        deadline = time.time() + 60
        while judge.count() == 0:
            assert time.time() < deadline and p.poll() is None, p.communicate()[0]
            time.sleep(0.05)
        p.send_signal(signal.SIGINT)
        out, _ = p.communicate(timeout=60)
    assert p.returncode == 130, out
    assert "run the same command again to resume" in out and "Traceback" not in out


def test_orphan_temp_files_are_cleaned_and_files_follow_the_umask(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
    run_dir = generate_wise(tmp_path, data_dir)
    orphan = run_dir / "images" / ".1.png.abc123.tmp"
    orphan.write_bytes(b"half an image")
    old = time.time() - 3600
    os.utime(orphan, (old, old))
    from tests.e2e_helpers import cli

    with ChatServer(reply=image_dependent_reply, model="gpt-4o-2024-05-13") as judge:
        p = cli(["score", str(run_dir), *judge_opts(judge.base_url)], preexec_fn=lambda: os.umask(0o022))
        out, _ = p.communicate(timeout=120)
    assert p.returncode == 0, out
    assert not orphan.exists()
    for f in ("summary.json", "decisions.jsonl", "config.json", "images/1.png"):
        assert (run_dir / f).stat().st_mode & 0o777 == 0o644, f


def test_worker_returning_non_dict_outputs_is_refused_before_storing(tmp_path):
    from t2ir1_eval.context import ScorerContext
    from t2ir1_eval.run_checks import ScorerOutputError, check_scorer_outputs
    from t2ir1_eval.scorers.worker import WorkerScorer
    from t2ir1_eval.types import PromptItem, Sample

    img = tmp_path / "a.png"
    Image.new("RGB", (4, 4)).save(img)
    samples = [Sample(PromptItem("a", "x", "c"), 0, img), Sample(PromptItem("b", "x", "c"), 0, img)]
    ctx = ScorerContext(suite="wise", options={}, data_file=lambda k: tmp_path, run_dir=tmp_path)
    worker = WorkerScorer(ctx, python=sys.executable, target="tests.standins.pixel_scorer:PixelScorer", text_on="b",
                          env={"PYTHONPATH": str(REPO)})
    try:
        raws = worker.score(samples)  # a real subprocess answering a bare string for "b"
    finally:
        worker.close()
    with pytest.raises(ScorerOutputError, match=r"returned str 'yes' for .*a\.png|returned str 'yes'"):
        check_scorer_outputs("pixel-standin", samples, raws)


def test_checkpoint_for_another_library_is_scanned_without_running_it(tmp_path):
    """UniDet's weights go to detectron2's loader: their pickle is listed first, never run."""
    import torch

    from t2ir1_eval.checkpoints import CheckpointRefused, refuse_unsafe_pickle

    marker = tmp_path / "PWNED"
    bad, good = tmp_path / "unidet_bad.pth", tmp_path / "unidet_good.pth"
    torch.save({"model": {"w": _Payload(marker)}}, bad)
    torch.save({"model": {"w": torch.zeros(2)}, "__author__": "x"}, good)
    with pytest.raises(CheckpointRefused, match="unidet_bad.pth.*would run code"):
        refuse_unsafe_pickle(bad)
    refuse_unsafe_pickle(good)
    assert not marker.exists()
