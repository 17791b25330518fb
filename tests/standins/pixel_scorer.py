"""A real (if simple) scorer for protocol tests: per-image size and mean RGB, or a chosen failure."""

from __future__ import annotations

import os
from typing import Any

from t2ir1_eval.scorers.base import Scorer


class PixelScorer(Scorer):
    name = "pixel-standin"

    def __init__(self, context, fail_on: str | None = None, crash_on: str | None = None, batch_size: int = 4,
                 text_on: str | None = None) -> None:
        self.context = context
        self.text_on = text_on  # answer a bare string for this prompt: a broken backend's output
        self.fail_on = fail_on
        self.crash_on = crash_on
        self.batch_size = batch_size

    def score(self, samples):
        from PIL import Image

        out: list[dict[str, Any]] = []
        for s in samples:
            if self.crash_on and self.crash_on == s.item.prompt_id:
                os._exit(3)  # a backend that dies hard (segfault, OOM kill)
            if self.fail_on and self.fail_on == s.item.prompt_id:
                raise RuntimeError(f"cannot score {s.path}")
            if self.text_on and self.text_on == s.item.prompt_id:
                out.append("yes")
                continue
            with Image.open(s.path) as im:
                px = list(im.convert("RGB").getdata())
            mean = [sum(p[c] for p in px) / len(px) for c in range(3)]
            out.append({"size": list(im.size), "mean_rgb": mean, "pid": os.getpid(), "suite": self.context.suite})
        return out

    def describe(self):
        return {"name": self.name, "fail_on": self.fail_on, "comparable": False}
