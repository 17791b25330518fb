"""Run directory: atomic files, crash-tolerant logs, config identity, image checks on import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from t2ir1_eval.errors import ConfigError, ImageError
from t2ir1_eval.io import append_jsonl, atomic_write_json, read_jsonl
from t2ir1_eval.pipeline import Run, RunConfig, run
from t2ir1_eval.store import RunStore


def test_truncated_last_line_is_ignored(tmp_path):
    p = tmp_path / "m.jsonl"
    append_jsonl(p, [{"a": 1}, {"a": 2}])
    with open(p, "a") as fh:
        fh.write('{"a": 3, "b"')  # a kill in the middle of a write
    assert [r["a"] for r in read_jsonl(p)] == [1, 2]


def test_corrupt_middle_line_is_an_error(tmp_path):
    p = tmp_path / "m.jsonl"
    p.write_text('{"a": 1}\nnot json\n{"a": 2}\n')
    with pytest.raises(ValueError, match=r"m.jsonl:2"):
        list(read_jsonl(p))


def test_atomic_write_leaves_no_temp_files(tmp_path):
    atomic_write_json(tmp_path / "x.json", {"k": 1})
    atomic_write_json(tmp_path / "x.json", {"k": 2})
    assert json.loads((tmp_path / "x.json").read_text()) == {"k": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_run_directory_with_another_config_is_refused(tmp_path):
    store = RunStore(tmp_path)
    store.claim({"identity": {"suite": "wise", "seed": 0, "options": {"protocol": "legacy"}}})
    store.claim({"identity": {"suite": "wise", "seed": 0, "options": {"protocol": "legacy"}}})  # same: fine
    with pytest.raises(ConfigError) as err:
        store.claim({"identity": {"suite": "wise", "seed": 1, "options": {"protocol": "verified"}}})
    assert "seed: 0 -> 1" in str(err.value) and "options.protocol" in str(err.value)


def _wise_images(root: Path, ids: list[str], size=(16, 16)) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for i in ids:
        Image.new("RGB", size, (int(i) % 255, 0, 0)).save(root / f"{i}.png")


def _cfg(tmp_path: Path, data_dir: Path, images: Path, **kw) -> RunConfig:
    return RunConfig(suite="wise", model="folder", run_dir=tmp_path / "run", data_dir=data_dir,
                     generator_options={"images": str(images)}, limit=1, name="outside-model", **kw)


IDS = ["1", "401", "568", "701", "801", "901"]  # first prompt of each WISE category


def test_folder_import_copies_official_layout_and_manifest(tmp_path, data_dir):
    _wise_images(tmp_path / "src", IDS)
    run(_cfg(tmp_path, data_dir, tmp_path / "src"), score=False)
    store = RunStore(tmp_path / "run")
    assert sorted(p.name for p in store.images.iterdir()) == sorted(f"{i}.png" for i in IDS)
    rows = store.manifest()
    assert {r["prompt_id"] for r in rows} == set(IDS) and all(len(r["sha256"]) == 64 for r in rows)
    # resuming does nothing twice
    run(_cfg(tmp_path, data_dir, tmp_path / "src"), score=False)
    assert len(store.manifest()) == len(IDS)


def test_missing_image_is_named(tmp_path, data_dir):
    _wise_images(tmp_path / "src", IDS[:-1])
    with pytest.raises(ImageError, match=r"missing image: expected .*901\.png"):
        run(_cfg(tmp_path, data_dir, tmp_path / "src"), score=False)


def test_corrupt_png_is_named(tmp_path, data_dir):
    _wise_images(tmp_path / "src", IDS)
    data = (tmp_path / "src" / "568.png").read_bytes()
    (tmp_path / "src" / "568.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match=r"corrupt image .*568\.png"):
        run(_cfg(tmp_path, data_dir, tmp_path / "src"), score=False)


def test_wrong_size_is_named(tmp_path, data_dir):
    _wise_images(tmp_path / "src", IDS)
    Image.new("RGB", (20, 16)).save(tmp_path / "src" / "801.png")
    with pytest.raises(ImageError, match=r"801\.png has size 20x16, expected 16x16"):
        run(_cfg(tmp_path, data_dir, tmp_path / "src"), score=False)


def test_declared_size_is_enforced(tmp_path, data_dir):
    _wise_images(tmp_path / "src", IDS)
    cfg = _cfg(tmp_path, data_dir, tmp_path / "src")
    cfg.generator_options["image_size"] = "384"
    with pytest.raises(ImageError, match="expected 384x384"):
        run(cfg, score=False)


def test_limit_keeps_every_category(tmp_path, data_dir):
    r = Run(RunConfig(suite="t2i-compbench", model="folder", run_dir=tmp_path / "r", data_dir=data_dir,
                      generator_options={"images": str(tmp_path)}, limit=2, name="outside-model"))
    assert len(r.items) == 16 and len({i.category for i in r.items}) == 8


def test_append_after_a_cut_line_starts_clean(tmp_path):
    p = tmp_path / "m.jsonl"
    append_jsonl(p, [{"a": 1}])
    with open(p, "a") as fh:
        fh.write('{"a": 2, "b')
    append_jsonl(p, [{"a": 3}])
    assert [r["a"] for r in read_jsonl(p)] == [1, 3]
