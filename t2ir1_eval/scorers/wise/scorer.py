"""WISE judge scorer: image files -> the judge's exact replies (raw outputs), never decisions.

Per image: read the bytes, build the protocol's exact messages, look the request up in the reply
cache, else call the judge with bounded concurrency. Up to ``max_retries`` attempts (3, as the
official ``MAX_EXTRACT_RETRIES`` loop: three attempts in all) each of which may fail by timeout,
connection loss, 5xx, malformed body or an unparseable reply; transport failures back off
exponentially with jitter, or for as long as the server's Retry-After says. A 429 is
back-pressure, not a judge failure: it pauses every worker for its Retry-After and does not use
up an attempt (at most ``max_rate_limit_waits`` times per image). After the last attempt the
image is reported by id and the rules score it 0.

Only replies that parse are cached (unless ``cache_failures``): a rerun makes no call for them,
and retries the failures once more, which costs at most ``max_retries`` calls per failed image.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import logging
import random
import threading
import time
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from ...context import ScorerContext
from ...errors import ConfigError, DataError
from ...rules.wise import PARSERS, is_pinned_judge, metric_name, parse_reply, protocol_of
from ...types import Sample
from ..base import Scorer
from .cache import JudgeCache, cache_key
from .client import OK, RATE_LIMITED
from .protocols import DEFAULT_BASE_URLS, DEFAULT_HF_JUDGES, sha256_text, load_protocol

log = logging.getLogger(__name__)

_ATTEMPT_TEXT_CHARS = 500


class JudgeAuthError(ConfigError):
    """The judge refused our credentials: every further call would be refused too."""


class WiseJudgeScorer(Scorer):
    name = "wise-judge"
    version = "1"
    #: a reply does not depend on which other images share the batch: a rerun sends only the pending ones
    batch_independent = True

    def __init__(
        self,
        context: ScorerContext,
        backend: str = "openai",
        model_id: str | None = None,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 32,
        timeout: float = 120.0,
        max_retries: int = 3,
        cache: bool = True,
        cache_failures: bool = False,
        max_rate_limit_waits: int = 20,
        backoff_base: float = 1.0,
        max_backoff: float = 60.0,
        max_retry_after: float = 300.0,
        max_new_tokens: int | None = None,
        batch_size: int | None = None,
    ) -> None:
        self.protocol_name = protocol_of(context.options)
        self.parser = str(context.options.get("parser", "official"))
        if self.parser not in PARSERS:
            raise ConfigError(f"WISE option parser: expected one of {', '.join(PARSERS)}, found {self.parser!r}")
        if max_retries < 1:
            raise ConfigError(f"wise-judge max_retries: expected >= 1 (attempts per image), found {max_retries}")
        self.protocol = load_protocol(self.protocol_name, context.data_file("judge_prompts"))
        self.params = self.protocol.request_params()
        self.max_retries = int(max_retries)
        self.cache_failures = bool(cache_failures)
        self.max_rate_limit_waits = int(max_rate_limit_waits)
        self.backoff_base = float(backoff_base)
        self.max_backoff = float(max_backoff)
        self.max_retry_after = float(max_retry_after)
        if backend == "openai":
            from .client import OpenAIChatJudge

            model = model_id or self.protocol.pinned_judge
            if base_url is None:
                base_url = DEFAULT_BASE_URLS[self.protocol_name]
            self.judge: Any = OpenAIChatJudge(model, base_url, api_key_env, timeout, concurrency)
            self.concurrency = max(1, int(concurrency))
        elif backend == "transformers":
            from .judge_hf import TransformersJudge

            model = model_id or DEFAULT_HF_JUDGES[self.protocol_name]
            if model is None:
                raise ConfigError(
                    f"wise-judge backend=transformers, protocol {self.protocol_name}: GPT-4o has no weights; name an "
                    "open judge with model_id=<hub id> (its scores are a different metric) or model_id=tiny"
                )
            self.judge = TransformersJudge(model, device=context.device, dtype=context.dtype, max_new_tokens=max_new_tokens)
            self.concurrency = 1  # one model in one process: calls are serialised anyway
        else:
            raise ConfigError(f"wise-judge backend: expected 'openai' or 'transformers', found {backend!r}")
        self.batch_size = int(batch_size or (max(64, 4 * self.concurrency) if backend == "openai" else 8))
        self.cache = JudgeCache(Path(context.cache_dir) / "judge" / self.protocol_name) if cache else None
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="wise-judge")
        self._pause_lock = threading.Lock()
        self._pause_until = 0.0
        #: the name the server last reported (e.g. a dated snapshot behind an alias)
        self._model_returned: str | None = None
        #: set by a 401/403: no further call is made
        self._auth_error: JudgeAuthError | None = None

    # ---------------------------------------------------------------------------------------
    # public interface

    def score(self, samples: list[Sample]) -> list[dict[str, Any]]:
        futures = {self._pool.submit(self._judge_safely, s): i for i, s in enumerate(samples)}
        results: list[dict[str, Any]] = [{} for _ in samples]
        progress = tqdm(total=len(samples), desc=f"WISE judge ({self.protocol_name})", unit="img",
                        disable=len(samples) < 16, leave=False)
        for fut in concurrent.futures.as_completed(futures):
            results[futures[fut]] = fut.result()
            progress.update(1)
        progress.close()
        failed = [s.item.prompt_id for s, r in zip(samples, results) if r.get("error") or r.get("parse_failed")]
        if failed:
            log.warning(
                "WISE judge: %d image(s) without a parseable reply after %d attempts (scored 0 unless "
                "failure_policy=skip): prompt ids %s", len(failed), self.max_retries, ", ".join(failed),
            )
        return results

    def describe(self) -> dict[str, Any]:
        ident = self._identity()
        pinned = not ident.get("tiny") and is_pinned_judge(self.protocol_name, ident["model"], ident.get("model_returned"))
        return {
            "scorer": self.name,
            "version": self.version,
            **self.protocol.describe(),
            "judge": self.judge.describe(),
            "metric": metric_name(self.protocol_name, ident),
            "is_pinned_judge": pinned,
            "comparable": pinned,
            "parser": self.parser,
            "max_retries": self.max_retries,
            "concurrency": self.concurrency,
            "max_rate_limit_waits": self.max_rate_limit_waits,
            "cache": str(self.cache.root) if self.cache else None,
            "cache_failures": self.cache_failures,
        }

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.judge.close()

    # ---------------------------------------------------------------------------------------
    # one image

    def _identity(self, model_returned: str | None = None) -> dict[str, Any]:
        ident = dict(self.judge.identity())
        returned = model_returned or self._model_returned
        if returned:
            ident["model_returned"] = returned
        return ident

    def _judge_safely(self, sample: Sample) -> dict[str, Any]:
        try:
            return self._judge(sample)
        except (DataError, ConfigError):
            raise
        except Exception as exc:  # noqa: BLE001 - a bug on one image must not lose the batch
            log.exception("WISE judge: prompt %s failed unexpectedly", sample.item.prompt_id)
            return self._base_raw() | {"error": f"{type(exc).__name__}: {exc}", "reply": None, "attempts": []}

    def _base_raw(self) -> dict[str, Any]:
        return {"protocol": self.protocol_name, "parser": self.parser, "judge": self._identity(), "cache_hit": False}

    def _texts(self, sample: Sample) -> tuple[str, str]:
        meta = sample.item.metadata or {}
        explanation = meta.get("Explanation")
        if not isinstance(explanation, str):
            raise DataError(
                f"WISE prompt {sample.item.prompt_id}: expected the data row's 'Explanation' in PromptItem.metadata, "
                f"found {explanation!r}; the judge must receive both Prompt and Explanation"
            )
        return str(meta.get("Prompt", sample.item.prompt)), explanation

    def _judge(self, sample: Sample) -> dict[str, Any]:
        prompt, explanation = self._texts(sample)
        path = Path(sample.path)
        try:
            image = path.read_bytes()
        except OSError as exc:
            return self._base_raw() | {
                "error": f"image not readable: {path} (expected {sample.item.prompt_id}.png): {exc.strerror or exc}",
                "reply": None, "attempts": [],
            }
        messages = self.protocol.messages(prompt, explanation, image)
        user = messages[1]["content"][0]["text"]
        ident = self.judge.identity()
        image_sha = hashlib.sha256(image).hexdigest()
        key = cache_key(
            protocol=self.protocol_name, backend=ident["backend"], model=ident["model"], params=self.params,
            image_sha256=image_sha, system=self.protocol.system, user=user,
        )
        common = {"image_sha256": image_sha, "prompt_sha256": sha256_text(self.protocol.system + "\n" + user), "cache_key": key}
        if self.cache:
            entry = self.cache.get(key)
            usable = entry is not None and (
                (entry.get("parse_failed") and self.cache_failures)
                or (not entry.get("parse_failed") and parse_reply(self.protocol_name, entry.get("reply"), self.parser)["ok"])
            )
            if usable:
                return self._base_raw() | common | {
                    "judge": self._identity(entry.get("model_returned")),
                    "reply": entry.get("reply"),
                    "finish_reason": entry.get("finish_reason"),
                    "attempts": entry.get("attempts", []),
                    "cache_hit": True,
                    **({"parse_failed": True} if entry.get("parse_failed") else {}),
                }
        raw = self._call_with_retries(messages)
        raw = self._base_raw() | common | raw
        if self.cache and (not raw.get("error") and (not raw.get("parse_failed") or self.cache_failures)):
            self.cache.put(key, {
                "reply": raw["reply"],
                "model_returned": raw["judge"].get("model_returned"),
                "finish_reason": raw.get("finish_reason"),
                "usage": raw.get("usage"),
                "attempts": raw["attempts"],
                "parse_failed": bool(raw.get("parse_failed")),
                "created": time.time(),
            })
        return raw

    def _call_with_retries(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        attempts: list[dict[str, Any]] = []
        last_ok: dict[str, Any] | None = None
        used = waits = 0
        parsed_ok = False
        while used < self.max_retries:
            self._wait_for_pause()
            if self._auth_error is not None:
                raise self._auth_error
            attempt = self.judge.call(messages, self.params)
            if attempt.get("status") in (401, 403):
                ident = self.judge.identity()
                self._auth_error = JudgeAuthError(
                    f"the WISE judge at {ident.get('endpoint')} refused the credentials (HTTP {attempt['status']}: "
                    f"{attempt.get('detail', '')}). Expected a valid key in the environment variable "
                    f"{ident.get('api_key_env')}; stopped at once rather than retrying every image. Fix the key and "
                    f"run the same command again: it resumes where it stopped.")
                raise self._auth_error
            record = {k: v for k, v in attempt.items() if k not in ("text", "usage", "model_returned")}
            record["n"] = len(attempts) + 1
            attempts.append(record)
            if attempt["outcome"] == RATE_LIMITED and waits < self.max_rate_limit_waits:
                waits += 1
                record["counted"] = False  # back-pressure, not a failed attempt
                self._pause_all(self._delay(attempt, waits))
                continue
            used += 1
            if attempt["outcome"] == OK:
                last_ok = attempt
                if attempt.get("model_returned"):
                    self._model_returned = attempt["model_returned"]
                parsed = parse_reply(self.protocol_name, attempt["text"], self.parser)
                if parsed["ok"]:
                    parsed_ok = True
                    break
                record.update(outcome="unparseable", detail=parsed["problem"], text=attempt["text"][:_ATTEMPT_TEXT_CHARS])
                continue  # official loop: ask again at once
            if used < self.max_retries:
                time.sleep(self._delay(attempt, used))
        raw: dict[str, Any] = {"attempts": attempts}
        if last_ok is None:
            last = attempts[-1]
            raw.update(reply=None, error=f"no reply after {used} attempt(s); last: {last['outcome']} {last.get('detail', '')}".strip())
            return raw
        raw.update(
            judge=self._identity(last_ok.get("model_returned")),
            reply=last_ok["text"],
            finish_reason=last_ok.get("finish_reason"),
            usage=last_ok.get("usage"),
        )
        if not parsed_ok:
            raw["parse_failed"] = True
        return raw

    def _delay(self, attempt: dict[str, Any], n: int) -> float:
        """Retry-After when the server gave one, else exponential backoff with jitter."""
        if attempt.get("retry_after") is not None:
            return min(float(attempt["retry_after"]), self.max_retry_after)
        return min(self.max_backoff, self.backoff_base * 2 ** (n - 1)) * random.uniform(0.5, 1.0)

    def _pause_all(self, seconds: float) -> None:
        with self._pause_lock:
            self._pause_until = max(self._pause_until, time.monotonic() + seconds)

    def _wait_for_pause(self) -> None:
        while True:
            with self._pause_lock:
                left = self._pause_until - time.monotonic()
            if left <= 0:
                return
            time.sleep(left)
