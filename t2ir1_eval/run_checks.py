"""Checks and small facts the pipeline's stages share: what a run used, what it covers, what failed.

Kept out of pipeline.py so each rule has one home: which data files identify a run (a fallback
by its own sha256), which prompts failed to generate, whether a run is partial, where a
rescore with other options goes, which image of a run has the wrong size, and what a scorer
may hand back before anything is stored.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Sequence

from .errors import DataError, ImageError, T2IR1EvalError
from .images import REGENERATE, check_image
from .io import sha256_file


class ScorerOutputError(T2IR1EvalError):
    """A scorer (or its worker) answered with something that is not one dict per image."""


def data_identity(suite: Any, resolver: Any, keys: Iterable[str], fallbacks: dict[str, Path]) -> dict[str, str]:
    """data key -> checksum of the file actually used: the pinned one, or a fallback's own sha256."""
    out = {}
    for key in keys:
        if key not in suite.files:
            continue
        if key in fallbacks:
            try:
                suite.data_file(resolver, key)
            except DataError:
                path = Path(fallbacks[key])
                if not path.is_file():
                    raise DataError(f"--fallback-data {key}={path}: expected a file, found nothing") from None
                out[key] = f"fallback:sha256:{sha256_file(path)}"
                continue
        out[key] = suite.files[key].checksum()
    return out


def generation_failures(manifest: Iterable[dict[str, Any]]) -> dict[str, str]:
    """file -> error, for files whose every manifest row is a failure (a later success clears it)."""
    failed: dict[str, str] = {}
    made: set[str] = set()
    for row in manifest:
        f = row.get("file")
        if f is None:
            continue
        if "error" in row:
            failed[f] = str(row["error"])
        else:
            made.add(f)
    return {f: e for f, e in failed.items() if f not in made}


def partial_info(items: Sequence[Any], n_suite_prompts: int | None) -> dict[str, Any] | None:
    """None for a run over the whole suite, else how much of it the run covers (tables say so)."""
    if n_suite_prompts is None or len(items) >= n_suite_prompts:
        return None
    return {"n_prompts": len(items), "of_prompts": n_suite_prompts,
            "categories": sorted({it.category for it in items})}


def variant_name(run_options: dict[str, Any], options: dict[str, Any]) -> str | None:
    """The folder name (under ``<run>/variants/``) of a rescore with other rule options; None for
    the run's own options (the run's own summary)."""
    changed = {k: v for k, v in sorted(options.items()) if run_options.get(k) != v}
    if not changed:
        return None
    name = ",".join(f"{k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in changed.items())
    return re.sub(r"[^A-Za-z0-9_.,=+-]", "_", name)[:120]


def check_image_sizes(paths: Sequence[Path], expected: tuple[int, int] | None,
                      fix: str = REGENERATE) -> list[tuple[Path, tuple[int, int]]]:
    """(path, size) of each image, or ImageError naming the image that is wrong.

    Without a known size, the size most images share is the expected one, so the odd image is
    blamed (not whichever correct image happens to come after it). ``fix`` says what to do with a
    corrupt file (regenerate it, or replace it in an outside folder).
    """
    sizes = [(p, check_image(p, fix=fix)) for p in paths]
    if expected is None and sizes:
        common = Counter(s for _, s in sizes).most_common()
        if len(common) > 1 and common[0][1] == common[1][1]:
            raise ImageError(
                f"the images of this run differ in size and no size is the majority: "
                f"{sizes[0][0]} is {sizes[0][1][0]}x{sizes[0][1][1]}, "
                f"{next(p for p, s in sizes if s != sizes[0][1])} is {common[1][0][0]}x{common[1][0][1]}. "
                f"Every image of a run must have the same size; replace the wrong one(s).")
        expected = common[0][0]
    for p, s in sizes:
        if expected is not None and tuple(s) != tuple(expected):
            raise ImageError(f"image {p} has size {s[0]}x{s[1]}, expected {expected[0]}x{expected[1]} "
                             f"(the size of every other image of this run). "
                             + ("Replace or delete that file and run again." if fix == REGENERATE else fix))
    return sizes


def check_scorer_outputs(name: str, samples: Sequence[Any], raws: Any) -> None:
    """One JSON-ready dict per sample, or ScorerOutputError before anything is stored."""
    if not isinstance(raws, list) or len(raws) != len(samples):
        raise ScorerOutputError(
            f"scorer {name} returned {type(raws).__name__}"
            f"{f' of length {len(raws)}' if isinstance(raws, list) else ''} for {len(samples)} images; "
            f"expected a list with one dict per image. Nothing of this batch was stored.")
    for s, raw in zip(samples, raws):
        if not isinstance(raw, dict):
            raise ScorerOutputError(
                f"scorer {name} returned {type(raw).__name__} {str(raw)[:60]!r} for {s.path}; expected a dict of raw "
                f"outputs (or {{'error': ...}}). Nothing of this batch was stored; the scorer (or its worker) is broken.")
        try:
            json.dumps(raw, default=_json_ready)
        except (TypeError, ValueError) as exc:
            raise ScorerOutputError(f"scorer {name} returned an output for {s.path} that cannot be stored as JSON: {exc}. "
                                    f"Nothing of this batch was stored.") from exc


def _json_ready(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")
