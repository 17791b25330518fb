"""A SMOKE JUDGE, not a model: a loopback /v1/chat/completions server with seeded replies.

The offline smoke run needs WISE's real path (HTTP, the OpenAI client, retries, parsing,
decisions) with numbers that move when a rule moves; a tiny random VLM replies gibberish that
never parses, so every image scored 0. This server answers in the protocol's own format
("Consistency: 2\\nRealism: 1\\nAesthetic Quality: 0", or "Score: 1" for Verified) with scores
drawn from sha256(seed, request): the same request always gets the same reply. About one reply
in five is deliberately unparseable, so the failure path (3 attempts, score 0, listed) runs
too. It reports itself as model ``smoke-judge-seed<N>``, so tables label the metric
``WiScore[judge=smoke-judge-seed<N>]`` and the run is never comparable to published numbers.

``t2ir1-eval smoke-judge -- CMD ...`` starts it, runs CMD with ``{base_url}`` replaced by the
server's URL, and stops it when CMD ends (whatever way it ends).
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

UNPARSEABLE = "I am unable to rate this image."


def smoke_reply(body: dict[str, Any], seed: int, protocol: str) -> str:
    """The reply to one request: a pure function of (seed, messages)."""
    digest = hashlib.sha256(f"{seed}\0{json.dumps(body.get('messages'), sort_keys=True)}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    if rng.random() < 0.2:
        return UNPARSEABLE
    if protocol == "verified":
        return f"The image was checked against the explanation.\nScore: {rng.randint(0, 1)}"
    c, r, a = rng.randint(0, 2), rng.randint(0, 2), rng.randint(0, 2)
    return f"Consistency: {c}\nRealism: {r}\nAesthetic Quality: {a}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


class SmokeJudgeServer:
    def __init__(self, seed: int = 0, protocol: str = "legacy", port: int = 0) -> None:
        self.seed = int(seed)
        self.protocol = protocol
        self.model = f"smoke-judge-seed{self.seed}"
        self.calls = 0
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", port), self._handler())
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet: the client logs what matters
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    self._send(400, {"error": {"message": "expected a JSON body"}})
                    return
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}; expected /v1/chat/completions"}})
                    return
                with server._lock:
                    server.calls += 1
                text = smoke_reply(body, server.seed, server.protocol)
                self._send(200, {"id": "smoke", "object": "chat.completion", "model": server.model,
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": text}}],
                                 "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}})

            def _send(self, status: int, obj: dict[str, Any]) -> None:
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def start(self) -> "SmokeJudgeServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "SmokeJudgeServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
