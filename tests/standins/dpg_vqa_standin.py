"""A stand-in VQA backend for DPG-Bench tests: answers by a fixed rule on the tile's colour.

Real work on real pixels (it reads the tile), so the grid split, the tile order and the worker
round trip are all exercised; the answers are predictable, so tests can derive the score.

Mean colour of the tile -> answer to every question:
  white -> "yes"; black -> "no"; red -> "Yes" (capitalised: scores 0 upstream);
  green -> "yes." (punctuated: scores 0 upstream);
  blue  -> "yes" when the question contains "there", else "no".
"""

from __future__ import annotations

import os
from typing import Any


def colour_name(tile: Any) -> str:
    from PIL import ImageStat

    r, g, b = ImageStat.Stat(tile.convert("RGB")).mean
    if min(r, g, b) > 200:
        return "white"
    if max(r, g, b) < 55:
        return "black"
    return ("red", "green", "blue")[max(range(3), key=lambda i: (r, g, b)[i])]


def rule_answer(colour: str, question: str) -> str:
    if colour == "blue":
        return "yes" if "there" in question.lower().split() else "no"
    return {"white": "yes", "black": "no", "red": "Yes", "green": "yes."}[colour]


class ColourVqa:
    def __init__(self, model_id: str | None = None, device: str = "cpu") -> None:
        self.model_id = model_id or "colour-rule"
        self.calls = 0  # batched calls: one per tile

    def describe(self) -> dict[str, Any]:
        return {"vqa_model": f"standin:{self.model_id}", "pid": os.getpid(), "comparable": False}

    def answer(self, tile: Any, questions: list[str]) -> list[str]:
        self.calls += 1
        colour = colour_name(tile)
        return [rule_answer(colour, q) for q in questions]
