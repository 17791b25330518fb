"""WISE judge over HTTP: a real chat-completions server on 127.0.0.1 with injected faults.

Checks the exact request (texts byte for byte, image after the text, settings), the retry
policy (429 + Retry-After, 500, timeouts, truncated and malformed bodies, unparseable replies),
failure reporting by id, the reply cache (a rerun makes no call; a killed run loses nothing),
judge labelling, and that the API key is only read from the environment and never stored.
"""

from __future__ import annotations

import base64
import email.utils
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from chat_server import ChatServer
from t2ir1_eval.context import ScorerContext
from t2ir1_eval.errors import ConfigError, DataError
from t2ir1_eval.rules import wise
from t2ir1_eval.scorers.wise.client import parse_retry_after, safe_endpoint
from t2ir1_eval.scorers.wise.protocols import load_protocol
from t2ir1_eval.scorers.wise.scorer import WiseJudgeScorer
from t2ir1_eval.types import PromptItem, Sample

WISE_DIR = Path(os.environ.get("T2IR1_EVAL_DATA") or Path(__file__).resolve().parents[2] / "shared" / "benchmarks") / "wise"
FILES = {"legacy": "legacy/cultural_common_sense.json", "verified": "verified/cultural_common_sense_verified.json"}
KEY_ENV = "T2IR1_TEST_JUDGE_KEY"
SECRET = "sk-test-secret-do-not-store-0123456789"


def make_context(tmp_path: Path, protocol: str = "legacy", **options) -> ScorerContext:
    files = {"judge_prompts": WISE_DIR / "judge_prompts.json"}
    return ScorerContext(suite="wise", options={"protocol": protocol, **options}, data_file=lambda k: files[k],
                         cache_dir=tmp_path / "cache", run_dir=tmp_path / "run")


def make_samples(tmp_path: Path, protocol: str = "legacy", n: int = 4, start: int = 0) -> list[Sample]:
    rows = json.loads((WISE_DIR / FILES[protocol]).read_text(encoding="utf-8"))[start:start + n]
    out = []
    img_dir = tmp_path / "run" / "images"
    img_dir.mkdir(parents=True, exist_ok=True)
    for r in rows:
        path = img_dir / f"{r['prompt_id']}.png"
        if not path.exists():
            Image.new("RGB", (16, 16), (r["prompt_id"] % 256, 40, 90)).save(path)
        item = PromptItem(str(r["prompt_id"]), r["Prompt"], wise.category_of(r, protocol), r)
        out.append(Sample(item, 0, path))
    return out


@pytest.fixture()
def server():
    with ChatServer() as srv:
        yield srv


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, SECRET)


def scorer_for(tmp_path, server, protocol="legacy", **kw) -> WiseJudgeScorer:
    kw = {"base_url": server.base_url, "api_key_env": KEY_ENV, "concurrency": 4, "timeout": 5.0, "backoff_base": 0.05, **kw}
    return WiseJudgeScorer(make_context(tmp_path, protocol), **kw)


def decide_all(samples, raws, protocol="legacy", **options):
    return [wise.decide(s.item, r, {"protocol": protocol, **options}) for s, r in zip(samples, raws)]


# -- the request ----------------------------------------------------------------------------

def test_legacy_request_is_byte_exact(tmp_path, server):
    samples = make_samples(tmp_path, n=1)
    sc = scorer_for(tmp_path, server)
    raw = sc.score(samples)[0]
    sc.close()
    req = server.requests[0]
    body, row = req["body"], samples[0].item.metadata
    system_txt = (WISE_DIR / "judge_prompt_legacy_gpt4o_system.txt").read_bytes().decode("utf-8")
    user_tpl = (WISE_DIR / "judge_prompt_legacy_gpt4o_user.txt").read_bytes().decode("utf-8")
    assert body["model"] == "gpt-4o-2024-05-13" and body["temperature"] == 0.0 and body["max_tokens"] == 2000
    assert "chat_template_kwargs" not in body
    assert body["messages"][0] == {"role": "system", "content": [{"type": "text", "text": system_txt}]}
    user = body["messages"][1]
    assert user["role"] == "user" and [p["type"] for p in user["content"]] == ["text", "image_url"]
    expected = user_tpl.replace("{PROMPT}", row["Prompt"]).replace("{EXPLANATION}", row["Explanation"])
    assert user["content"][0]["text"] == expected
    assert f'PROMPT: "{row["Prompt"]}"\nEXPLANATION: "{row["Explanation"]}"' in expected
    url = user["content"][1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == samples[0].path.read_bytes()
    assert req["headers"]["authorization"] == f"Bearer {SECRET}"
    assert raw["reply"] == "Consistency: 2\nRealism: 1\nAesthetic Quality: 0" and not raw["cache_hit"]
    assert raw["judge"] == {"backend": "openai", "model": "gpt-4o-2024-05-13", "model_returned": "gpt-4o-2024-05-13",
                            "endpoint": server.base_url, "api_key_env": KEY_ENV}
    d = decide_all(samples, [raw])[0]
    assert d["score"] == pytest.approx(0.8) and d["metric"] == "WiScore"


def test_verified_request_settings(tmp_path, server):
    samples = make_samples(tmp_path, "verified", n=2)
    server.reply = "<think>hmm</think>\nScore: 1"
    sc = scorer_for(tmp_path, server, "verified", model_id="Qwen/Qwen3.5-35B-A3B")
    raws = sc.score(samples)
    sc.close()
    row = samples[0].item.metadata
    body = next(r["body"] for r in server.requests if row["Prompt"] in r["user_text"])
    assert body["max_tokens"] == 500 and body["temperature"] == 0.0
    assert body["chat_template_kwargs"] == {"enable_thinking": False}  # top level, as vllm_eval.py sends it
    tpl = (WISE_DIR / "judge_prompt_verified_qwen35_user.txt").read_text(encoding="utf-8")
    assert body["messages"][1]["content"][0]["text"] == tpl.replace("{PROMPT}", row["Prompt"]).replace("{EXPLANATION}", row["Explanation"])
    decisions = decide_all(samples, raws, "verified")
    assert [d["score"] for d in decisions] == [1.0, 1.0] and decisions[0]["metric"] == "WISE-Verified"
    assert raws[0]["reply"].startswith("<think>")  # the exact reply is kept; stripping is the rules' job


def test_tampered_judge_prompts_are_refused(tmp_path):
    data = json.loads((WISE_DIR / "judge_prompts.json").read_text(encoding="utf-8"))
    data["legacy_gpt4o"]["user_template"] = data["legacy_gpt4o"]["user_template"].replace("Vincennes", "Vincent")
    data["legacy_gpt4o"]["system"] = data["legacy_gpt4o"]["system"].replace("Vincennes", "Vincent")
    bad = tmp_path / "judge_prompts.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(DataError, match="not the verbatim upstream text: expected sha256 1034e394"):
        load_protocol("legacy", bad)


# -- faults ---------------------------------------------------------------------------------

def test_retry_after_is_honoured_and_429_does_not_use_an_attempt(tmp_path, server):
    samples = make_samples(tmp_path, n=1)
    server.add_plan(samples[0].item.prompt, [{"status": 429, "retry_after": "1"}, {"status": 429, "retry_after": "1"}])
    sc = scorer_for(tmp_path, server)
    raw = sc.score(samples)[0]
    sc.close()
    times = [r["time"] for r in server.requests]
    assert len(times) == 3
    assert times[1] - times[0] >= 0.95 and times[2] - times[1] >= 0.95
    assert [a["outcome"] for a in raw["attempts"]] == ["rate_limited", "rate_limited", "ok"]
    assert raw["attempts"][0]["retry_after"] == 1.0 and raw["attempts"][0]["counted"] is False
    assert not decide_all(samples, [raw])[0]["failed"]


def test_retry_after_forms_and_safe_endpoint():
    assert parse_retry_after({"retry-after": "7"}) == 7.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "7"}) == 0.25
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= parse_retry_after({"retry-after": future}) <= 30
    assert parse_retry_after({"retry-after": "soon"}) is None and parse_retry_after({}) is None
    assert safe_endpoint("https://user:pw@judge.example:8443/v1?token=abc") == "https://judge.example:8443/v1"


def test_cache_failures_option_stores_failed_replies(tmp_path, server):
    samples = make_samples(tmp_path, n=1)
    server.add_plan(samples[0].item.prompt, [{"reply": "no idea"}] * 3)
    for _ in range(2):
        sc = scorer_for(tmp_path, server, cache_failures=True)
        raw = sc.score(samples)[0]
        sc.close()
    assert server.count() == 3 and raw["cache_hit"] and raw["parse_failed"]
    assert decide_all(samples, [raw])[0]["failed"]


def test_transient_faults_are_retried(tmp_path, server):
    samples = make_samples(tmp_path, n=5)
    plans = [
        [{"status": 500}, {"status": 503, "retry_after": "0.2"}],
        [{"delay": 2.0}],  # client timeout is 1 s
        [{"truncate": True}],
        [{"malformed": "<html>502 Bad Gateway</html>"}],
        [{"body": {"id": "x", "choices": []}}],
    ]
    for s, plan in zip(samples, plans):
        server.add_plan(s.item.prompt, plan)
    sc = scorer_for(tmp_path, server, timeout=1.0)
    raws = sc.score(samples)
    sc.close()
    outcomes = [[a["outcome"] for a in r["attempts"]] for r in raws]
    assert outcomes == [
        ["server_error", "server_error", "ok"],
        ["timeout", "ok"],
        ["connection", "ok"],
        ["malformed", "ok"],
        ["malformed", "ok"],
    ]
    assert raws[0]["attempts"][1]["retry_after"] == 0.2
    assert all(not d["failed"] and d["score"] == pytest.approx(0.8) for d in decide_all(samples, raws))


def test_unexpected_score_forms(tmp_path, server):
    replies = {
        "**Consistency**: 2\n**Realism**: 2\n**Aesthetic Quality**: 1": 0.95,       # bold keys
        "Sure!\n\nConsistency:1 Realism:0 Aesthetic Quality:2\n": 0.45,              # one line, no spaces
        "2\n1\n1": 0.85,                                                           # bare lines (2026 fallback)
        "consistency - 2": None,                                                   # dash: unparseable
    }
    samples = make_samples(tmp_path, n=len(replies))
    for s, text in zip(samples, replies):
        server.add_plan(s.item.prompt, [{"reply": text}] * 3)
    sc = scorer_for(tmp_path, server)
    raws = sc.score(samples)
    sc.close()
    decisions = decide_all(samples, raws)
    for d, want in zip(decisions, replies.values()):
        if want is None:
            assert d["failed"] and d["score"] == 0.0
        else:
            assert not d["failed"] and d["score"] == pytest.approx(want)


def test_failure_after_three_attempts_is_zero_and_reported_by_id(tmp_path, server, caplog):
    samples = make_samples(tmp_path, n=3)
    bad, fullwidth = samples[0].item, samples[1].item
    server.add_plan(bad.prompt, [{"status": 500}, {"reply": "I cannot rate this image."}, {"truncate": True}, {"reply": "never asked"}])
    server.add_plan(fullwidth.prompt, [{"reply": "Consistency：2\nRealism：2\nAesthetic Quality：2"}] * 3)
    sc = scorer_for(tmp_path, server)
    with caplog.at_level(logging.WARNING):
        raws = sc.score(samples)
    sc.close()
    assert server.count(bad.prompt) == 3 and server.count(fullwidth.prompt) == 3
    assert [a["outcome"] for a in raws[0]["attempts"]] == ["server_error", "unparseable", "connection"]
    assert raws[0]["reply"] == "I cannot rate this image." and raws[0]["parse_failed"]
    decisions = decide_all(samples, raws)
    assert [d["failed"] for d in decisions] == [True, True, False]
    assert decisions[0]["score"] == 0.0 and decisions[0]["attempts"] == 3
    assert f"prompt ids {bad.prompt_id}, {fullwidth.prompt_id}" in caplog.text
    # the stored final reply can be re-scored with the corrected parser, no call needed
    assert decide_all(samples, raws, parser="strict")[1]["score"] == pytest.approx(1.0)
    rows = [{"prompt_id": s.item.prompt_id, "category": s.item.category, "file_index": 0, "metadata": {}, "decision": d}
            for s, d in zip(samples, decisions)]
    assert wise.failed_ids(rows) == [bad.prompt_id, fullwidth.prompt_id]
    assert wise.aggregate(rows, {"protocol": "legacy"})["n_failed"] == 2


def test_missing_image_is_a_failure_not_a_crash(tmp_path, server):
    samples = make_samples(tmp_path, n=2)
    samples[1].path.unlink()
    sc = scorer_for(tmp_path, server)
    raws = sc.score(samples)
    sc.close()
    assert "image not readable" in raws[1]["error"] and f"{samples[1].item.prompt_id}.png" in raws[1]["error"]
    assert decide_all(samples, raws)[1]["failed"] and server.count() == 1


def test_missing_explanation_is_refused(tmp_path, server):
    sample = make_samples(tmp_path, n=1)[0]
    bare = Sample(PromptItem(sample.item.prompt_id, sample.item.prompt, "culture", {}), 0, sample.path)
    sc = scorer_for(tmp_path, server)
    with pytest.raises(DataError, match="Explanation"):
        sc.score([bare])
    sc.close()


# -- judge identity -------------------------------------------------------------------------

def test_a_judge_other_than_the_pinned_one_is_a_different_metric(tmp_path):
    samples = make_samples(tmp_path, n=2)
    with ChatServer(model="gpt-4o-2024-08-06") as srv:  # an alias resolved server-side
        sc = scorer_for(tmp_path, srv, model_id="gpt-4o")
        raws = sc.score(samples)
        desc = sc.describe()
        sc.close()
    d = decide_all(samples, raws)[0]
    assert d["metric"] == "WiScore[judge=gpt-4o-2024-08-06]" and not d["pinned_judge"]
    assert raws[0]["judge"]["model"] == "gpt-4o" and raws[0]["judge"]["model_returned"] == "gpt-4o-2024-08-06"
    assert desc["metric"] == "WiScore[judge=gpt-4o-2024-08-06]" and desc["comparable"] is False


def test_openai_without_a_key_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(ConfigError, match=KEY_ENV):
        WiseJudgeScorer(make_context(tmp_path), api_key_env=KEY_ENV)


# -- cache ----------------------------------------------------------------------------------

def test_rerun_makes_no_call_and_no_secret_is_stored(tmp_path, server):
    samples = make_samples(tmp_path, n=6)
    server.add_plan(samples[5].item.prompt, [{"reply": "no idea"}] * 3)
    sc = scorer_for(tmp_path, server)
    first = sc.score(samples)
    sc.close()
    assert server.count() == 5 + 3
    server.add_plan(samples[5].item.prompt, [{"reply": "no idea"}] * 3)
    sc = scorer_for(tmp_path, server)
    second = sc.score(samples)
    sc.close()
    # parsed replies come from disk; the failed image is asked again (3 calls)
    assert server.count() == 8 + 3
    assert [r["cache_hit"] for r in second] == [True] * 5 + [False]
    assert [r["reply"] for r in second[:5]] == [r["reply"] for r in first[:5]]
    assert decide_all(samples, second)[:5] == [dict(d, cache_hit=True) for d in decide_all(samples, first)[:5]]
    # another judge model or protocol is another key
    sc = scorer_for(tmp_path, server, model_id="gpt-4o-2024-08-06")
    sc.score(samples[:1])
    sc.close()
    assert server.count() == 12
    stored = "".join(p.read_text() for p in (tmp_path / "cache").rglob("*.json"))
    assert stored and SECRET not in stored
    assert SECRET not in json.dumps(first) and SECRET not in json.dumps(sc.describe())


_CHILD = r"""
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/tests"]
from pathlib import Path
from test_wise_judge import make_context, make_samples
from t2ir1_eval.scorers.wise.scorer import WiseJudgeScorer
tmp = Path(sys.argv[2])
sc = WiseJudgeScorer(make_context(tmp), base_url=sys.argv[3], api_key_env="T2IR1_TEST_JUDGE_KEY", concurrency=4)
sc.score(make_samples(tmp, n=24))
print("finished", flush=True)
"""


def test_a_killed_run_loses_no_finished_reply(tmp_path):
    repo = str(Path(__file__).resolve().parents[1])
    with ChatServer(latency=0.25) as srv:
        env = dict(os.environ, **{KEY_ENV: SECRET})
        child = subprocess.Popen([sys.executable, "-c", _CHILD, repo, str(tmp_path), srv.base_url], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while srv.count() < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        child.kill()
        out, _ = child.communicate()
        assert b"finished" not in out
        cached = len(list((tmp_path / "cache").rglob("*.json")))
        assert 4 <= cached < 24
        calls_before = srv.count()
        samples = make_samples(tmp_path, n=24)
        sc = WiseJudgeScorer(make_context(tmp_path), base_url=srv.base_url, api_key_env=KEY_ENV, concurrency=8)
        raws = sc.score(samples)
        sc.close()
    assert srv.count() - calls_before == 24 - cached  # only what was not on disk is asked again
    assert sum(r["cache_hit"] for r in raws) == cached
    assert not any(d["failed"] for d in decide_all(samples, raws))


# -- concurrency ----------------------------------------------------------------------------

def test_concurrency_is_bounded(tmp_path):
    samples = make_samples(tmp_path, n=24)
    with ChatServer(latency=0.3) as srv:
        sc = scorer_for(tmp_path, srv, concurrency=8, cache=False)
        start = time.monotonic()
        sc.score(samples)
        elapsed = time.monotonic() - start
        sc.close()
    assert srv.max_in_flight == 8
    assert elapsed < 24 * 0.3 / 3  # 3 waves of 8, not 24 sequential calls
