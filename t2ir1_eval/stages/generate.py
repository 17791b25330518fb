"""Generate: prompts -> image files in the suite's official layout, by a generator or by
importing a folder of existing images; image checks; one manifest line per finished file.

Resumable: a file whose manifest line and image are both on disk is never redone.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any


from ..errors import ConfigError, ImageError
from ..generators import GENERATORS
from ..generators.base import Generator
from ..images import REPLACE, make_grid
from ..progress import progress
from ..run_checks import check_image_sizes
from ..seeding import derive_seed
from ..store import RunStore
from ..suites.spec import Suite
from ..types import GenRequest
from ..writer import BackgroundWriter
from .plan import Plan

log = logging.getLogger(__name__)


def build_generator(plan: Plan) -> Generator:
    """The preset's generator with the run's options (nothing is loaded until it generates)."""
    kwargs = dict(plan.preset.kwargs)
    kwargs.update(plan.cfg.generator_options)
    kwargs.setdefault("device", plan.cfg.device)
    kwargs.setdefault("dtype", plan.cfg.dtype)
    if plan.preset.generator == "folder":
        kwargs.pop("device"), kwargs.pop("dtype")
        kwargs.setdefault("model_name", plan.cfg.name)
    cls = GENERATORS.load(plan.preset.generator)
    return cls(**kwargs)


class RecordedGenerator(Generator):
    """The generator of an existing run as its config recorded it: scoring needs its image
    size and batching, never its weights."""

    name = "recorded"

    def __init__(self, identity: dict[str, Any], batch_size: int | None) -> None:
        self._identity = dict(identity)
        size = identity.get("image_size")
        self.image_size = tuple(size) if size else None
        self.batch_size = batch_size or 1

    def generate(self, requests: list[GenRequest]) -> list[Any]:
        raise ConfigError("`score` scores the images a run already has; use `run` or `generate` to make missing ones")

    def describe(self) -> dict[str, Any]:
        return dict(self._identity)

    def identity(self) -> dict[str, Any]:
        return dict(self._identity)


def dry_run(plan: Plan, generator: Generator, n: int = 3) -> list[dict[str, Any]]:
    """The model inputs of the first ``n`` prompts, without generating."""
    reqs = [GenRequest(it, k, derive_seed(plan.cfg.seed, plan.suite.name, it.prompt_id, k))
            for it in plan.items[:n] for k in range(min(plan.suite.images_per_prompt, 1))]
    return generator.dry_run(reqs)


def files_per_chunk(suite: Suite, generator: Generator) -> int:
    spf = suite.samples_per_file
    return max(1, generator.batch_size // spf) if spf > 1 else max(1, generator.batch_size)


# ---------------------------------------------------------------------------- image checks
def expected_file_size(plan: Plan, generator: Generator) -> tuple[int, int] | None:
    """Size of every image file: the generator's image, tiled when the suite uses a grid."""
    size = generator.image_size
    if size is None or plan.preset.generator == "folder" or not plan.suite.grid:
        return tuple(size) if size else None
    rows, cols = plan.suite.grid
    return (size[0] * cols, size[1] * rows)


def check_grid(suite: Suite, path: Path, size: tuple[int, int]) -> None:
    if suite.grid:
        r, c = suite.grid
        if size[0] % c or size[1] % r:
            raise ImageError(f"{path}: a {c}x{r} grid must split evenly, found {size[0]}x{size[1]}")


# ---------------------------------------------------------------------------- generation
def done_files(store: RunStore) -> set[str]:
    return {row["file"] for row in store.manifest() if "file" in row and "error" not in row}


def generate(plan: Plan, store: RunStore, gen: Generator) -> dict[str, int]:
    """Make every missing image of this rank's shard; finished files are never redone."""
    suite, rank = plan.suite, plan.dist.rank
    chunks = plan.my_chunks(plan.file_jobs(), files_per_chunk(suite, gen))
    jobs = [j for c in chunks for j in c]
    done = done_files(store)
    is_done = lambda j: j[2] in done and store.image_path(j[2]).is_file()  # noqa: E731
    pending_chunks = [c for c in chunks if not all(is_done(j) for j in c)]
    n_pending = sum(1 for c in pending_chunks for j in c if not is_done(j))
    if hasattr(suite.module, "write_extras"):
        for item in {j[0].prompt_id: j[0] for j in jobs}.values():
            store.write_extras(suite.module.write_extras, item)
    log.info("%s: %d image files in this shard, %d already done, %d to make -> %s",
             suite.name, len(jobs), len(jobs) - n_pending, n_pending, store.images)
    if not pending_chunks:
        return {"files": len(jobs), "made": 0, "failed": 0}
    if gen.name == "folder":
        return import_folder(plan, store, gen, jobs, [j for c in pending_chunks for j in c if not is_done(j)])
    spf = suite.samples_per_file
    made = failed = 0
    bar = progress(total=n_pending, desc=f"generate {suite.name} [rank {rank}]", unit="file",
               position=rank, disable=None)
    writer = BackgroundWriter()  # PNG encoding and writes overlap the next batch's generation
    for chunk in pending_chunks:
        # the whole chunk is generated (same batch as ever); only its missing files are written
        todo = [j for j in chunk if not is_done(j)]
        requests = [GenRequest(it, f * spf + s, derive_seed(plan.cfg.seed, suite.name, it.prompt_id, f * spf + s))
                    for it, f, _ in chunk for s in range(spf)]
        t0 = time.perf_counter()
        try:
            results = gen.generate(requests)
        except Exception as exc:  # counted and logged; the files stay missing and are retried next time
            log.exception("generation failed for %s", [c[2] for c in todo])
            store.append_manifest({"file": rel, "prompt_id": it.prompt_id, "error": f"{type(exc).__name__}: {exc}",
                                   "rank": rank} for it, _, rel in todo)
            failed += len(todo)
            bar.update(len(todo))
            continue
        if len(results) != len(requests):
            raise RuntimeError(f"generator {gen.name} returned {len(results)} images for {len(requests)} requests")
        writer.submit(write_chunk, suite, store, rank, chunk, todo, requests, results)
        made += len(todo)
        bar.update(len(todo))
        log.debug("batch of %d files in %.1fs", len(chunk), time.perf_counter() - t0)
    writer.close()
    bar.close()
    log.info("generated %d files (%d failed) under %s", made, failed, store.images)
    return {"files": len(jobs), "made": made, "failed": failed}


def write_chunk(suite: Suite, store: RunStore, rank: int, chunk: list, todo: list, requests: list[GenRequest],
                results: list) -> None:
    """PNG files of one generated chunk, then their manifest lines (on the writer thread)."""
    spf = suite.samples_per_file
    rows = []
    for n, (it, f, rel) in enumerate(chunk):
        if (it, f, rel) not in todo:
            continue
        group = results[n * spf : (n + 1) * spf]
        reqs = requests[n * spf : (n + 1) * spf]
        image = make_grid([r.image for r in group], *suite.grid) if suite.grid else group[0].image
        store.save_image(rel, image)
        for req, res in zip(reqs, group):
            rows.append({"file": rel, "prompt_id": it.prompt_id, "category": it.category, "prompt": it.prompt,
                         "sample_index": req.sample_index, "file_index": f, "seed": req.seed, "rank": rank,
                         "batch": [j[2] for j in chunk].index(rel), **res.info})
    # manifest after the image: a line only ever describes a file that is wholly on disk
    store.append_manifest(rows)


def import_folder(plan: Plan, store: RunStore, gen: Any, jobs: list, pending: list) -> dict[str, int]:
    """Copy (or adopt in place) the pending files from the folder generator's directory, checked."""
    rows = []
    for warning in gen.bind(plan.suite, plan.items):
        log.warning("%s", warning)
    absent = [rel for _, _, rel in pending if rel not in gen.files]
    if absent and not plan.cfg.allow_missing:
        raise ImageError(f"missing image: expected {gen.root / absent[0]} ({len(absent)} missing in all: "
                         f"{', '.join(absent[:3])}{' ...' if len(absent) > 3 else ''}; any name the suite's official "
                         f"evaluator accepts is found too). Add them, or pass --allow-missing to score them as failures")
    if absent:
        log.warning("%d image(s) not found under %s (scored as failures): %s", len(absent), gen.root, ", ".join(absent[:5]))
    present = [j for j in pending if j[2] not in absent]
    # all checked before any is copied; without a declared size the odd one out is blamed, not its neighbour
    for src, size in check_image_sizes([gen.source_file(rel) for _, _, rel in present], gen.image_size, fix=REPLACE):
        check_grid(plan.suite, src, size)
    for it, f, rel in progress(present, desc=f"import {plan.suite.name}", unit="file", disable=None):
        src = gen.source_file(rel)
        store.import_image(rel, src)
        rows.append({"file": rel, "prompt_id": it.prompt_id, "category": it.category, "prompt": it.prompt,
                     "file_index": f, "rank": plan.dist.rank, **gen.file_info(rel)})
    store.append_manifest(rows)
    return {"files": len(jobs), "made": len(rows), "failed": 0}
