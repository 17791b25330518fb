"""Score: images -> raw scorer outputs, one record per image file under records/<scorer>/.

Builds each scorer the suite's categories name (in process, or as a worker in another Python
environment), with the run's options; checks the images first. Records are raw outputs only:
decisions are the finalise stage's, so they can be recomputed without a model.
"""

from __future__ import annotations

import logging
from typing import Any


from .. import distributed
from ..context import ScorerContext
from ..errors import ImageError
from ..generators.base import Generator
from ..images import REGENERATE, REPLACE, check_image
from ..progress import progress
from ..scorers import SCORERS
from ..scorers.base import Scorer
from ..store import RunStore
from ..suites.data import default_cache_dir
from ..types import Sample
from .generate import check_grid, expected_file_size
from .plan import Plan, chunk_by_category

log = logging.getLogger(__name__)


def scorer_for(plan: Plan, category: str) -> str:
    return plan.suite.categories[category]["scorer"]


def scorer_options(plan: Plan, name: str) -> dict[str, Any]:
    """``--scorer-option`` for every scorer (``*``), then for this one."""
    opts = dict(plan.cfg.scorer_options.get("*", {}))
    opts.update(plan.cfg.scorer_options.get(name, {}))
    return opts


def build_scorer(plan: Plan, store: RunStore, name: str) -> Scorer:
    ctx = ScorerContext(suite=plan.suite.name, options=plan.options, data_file=plan.data_file,
                        device=plan.device(), dtype=plan.cfg.dtype, cache_dir=default_cache_dir(),
                        run_dir=store.root)
    opts = scorer_options(plan, name)
    if name in plan.cfg.scorer_workers:
        from ..scorers.worker import WorkerScorer

        keys = plan.suite.module.data_keys(plan.suite, plan.options)
        return WorkerScorer(ctx, python=plan.cfg.scorer_workers[name], target=SCORERS.target(name),
                            data_keys=[k for k in keys if plan.has_data(k)], **opts)
    return SCORERS.load(name)(ctx, **opts)


def scorer_batch_size(plan: Plan, name: str) -> int:
    opts = scorer_options(plan, name)
    if opts.get("batch_size"):
        return int(opts["batch_size"])
    if name in plan.cfg.scorer_workers:
        return 8
    return max(1, int(getattr(SCORERS.load(name), "batch_size", 8) or 8))


def score(plan: Plan, store: RunStore, generator: Generator) -> dict[str, int]:
    """Raw outputs for every image of this rank's shard; finished records are never redone.
    ``generator`` only tells the expected image size."""
    done = set(store.records())
    by_scorer: dict[str, list[Sample]] = {}
    for it, f, rel in plan.file_jobs():
        by_scorer.setdefault(scorer_for(plan, it.category), []).append(Sample(it, f, store.image_path(rel)))
    key = lambda s: (s.item.prompt_id, s.file_index)  # noqa: E731
    work: dict[str, list[list[Sample]]] = {}
    for name, samples in by_scorer.items():
        # fixed batches (see Plan.my_chunks): a record does not depend on the shard or resume point
        chunks = distributed.shard(chunk_by_category([(s.item, s) for s in samples], scorer_batch_size(plan, name)), plan.dist)
        work[name] = [[s for _, s in c] for c in chunks if any(key(s) not in done for _, s in c)]
    pending = [s for chunks in work.values() for c in chunks for s in c if key(s) not in done]
    total = sum(len(v) for v in by_scorer.values())
    log.info("%s: %d image files, %d to score on this rank", plan.suite.name, total, len(pending))
    missing = [s for s in pending if not s.path.is_file()]
    if missing and not plan.cfg.allow_missing:
        names = ", ".join(str(s.path) for s in missing[:5])
        raise ImageError(f"{len(missing)} image(s) missing, e.g. {names}. Generate them first (t2ir1-eval generate), "
                         f"or pass --allow-missing to score them as failures")
    expected = expected_file_size(plan, generator)
    for s in pending:
        if s.path.is_file():
            size = check_image(s.path, expected, fix=REPLACE if plan.cfg.model == "folder" else REGENERATE)
            expected = expected or size
            check_grid(plan.suite, s.path, size)
    counts = {"scored": 0, "errors": 0}
    rank = plan.dist.rank
    for name, chunks in work.items():
        if not chunks:
            continue
        scorer = build_scorer(plan, store, name)
        try:
            store.claim_scorer(name, {"name": name, "version": scorer.version, "options": scorer_options(plan, name),
                                      "batch_size": scorer_batch_size(plan, name)})
            store.write_scorer_description(name, scorer.describe())
            todo = sum(1 for c in chunks for s in c if key(s) not in done)
            bar = progress(total=todo, desc=f"score {name} [rank {rank}]", unit="img", position=rank, disable=None)
            for batch in chunks:
                present = [s for s in batch if s.path.is_file()]
                raws = scorer.score(present) if present else []
                by_key = {key(s): r for s, r in zip(present, raws)}
                rows = []
                for s in batch:
                    if key(s) in done:
                        continue
                    raw = by_key.get(key(s), {"error": f"missing image {s.path}"})
                    counts["errors"] += "error" in raw
                    rows.append({"prompt_id": s.item.prompt_id, "file_index": s.file_index, "category": s.item.category,
                                 "scorer": name, "raw": raw})
                store.append_records(name, rows)
                counts["scored"] += len(rows)
                bar.update(len(rows))
            bar.close()
        finally:
            scorer.close()
    log.info("scored %d files (%d with errors); records under %s", counts["scored"], counts["errors"], store.root / "records")
    return counts
