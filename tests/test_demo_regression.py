"""The smoke run's numbers are not degenerate, and its regression check fails when a rule changes.

The rule change is real: a copy of the package with one line of a rules module edited, run in a
subprocess (`rescore` then `check`), exactly as a developer's slip would reach CI.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from smoke_runs import REPO, run_cli

sys.path.insert(0, str(REPO))


def _changed_package(tmp: Path, rel: str, old: str, new: str) -> Path:
    """A copy of t2ir1_eval beside the suites and references, with one line of ``rel`` changed."""
    root = tmp / "changed"
    shutil.copytree(REPO / "t2ir1_eval", root / "t2ir1_eval", ignore=shutil.ignore_patterns("__pycache__"))
    for d in ("benchmarks", "results", "setup.cfg"):  # setup.cfg marks a checkout (suites.spec.bundled_dir)
        (root / d).symlink_to(REPO / d)
    path = root / "t2ir1_eval" / rel
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"the line to change is not unique in {rel}: {old!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return root


def _check(run: Path, baseline: Path, pythonpath: Path | None = None, two_sided: bool = True):
    args = ["check", str(run), "--baseline", str(baseline), "--tolerance", "1e-6"] + (["--two-sided"] if two_sided else [])
    return run_cli(args, cwd=pythonpath or REPO, pythonpath=pythonpath, check=False)


def test_smoke_scores_are_not_degenerate(smoke_runs):
    g = json.loads((smoke_runs["geneval"] / "summary.json").read_text())
    w = json.loads((smoke_runs["wise"] / "summary.json").read_text())
    # decisions go both ways: some images pass, some fail, in GenEval and under the WISE judge
    decisions = [json.loads(x)["decision"] for x in (smoke_runs["geneval"] / "decisions.jsonl").read_text().splitlines()]
    assert 0 < sum(d["correct"] for d in decisions) < len(decisions)
    assert 0.0 < g["scores"]["Overall"] < 1.0
    assert 0.0 < w["scores"]["Overall"] < 1.0
    d = json.loads((smoke_runs["dpg-bench"] / "summary.json").read_text())
    assert 0.0 < d["scores"]["Overall"] < 100.0
    assert "smoke-judge" in w["metric"] and not w["comparable"]
    assert g["provenance"]["scorers"]["geneval"]["backend"] == "synthetic" and not g["comparable"]
    # every score carries its recorded bootstrap interval
    for s in (g, w):
        assert set(s["uncertainty"]["intervals"]) == set(s["scores"])
        assert s["uncertainty"]["n_resamples"] == 1000 and s["uncertainty"]["seed"] == 0


@pytest.mark.parametrize("suite, rel, old, new, two_sided", [
    # GenEval: a count clause off by one (">=" read as ">"): scores fall, the default one-sided check catches it
    ("geneval", "rules/geneval.py", 'if len(found) < req["count"]:', 'if len(found) <= req["count"]:', False),
    # WISE: WiScore's weights shifted (0.7/0.2 -> 0.6/0.3): categories move both ways; --two-sided catches it
    ("wise", "rules/wise.py", "return (0.7 * consistency + 0.2 * realism", "return (0.6 * consistency + 0.3 * realism", True),
    # DPG-Bench: the dependency zeroing dropped (a child of a "no" keeps its "yes"): scores rise; --two-sided catches it
    ("dpg-bench", "rules/dpg_bench.py", "                scores[int(q[\"qid\"])] = 0.0", "                pass", True),
])
def test_check_fails_after_a_one_line_rule_change(smoke_runs, tmp_path, suite, rel, old, new, two_sided):
    run = tmp_path / "run"
    shutil.copytree(smoke_runs[suite], run)
    baseline = tmp_path / "baseline.json"
    run_cli(["check", str(run), "--write-baseline", str(baseline)])
    # unchanged rules: rescoring reproduces the baseline exactly
    run_cli(["rescore", str(run)])
    ok = _check(run, baseline, two_sided=two_sided)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # one line changed: the same stored raw outputs now give other scores, and the check says which
    changed = _changed_package(tmp_path, rel, old, new)
    run_cli(["rescore", str(run)], cwd=changed, pythonpath=changed)
    bad = _check(run, baseline, pythonpath=changed, two_sided=two_sided)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "REGRESSION" in bad.stderr and suite in bad.stderr


def test_smoke_judge_replies_are_seeded_and_in_the_protocol_format():
    from t2ir1_eval.rules.wise import parse_reply
    from t2ir1_eval.scorers.wise.smoke_judge import UNPARSEABLE, smoke_reply

    bodies = [{"messages": [{"role": "user", "content": f"prompt {i}"}]} for i in range(200)]
    replies = [smoke_reply(b, 0, "legacy") for b in bodies]
    assert replies == [smoke_reply(b, 0, "legacy") for b in bodies]
    assert replies != [smoke_reply(b, 1, "legacy") for b in bodies]
    parsed = [parse_reply("legacy", r) for r in replies]
    assert 0 < sum(not p["ok"] for p in parsed) < 80 and all(r == UNPARSEABLE for r, p in zip(replies, parsed) if not p["ok"])
    assert {p["scores"]["consistency"] for p in parsed if p["ok"]} == {0.0, 1.0, 2.0}
    verified = [parse_reply("verified", smoke_reply(b, 0, "verified")) for b in bodies]
    assert {p["scores"]["score"] for p in verified if p["ok"]} == {0.0, 1.0}


def test_smoke_judge_passes_the_exit_status_on_and_stops():
    proc = run_cli(["smoke-judge", "--", sys.executable, "-c", "import sys; print('{base_url}'); sys.exit(3)"], check=False)
    assert proc.returncode == 3
    url = proc.stdout.strip()
    assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
    import httpx

    with pytest.raises(httpx.ConnectError):
        httpx.post(url + "/chat/completions", json={}, timeout=2)
