"""A real HTTP server on 127.0.0.1 speaking OpenAI's /v1/chat/completions, with fault injection.

Standard library only (``http.server.ThreadingHTTPServer``): one thread per connection, HTTP/1.1
keep-alive, a configurable latency per call, and per-request fault plans keyed by a marker
string found in the request's user text (e.g. a WISE prompt), consumed in order:

    {"status": 429, "retry_after": "1"}   an error status, optional Retry-After header
    {"delay": 3.0}                       sleep before answering (client timeouts)
    {"truncate": True}                   promise a longer body than is sent, then close
    {"malformed": "<html>oops"}          200 with a body that is not JSON
    {"body": {...}}                      200 with this JSON (e.g. no "choices")
    {"reply": "text", "finish_reason": "length", "model": "served-name"}
    {"status": 401, "echo_auth": True}   an error whose body echoes the request's Authorization header
                                         (a careless server: the key must still never be stored)

``default_fault`` (switch it with ``set_default_fault``) applies to every request no plan
matches: a judge that is down (``{"status": 500}``) and later recovers (``None``).

Used by tests/test_wise_*.py and tests/perf/bench_wise_judge.py; also runnable by hand:
``python tests/chat_server.py --port 8000 --latency 2`` then point ``base_url`` at it.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

DEFAULT_REPLY = "Consistency: 2\nRealism: 1\nAesthetic Quality: 0"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # many concurrent connects must not overflow the listen backlog
    allow_reuse_address = True


class ChatServer:
    def __init__(
        self,
        latency: float = 0.0,
        reply: str | Callable[[dict[str, Any]], str] = DEFAULT_REPLY,
        model: str | None = None,
        plans: dict[str, list[dict[str, Any]]] | None = None,
        port: int = 0,
    ) -> None:
        self.latency = latency
        self.reply = reply
        self.model = model
        self.plans = {k: list(v) for k, v in (plans or {}).items()}
        self.default_fault: dict[str, Any] = {}
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._in_flight = 0
        self.max_in_flight = 0
        self._httpd = _Server(("127.0.0.1", port), self._handler_class())
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> "ChatServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "ChatServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- inspection ------------------------------------------------------------------------
    def count(self, marker: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.requests if marker is None or marker in r["user_text"])

    def set_default_fault(self, fault: dict[str, Any] | None) -> None:
        with self._lock:
            self.default_fault = dict(fault or {})

    def add_plan(self, marker: str, faults: list[dict[str, Any]]) -> None:
        with self._lock:
            self.plans[marker] = list(faults)

    # -- internals -------------------------------------------------------------------------
    def _next_fault(self, user_text: str) -> dict[str, Any]:
        with self._lock:
            for marker, faults in self.plans.items():
                if marker in user_text and faults:
                    return faults.pop(0)
            return dict(self.default_fault)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None, declared: int | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(declared if declared is not None else len(payload)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)
                self.wfile.flush()

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, b'{"error": {"message": "not found"}}')
                    return
                user_text = _user_text(body)
                record = {"time": time.monotonic(), "body": body, "user_text": user_text,
                          "headers": {k.lower(): v for k, v in self.headers.items()}}
                with server._lock:
                    server.requests.append(record)
                    server._in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server._in_flight)
                try:
                    self._answer(body, user_text)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): nothing to answer
                finally:
                    with server._lock:
                        server._in_flight -= 1

            def _answer(self, body: dict[str, Any], user_text: str) -> None:
                fault = server._next_fault(user_text)
                auth = self.headers.get("Authorization", "")
                time.sleep(server.latency + float(fault.get("delay", 0.0)))
                if "status" in fault:
                    headers = {"Retry-After": str(fault["retry_after"])} if "retry_after" in fault else {}
                    message = f"injected {fault['status']}"
                    if fault.get("echo_auth"):
                        message += f": incorrect API key provided: {auth}"
                    err = {"error": {"message": message, "type": "injected", "code": fault["status"]}}
                    self._send(int(fault["status"]), json.dumps(err).encode(), headers)
                    return
                if "malformed" in fault:
                    self._send(200, str(fault["malformed"]).encode())
                    return
                if "body" in fault:
                    self._send(200, json.dumps(fault["body"]).encode())
                    return
                text = fault.get("reply")
                if text is None:
                    text = server.reply(body) if callable(server.reply) else server.reply
                payload = json.dumps({
                    "id": f"chatcmpl-{len(server.requests)}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": fault.get("model") or server.model or body.get("model"),
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                 "finish_reason": fault.get("finish_reason", "stop")}],
                    "usage": {"prompt_tokens": 1000, "completion_tokens": 12, "total_tokens": 1012},
                }).encode()
                if fault.get("truncate"):
                    self.close_connection = True
                    self._send(200, payload[: len(payload) // 2], declared=len(payload))
                    return
                self._send(200, payload)

        return Handler


def _user_text(body: dict[str, Any]) -> str:
    parts = []
    for msg in body.get("messages", []):
        if msg.get("role") != "user":
            continue
        content = msg.get("content")
        if isinstance(content, str):
            parts.append(content)
        else:
            parts.extend(p.get("text", "") for p in content or [] if p.get("type") == "text")
    return "\n".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--reply", default=DEFAULT_REPLY)
    ap.add_argument("--model", default=None, help="model name to report (default: echo the request's)")
    args = ap.parse_args()
    srv = ChatServer(latency=args.latency, reply=args.reply, model=args.model, port=args.port).start()
    print(f"serving {srv.base_url}/chat/completions (latency {args.latency} s); Ctrl-C to stop", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()


if __name__ == "__main__":
    main()
