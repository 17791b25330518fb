"""NOT A VQA MODEL: seeded yes/no answers for DPG-Bench smoke runs.

A tiny random BLIP answers "yes" to everything, so the smoke run sat at 100 and exercised
neither the dependency zeroing nor a fall. This backend answers "yes" with probability 0.7,
seeded by sha256(seed, tile pixels, question): the same tile and question, the same answer;
a "no" to a parent question zeroes its children through the real rules. Used by `make demo` as
``--scorer-option dpg-vqa.backend=t2ir1_eval.scorers.dpg.synthetic:SyntheticVqa``; never comparable.
"""

from __future__ import annotations

import hashlib
from typing import Any


class SyntheticVqa:
    def __init__(self, model_id: str | None = None, device: str = "cpu", seed: int = 0, p_yes: float = 0.7) -> None:
        self.seed = int(seed)
        self.p_yes = float(p_yes)

    def describe(self) -> dict[str, Any]:
        return {"vqa_model": "synthetic (seeded yes/no, not a model)", "seed": self.seed, "p_yes": self.p_yes,
                "comparable": False}

    def answer(self, tile: Any, questions: list[str]) -> list[str]:
        pixels = hashlib.sha256(tile.convert("RGB").tobytes()).hexdigest()
        out = []
        for q in questions:
            h = hashlib.sha256(f"{self.seed}\0{pixels}\0{q}".encode()).digest()
            out.append("yes" if int.from_bytes(h[:8], "big") / 2**64 < self.p_yes else "no")
        return out

    def close(self) -> None:
        pass
