"""Each stage alone, on a real suite (WISE) and real image files: plan, generate (folder import),
finalise from hand-written records, and the store as the one writer of the run dir."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from t2ir1_eval.distributed import DistInfo
from t2ir1_eval.errors import ConfigError
from t2ir1_eval.stages import generate as G
from t2ir1_eval.stages.finalise import finalize
from t2ir1_eval.stages.plan import Plan, RunConfig, chunk_by_category, select_items
from t2ir1_eval.store import RunStore

FIRST_IDS = ["1", "401", "568", "701", "801", "901"]  # first prompt of each WISE category


def _cfg(tmp_path: Path, data_dir: Path, **kw) -> RunConfig:
    return RunConfig(suite="wise", model="folder", name="outside-model", run_dir=tmp_path / "run", data_dir=data_dir,
                     generator_options={"images": str(tmp_path / "src")}, **kw)


def _images(root: Path, ids: list[str]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for i in ids:
        Image.new("RGB", (16, 16), (int(i) % 255, 0, 0)).save(root / f"{i}.png")


def test_plan_selects_cuts_and_shards(tmp_path, data_dir):
    plan = Plan(_cfg(tmp_path, data_dir, limit=2))
    cats = [it.category for it in plan.items]
    assert len(plan.items) == 12 and all(cats.count(c) == 2 for c in set(cats))
    jobs = plan.file_jobs()
    assert [j[2] for j in jobs[:2]] == ["1.png", "2.png"]
    # batches never straddle categories, and a smaller --limit gives a prefix of each category's batches
    chunks = chunk_by_category(jobs, 3)
    assert all(len({j[0].category for j in c}) == 1 for c in chunks)
    small = chunk_by_category(Plan(_cfg(tmp_path, data_dir, limit=1)).file_jobs(), 3)
    assert [[j[2] for j in c] for c in small] == [[c[0][2]] for c in chunks]
    # two ranks split the same batches between them, round robin, nothing lost or doubled
    r0 = Plan(_cfg(tmp_path, data_dir, limit=2), DistInfo(0, 2, 0)).my_chunks(jobs, 3)
    r1 = Plan(_cfg(tmp_path, data_dir, limit=2), DistInfo(1, 2, 0)).my_chunks(jobs, 3)
    assert sorted(j[2] for c in r0 + r1 for j in c) == sorted(j[2] for j in jobs)
    assert r0 == chunks[0::2] and r1 == chunks[1::2]


def test_plan_refuses_an_unknown_category(tmp_path, data_dir):
    plan = Plan(_cfg(tmp_path, data_dir, limit=1))
    with pytest.raises(ConfigError, match="has no categories"):
        select_items(plan.suite, plan.items, ["nonsense"], None)


def test_generate_imports_a_folder_once(tmp_path, data_dir):
    _images(tmp_path / "src", FIRST_IDS)
    plan = Plan(_cfg(tmp_path, data_dir, limit=1))
    store = RunStore(plan.cfg.run_dir)
    gen = G.build_generator(plan)
    plan.claim(store, gen)
    assert G.generate(plan, store, gen) == {"files": 6, "made": 6, "failed": 0}
    assert sorted(r["file"] for r in store.manifest()) == sorted(f"{i}.png" for i in FIRST_IDS)
    assert all(store.image_path(f"{i}.png").is_file() for i in FIRST_IDS)
    assert G.generate(plan, store, gen) == {"files": 6, "made": 0, "failed": 0}  # resumed: nothing redone
    assert G.expected_file_size(plan, gen) is None  # a folder declares no size unless told


def test_finalise_from_records_alone(tmp_path, data_dir):
    _images(tmp_path / "src", FIRST_IDS)
    plan = Plan(_cfg(tmp_path, data_dir, limit=1))
    store = RunStore(plan.cfg.run_dir)
    gen = G.build_generator(plan)
    plan.claim(store, gen)
    G.generate(plan, store, gen)
    # raw outputs as a judge that never answered would leave them: no scorer, no model
    store.append_records("wise-judge", [{"prompt_id": it.prompt_id, "file_index": 0, "category": it.category,
                                         "scorer": "wise-judge", "raw": {"error": "judge unreachable"}}
                                        for it in plan.items[:5]])
    summary = finalize(plan.cfg.run_dir, plan.suite, plan.items, plan.options, plan.extra_provenance(gen))
    assert summary["n_images"] == 6 and summary["n_failed"] == 6
    assert summary["not_scored"] == [f"{plan.items[5].prompt_id}#0"]
    assert summary["provenance"]["generator"] == gen.describe()
    assert store.summary() == summary
    decisions = (store.root / "decisions.jsonl").read_text().splitlines()
    assert len(decisions) == 6
