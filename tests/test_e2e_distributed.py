"""Two real processes on gloo shard the prompts; rank 0 merges; images equal a single process's."""

from __future__ import annotations

import json
import socket
import sys

from tests.chat_server import ChatServer
from tests.e2e_helpers import REPO, cli, image_dependent_reply, images_of, wise_args


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_sharded_run_equals_one_process(tmp_path, data_dir):
    with ChatServer(reply=image_dependent_reply, model="gpt-4o-2024-05-13") as judge:
        one = cli(wise_args(tmp_path / "one", data_dir, judge.base_url), env={"OMP_NUM_THREADS": "1"})
        out, _ = one.communicate(timeout=600)
        assert one.returncode == 0, out

        import os
        import subprocess

        env = dict(os.environ, OPENAI_API_KEY="sk-test-not-a-secret", OMP_NUM_THREADS="1")
        two = subprocess.run(
            [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
             "--master_port", str(_free_port()), "-m", "t2ir1_eval.cli", *wise_args(tmp_path / "two", data_dir, judge.base_url)],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
        assert two.returncode == 0, two.stdout + two.stderr

    assert images_of(tmp_path / "two") == images_of(tmp_path / "one")
    assert len(images_of(tmp_path / "one")) == 6
    # each rank wrote its own part; rank 0 merged them into one summary
    parts = sorted(p.name for p in (tmp_path / "two" / "manifest").glob("*.jsonl"))
    assert parts == ["rank-00000.jsonl", "rank-00001.jsonl"]
    ranks = {json.loads(l)["rank"] for p in (tmp_path / "two" / "manifest").glob("*.jsonl") for l in p.read_text().splitlines()}
    assert ranks == {0, 1}
    a = json.loads((tmp_path / "one" / "summary.json").read_text())
    b = json.loads((tmp_path / "two" / "summary.json").read_text())
    assert a["scores"] == b["scores"] and b["n_images"] == 6
