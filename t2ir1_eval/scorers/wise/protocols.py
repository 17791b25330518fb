"""The two WISE judge protocols: exact texts, request settings and message layout.

The texts are benchmark data (``shared/benchmarks/wise/judge_prompts.json``, suite data key
``judge_prompts``), checked here byte for byte against the sha256 of the verbatim ``.txt``
extracts recorded in that folder's SOURCES.md, so an edited or re-encoded file is refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import DataError
from ...rules.wise import PINNED_JUDGES

#: key in judge_prompts.json -> sha256 of (system, user_template) as UTF-8 (SOURCES.md)
_ENTRIES: dict[str, tuple[str, str, str]] = {
    "legacy": (
        "legacy_gpt4o",
        "1034e394de55d899eb78e5ad09835de551cefa5bfeb0ba4bf452c83f6285ffc0",
        "c458c0d68c4f27e0f6d1cefce9df32c13128ef5de2d4af16f38f1b613327e659",
    ),
    "verified": (
        "verified_qwen35",
        "c9b9e5e189408801a05c600dfc385addc37bb1ebe9b933c74202ea72eb415f8c",
        "775ce8bb2d629c9231d46429faa3f8f78468a6b24f21c599740dc985ebbbfb0c",
    ),
}

#: where each official script sends its request when no endpoint is given
DEFAULT_BASE_URLS: dict[str, str | None] = {
    "legacy": None,  # api.openai.com (gpt_eval.py uses the OpenAI client's default)
    "verified": "http://127.0.0.1:8000/v1",  # vllm_eval.py --api_base default
}

#: hub id used when the in-process backend is asked for the protocol's judge
DEFAULT_HF_JUDGES: dict[str, str | None] = {
    "legacy": None,  # GPT-4o has no weights; an open judge must be named (a different metric)
    "verified": "Qwen/Qwen3.5-35B-A3B",
}


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class JudgeProtocol:
    name: str
    pinned_judge: str
    system: str
    user_template: str
    temperature: float
    max_tokens: int
    #: extra top-level request fields (vLLM's chat_template_kwargs for Verified)
    extra_body: dict[str, Any] = field(default_factory=dict)

    def user_text(self, prompt: str, explanation: str) -> str:
        """The official f-string, as str.replace of the two placeholders (no other braces occur)."""
        return self.user_template.replace("{PROMPT}", prompt).replace("{EXPLANATION}", explanation)

    def messages(self, prompt: str, explanation: str, image_bytes: bytes) -> list[dict[str, Any]]:
        """[system text], [user: text, then the image as a PNG data URL], as both official scripts.

        The bytes are sent as ``data:image/png`` whatever their real format, like upstream.
        """
        b64 = base64.b64encode(image_bytes).decode("ascii")
        return [
            {"role": "system", "content": [{"type": "text", "text": self.system}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": self.user_text(prompt, explanation)},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64}"}},
                ],
            },
        ]

    def request_params(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "max_tokens": self.max_tokens, **self.extra_body}

    def describe(self) -> dict[str, Any]:
        return {
            "protocol": self.name,
            "pinned_judge": self.pinned_judge,
            "system_sha256": sha256_text(self.system),
            "user_template_sha256": sha256_text(self.user_template),
            "request": self.request_params(),
        }


def load_protocol(name: str, judge_prompts: Path) -> JudgeProtocol:
    """Read one protocol from judge_prompts.json and verify its texts byte for byte."""
    if name not in _ENTRIES:
        raise DataError(f"WISE protocol: expected 'legacy' or 'verified', found {name!r}")
    key, want_system, want_user = _ENTRIES[name]
    path = Path(judge_prompts)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entry = data[key]
        system, user = entry["system"], entry["user_template"]
    except FileNotFoundError as exc:
        raise DataError(f"{path}: WISE judge prompts not found (suite data key 'judge_prompts')") from exc
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: expected a JSON object with {key}.system and {key}.user_template: {exc}") from exc
    for what, text, want in (("system", system, want_system), ("user_template", user, want_user)):
        got = sha256_text(text)
        if got != want:
            raise DataError(
                f"{path}: {key}.{what} is not the verbatim upstream text: expected sha256 {want}, found {got}. "
                "Restore the file from shared/benchmarks/wise (see its SOURCES.md)."
            )
    for placeholder in ("{PROMPT}", "{EXPLANATION}"):
        if user.count(placeholder) != 1:
            raise DataError(f"{path}: {key}.user_template: expected one {placeholder}, found {user.count(placeholder)}")
    return JudgeProtocol(
        name=name,
        pinned_judge=PINNED_JUDGES[name],
        system=system,
        user_template=user,
        temperature=float(entry.get("temperature", 0.0)),
        max_tokens=int(entry.get("max_tokens", 2000 if name == "legacy" else 500)),
        extra_body=dict(entry.get("extra") or {}),
    )
