"""Bring your own images: every file name each official evaluator accepts, ordered as it orders them;
clear refusals for what it would refuse; warnings naming extra and mislabelled files; --name."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from click.testing import CliRunner
from PIL import Image

from t2ir1_eval.cli import main
from t2ir1_eval.io import read_jsonl
from t2ir1_eval.suites.data import DataResolver
from t2ir1_eval.suites.spec import load_suite


def _items(data_dir: Path, suite: str, limit: int, categories: set[str] | None = None) -> list:
    s = load_suite(suite)
    items = s.load_items(DataResolver(data_dir, offline=True), s.resolve_options({}))
    seen: dict[str, int] = {}
    out = []
    for it in items:
        if (categories is None or it.category in categories) and seen.get(it.category, 0) < limit:
            out.append(it)
            seen[it.category] = seen.get(it.category, 0) + 1
    return out


def _png(path: Path, shade: int, size: int = 16, fmt: str = "PNG") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), (shade % 255, 0, 0)).save(path, format=fmt)


def _sources(run_dir: Path) -> dict[str, str]:
    return {row["file"]: row["source"] for p in sorted((run_dir / "manifest").glob("*.jsonl")) for row in read_jsonl(p)}


def _generate(args: list[str], data_dir: Path, run_dir: Path, name: str = "SD3-medium"):
    images = run_dir.parent / "imgs"
    return CliRunner().invoke(main, ["generate", "--model", "folder", "--name", name, "--images", str(images),
                                     "--data-dir", str(data_dir), "--run-dir", str(run_dir), *args])


def test_geneval_folders_as_its_generation_script_writes_them(tmp_path, data_dir, caplog):
    """generation.py writes <index:05>/samples/<k:05>.png beside metadata.jsonl and grid.png."""
    root = tmp_path / "imgs"
    items = _items(data_dir, "geneval", 1)
    for it in items:
        folder = root / f"{int(it.prompt_id):05d}"
        (folder / "samples").mkdir(parents=True)
        (folder / "metadata.jsonl").write_text(json.dumps(it.metadata) + "\n")
        _png(folder / "grid.png", 1)
        for k in range(4):
            _png(folder / "samples" / f"{k:05d}.png", k)
    first = root / f"{int(items[0].prompt_id):05d}" / "samples"
    (first / "notes.txt").write_text("not an image")
    _png(first / "00001.png", 9, fmt="JPEG")  # JPEG bytes behind a .png name
    (root / "logs").mkdir()
    with caplog.at_level(logging.WARNING):
        r = _generate(["--bench", "geneval", "--limit", "1"], data_dir, tmp_path / "run")
    assert r.exit_code == 0, r.output
    src = _sources(tmp_path / "run")
    assert len(src) == 24
    assert src[f"{items[0].prompt_id}/samples/0003.png"] == str(first / "00003.png")
    assert "notes.txt" in caplog.text and "logs" in caplog.text and "grid.png" not in caplog.text
    assert "do not hold PNG bytes" in caplog.text and "00001.png" in caplog.text


def test_geneval_folder_for_another_prompt_is_refused(tmp_path, data_dir):
    root = tmp_path / "imgs"
    items = _items(data_dir, "geneval", 1)
    for it in items:
        folder = root / f"{int(it.prompt_id):05d}"
        (folder / "samples").mkdir(parents=True)
        (folder / "metadata.jsonl").write_text(json.dumps({**it.metadata, "prompt": "a photo of a unicorn"}) + "\n")
        for k in range(4):
            _png(folder / "samples" / f"{k}.png", k)
    r = _generate(["--bench", "geneval", "--limit", "1"], data_dir, tmp_path / "run")
    assert r.exit_code == 1 and "holds prompt 'a photo of a unicorn'" in r.output and "Traceback" not in r.output


def test_compbench_files_in_numeric_index_order_any_padding(tmp_path, data_dir, caplog):
    """The evaluators sort by int(index): _10 comes after _9, not after _1."""
    items = _items(data_dir, "t2i-compbench", 2, {"color"})
    samples = tmp_path / "imgs" / "color" / "samples"
    for it in items:
        for k in range(10):
            _png(samples / f"{it.prompt}_{it.metadata['row'] * 10 + k}.png", k)
    (tmp_path / "imgs" / "color_val").mkdir()  # a folder the evaluators would not read
    with caplog.at_level(logging.WARNING):
        r = _generate(["--bench", "t2i-compbench", "--category", "color", "--limit", "2"], data_dir, tmp_path / "run")
    assert r.exit_code == 0, r.output
    assert "not a category folder" in caplog.text and "color_val" in caplog.text
    src = _sources(tmp_path / "run")
    second = items[1]
    assert src[f"color/samples/{second.prompt}_000012.png"] == str(samples / f"{second.prompt}_12.png")


def test_compbench_file_out_of_place_is_refused(tmp_path, data_dir):
    items = _items(data_dir, "t2i-compbench", 2, {"color"})
    samples = tmp_path / "imgs" / "color" / "samples"
    for n, it in enumerate(reversed(items)):  # second prompt numbered first: the 3-in-1 alignment would break
        for k in range(10):
            _png(samples / f"{it.prompt}_{n * 10 + k:06d}.png", k)
    r = _generate(["--bench", "t2i-compbench", "--category", "color", "--limit", "2"], data_dir, tmp_path / "run")
    assert r.exit_code == 1 and "names prompt" in r.output and "number them row*10+k" in r.output


def test_dpg_accepts_any_image_extension(tmp_path, data_dir, caplog):
    """compute_dpg_bench.py keys files by name.split('.')[0] and opens them with PIL."""
    items = _items(data_dir, "dpg-bench", 1)
    root = tmp_path / "imgs"
    _png(root / f"{items[0].prompt_id}.jpg", 3, size=32, fmt="JPEG")
    (root / "results.txt").write_text("scores")
    with caplog.at_level(logging.WARNING):
        r = _generate(["--bench", "dpg-bench", "--limit", "1"], data_dir, tmp_path / "run")
    assert r.exit_code == 0, r.output
    assert _sources(tmp_path / "run")[f"{items[0].prompt_id}.png"] == str(root / f"{items[0].prompt_id}.jpg")
    assert "results.txt" in caplog.text


WISE_IDS = ["1", "401", "568", "701", "801", "901"]  # first prompt of each WISE category


def test_wise_exact_names_and_extra_files_warned(tmp_path, data_dir, caplog):
    for i in WISE_IDS:
        _png(tmp_path / "imgs" / f"{i}.png", int(i))
    (tmp_path / "imgs" / "0001.png.bak").write_bytes(b"x")
    with caplog.at_level(logging.WARNING):
        r = _generate(["--bench", "wise", "--limit", "1"], data_dir, tmp_path / "run")
    assert r.exit_code == 0, r.output
    assert "0001.png.bak" in caplog.text and len(_sources(tmp_path / "run")) == 6


def test_folder_run_needs_a_name_and_uses_it(tmp_path, data_dir, monkeypatch):
    for i in WISE_IDS:
        _png(tmp_path / "imgs" / f"{i}.png", int(i))
    monkeypatch.chdir(tmp_path)
    base = ["generate", "--bench", "wise", "--model", "folder", "--images", "imgs", "--limit", "1", "--data-dir", str(data_dir)]
    r = CliRunner().invoke(main, base)
    assert r.exit_code == 2 and "--model folder needs --name NAME" in r.output
    for name in ["SD3 medium", "PixArt-Σ"]:
        r = CliRunner().invoke(main, [*base, "--name", name])
        assert r.exit_code == 0, r.output
    runs = sorted(p.name for p in (tmp_path / "results" / "runs").iterdir())
    assert runs == ["wise-PixArt-Σ-seed0", "wise-SD3-medium-seed0"]
    for run in runs:  # no model calls: decisions from (absent) records, so the run has a summary to tabulate
        assert CliRunner().invoke(main, ["rescore", f"results/runs/{run}"]).exit_code == 0
    r = CliRunner().invoke(main, ["report", "--no-references", "--out", "lb"])
    assert r.exit_code == 0, r.output
    labels = [ln.split("|")[1].strip() for ln in r.output.splitlines() if ln.startswith("| ") and "Model" not in ln]
    assert sorted(labels) == ["PixArt-Σ", "SD3 medium"]


def test_corrupt_outside_image_is_not_called_regenerable(tmp_path, data_dir):
    for i in WISE_IDS:
        _png(tmp_path / "imgs" / f"{i}.png", int(i))
    (tmp_path / "imgs" / "401.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    r = _generate(["--bench", "wise", "--limit", "1"], data_dir, tmp_path / "run")
    assert r.exit_code == 1 and "401.png" in r.output
    assert "Replace it in the --images folder" in r.output and "regenerate it" not in r.output.replace("cannot regenerate it", "")
