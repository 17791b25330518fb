"""Per-image seeds that do not depend on sharding, batching or resume order."""

from __future__ import annotations

import hashlib


def derive_seed(run_seed: int, suite: str, prompt_id: str, sample_index: int) -> int:
    """A 63-bit seed from (run seed, suite, prompt id, sample index).

    Hashing (rather than ``run_seed + index``) keeps neighbouring prompts' streams unrelated
    and makes the seed of an image independent of the order prompts are visited in.
    """
    key = f"t2ir1-eval/v1\x00{int(run_seed)}\x00{suite}\x00{prompt_id}\x00{int(sample_index)}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") & ((1 << 63) - 1)
