"""One judge call over any OpenAI-compatible chat-completions endpoint.

The openai client is built with ``max_retries=0``: retries, backoff and Retry-After are handled
by the scorer, so every attempt is seen, classified and recorded. ``call`` never raises for a
transport or server problem; it returns an attempt record saying what happened.

The API key is read from the environment variable named by ``api_key_env`` and nowhere else;
it is never logged, stored, or put in a raw output.
"""

from __future__ import annotations

import email.utils
import json
import os
import time
from typing import Any

from ...errors import ConfigError
from ...redact import redact_text

#: attempt outcomes (the scorer retries every one but "ok")
OK, RATE_LIMITED, SERVER_ERROR, HTTP_ERROR, TIMEOUT, CONNECTION, MALFORMED = (
    "ok", "rate_limited", "server_error", "http_error", "timeout", "connection", "malformed",
)

_DETAIL_CHARS = 300


def parse_retry_after(headers: Any) -> float | None:
    """Seconds to wait from ``retry-after-ms`` (OpenAI), ``Retry-After`` seconds or HTTP-date."""
    if headers is None:
        return None
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def safe_endpoint(base_url: str | None) -> str:
    """The endpoint without user:password@ or query, fit for logs and raw outputs."""
    import httpx

    url = httpx.URL(base_url or "https://api.openai.com/v1")
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}{url.path}"


class OpenAIChatJudge:
    """Judge backend speaking /v1/chat/completions (OpenAI, vLLM, SGLang, ...)."""

    backend = "openai"

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 120.0,
        concurrency: int = 32,
    ) -> None:
        import httpx
        import openai

        self.model = model
        self.base_url = base_url
        self.api_key_env = api_key_env
        self.timeout = float(timeout)
        key = os.environ.get(api_key_env)
        self.api_key_sent = bool(key)
        if not key:
            if base_url is None:
                raise ConfigError(
                    f"WISE judge: the OpenAI API needs a key: set the environment variable {api_key_env} "
                    "(or point base_url at a local vLLM/SGLang server)"
                )
            key = "EMPTY"  # local servers started without --api-key ignore it; the client needs one
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._client = openai.OpenAI(
            api_key=key,
            base_url=base_url,
            timeout=self.timeout,
            max_retries=0,
            http_client=openai.DefaultHttpxClient(limits=limits),
        )
        self._openai_version = openai.__version__

    def identity(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "model": self.model,
            "endpoint": safe_endpoint(self.base_url),
            "api_key_env": self.api_key_env,
        }

    def describe(self) -> dict[str, Any]:
        return {**self.identity(), "api_key_sent": self.api_key_sent, "timeout_s": self.timeout, "openai": self._openai_version}

    def call(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        import openai

        std = {k: params[k] for k in ("temperature", "max_tokens") if k in params}
        extra = {k: v for k, v in params.items() if k not in std}
        start = time.monotonic()
        attempt: dict[str, Any] = {"outcome": None, "status": None}
        try:
            raw = self._client.chat.completions.with_raw_response.create(
                model=self.model, messages=messages, extra_body=extra or None, **std
            )
            http = raw.http_response
            attempt["status"] = http.status_code
            body = http.content
        except openai.APITimeoutError as exc:
            attempt.update(outcome=TIMEOUT, detail=redact_text(f"no reply within {self.timeout:g} s ({exc})"))
        except openai.APIConnectionError as exc:
            cause = exc.__cause__ or exc
            attempt.update(outcome=CONNECTION, detail=redact_text(f"{type(cause).__name__}: {cause}"))
        except openai.APIStatusError as exc:
            status = exc.status_code
            outcome = RATE_LIMITED if status == 429 else SERVER_ERROR if status >= 500 else HTTP_ERROR
            attempt.update(
                outcome=outcome,
                status=status,
                retry_after=parse_retry_after(exc.response.headers),
                detail=_short(exc.response.text),
            )
        else:
            attempt.update(_read_completion(body))
        attempt["seconds"] = round(time.monotonic() - start, 4)
        return attempt

    def close(self) -> None:
        self._client.close()


def _short(text: str) -> str:
    text = redact_text(text.strip())  # a server may echo the key (or a URL holding a token) back
    return text if len(text) <= _DETAIL_CHARS else text[:_DETAIL_CHARS] + "..."


def _read_completion(body: bytes) -> dict[str, Any]:
    """A 200 reply -> ok with its text, or malformed saying what was wrong with it."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return {"outcome": MALFORMED, "detail": f"body is not JSON ({exc}): {_short(body.decode('utf-8', 'replace'))}"}
    try:
        choice = data["choices"][0]
        content = choice["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return {"outcome": MALFORMED, "detail": f"no choices[0].message.content: {_short(json.dumps(data)[:1000])}"}
    if not isinstance(content, str):
        return {"outcome": MALFORMED, "detail": f"choices[0].message.content is {type(content).__name__}, not text"}
    return {
        "outcome": OK,
        "text": content,
        "model_returned": data.get("model") if isinstance(data.get("model"), str) else None,
        "finish_reason": choice.get("finish_reason"),
        "usage": data.get("usage") if isinstance(data.get("usage"), dict) else None,
    }
