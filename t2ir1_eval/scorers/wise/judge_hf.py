"""An in-process VLM judge with transformers, for users without an endpoint.

Real use: a hub id of an image-text-to-text model (e.g. ``Qwen/Qwen3.5-35B-A3B`` for the
Verified protocol, or a Qwen2.5-VL / Qwen3-VL for a legacy-rubric open judge, which is then a
*different metric*), loaded with ``AutoModelForImageTextToText`` + ``AutoProcessor``.
``model_id="tiny"`` builds a random-weight LLaVA (CLIP vision tower + Llama) from its real config
classes, offline: it writes gibberish, which goes through the same parse / retry / failure path,
so a demo shows the failures counted rather than hidden.

Decoding follows the protocol: temperature 0 -> greedy; ``max_tokens`` -> ``max_new_tokens``
(capped by ``max_new_tokens`` when given, which the tiny judge needs on CPU).
"""

from __future__ import annotations

import base64
import io
import threading
import time
from typing import Any

from ...registry import TINY_MODELS

TINY = "tiny"
#: the name a tiny judge reports, so no table can mistake it for a real one
TINY_NAME = "tiny-random-llava"


def _to_hf_messages(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Any]]:
    """OpenAI content parts -> transformers chat parts; data-URL images decoded to PIL."""
    from PIL import Image

    out, images = [], []
    for msg in messages:
        parts = []
        content = msg["content"]
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        for part in content:
            if part["type"] == "text":
                parts.append({"type": "text", "text": part["text"]})
            elif part["type"] == "image_url":
                url = part["image_url"]["url"]
                payload = url.split(",", 1)[1] if url.startswith("data:") else None
                if payload is None:
                    raise ValueError("the in-process judge takes data-URL images only")
                images.append(Image.open(io.BytesIO(base64.b64decode(payload))).convert("RGB"))
                parts.append({"type": "image"})
        out.append({"role": msg["role"], "content": parts})
    return out, images


class TransformersJudge:
    """Judge backend running a VLM in this process (one call at a time)."""

    backend = "transformers"

    def __init__(self, model_id: str, device: str = "cpu", dtype: str = "float32", max_new_tokens: int | None = None) -> None:
        import torch
        import transformers

        self.model_id = model_id
        self.tiny = model_id == TINY
        self.device = device
        self._lock = threading.Lock()
        self._transformers_version = transformers.__version__
        if self.tiny:
            self.model, self.processor = TINY_MODELS.load("llava")()
            # a random model rarely stops by itself; 2000 new tokens x 3 attempts would take minutes
            self.max_new_tokens = max_new_tokens or 24
        else:
            from transformers import AutoModelForImageTextToText, AutoProcessor

            self.processor = AutoProcessor.from_pretrained(model_id)
            self.model = AutoModelForImageTextToText.from_pretrained(
                model_id, dtype=getattr(torch, dtype), device_map=device if device != "cpu" else None
            ).eval()
            self.max_new_tokens = max_new_tokens
        self.revision = getattr(self.model.config, "_commit_hash", None)

    def identity(self) -> dict[str, Any]:
        ident: dict[str, Any] = {"backend": self.backend, "model": TINY_NAME if self.tiny else self.model_id}
        if self.tiny:
            ident["tiny"] = True
        if self.revision:
            ident["revision"] = self.revision
        return ident

    def describe(self) -> dict[str, Any]:
        return {
            **self.identity(),
            "class": type(self.model).__name__,
            "device": self.device,
            "max_new_tokens_cap": self.max_new_tokens,
            "transformers": self._transformers_version,
        }

    def call(self, messages: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        import torch

        start = time.monotonic()
        try:
            hf_messages, images = _to_hf_messages(messages)
            template_kwargs = dict(params.get("chat_template_kwargs") or {})
            text = self.processor.apply_chat_template(hf_messages, add_generation_prompt=True, tokenize=False, **template_kwargs)
            inputs = self.processor(text=[text], images=images or None, return_tensors="pt").to(self.model.device)
            limit = int(params.get("max_tokens", 512))
            if self.max_new_tokens:
                limit = min(limit, self.max_new_tokens)
            temperature = float(params.get("temperature", 0.0))
            sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
            with self._lock, torch.inference_mode():
                out = self.model.generate(**inputs, max_new_tokens=limit, **sampling)
            new = out[0, inputs["input_ids"].shape[1]:]
            reply = self.processor.decode(new, skip_special_tokens=True)
            eos = self.model.generation_config.eos_token_id
            eos_ids = set(eos if isinstance(eos, list) else [eos])
            finish = "stop" if len(new) < limit or int(new[-1]) in eos_ids else "length"
            attempt = {"outcome": "ok", "status": None, "text": reply, "model_returned": None, "finish_reason": finish}
        except Exception as exc:  # noqa: BLE001 - one image's failure is recorded, not raised
            attempt = {"outcome": "error", "status": None, "detail": f"{type(exc).__name__}: {exc}"}
        attempt["seconds"] = round(time.monotonic() - start, 4)
        return attempt

    def close(self) -> None:
        self.model = None
        self.processor = None
