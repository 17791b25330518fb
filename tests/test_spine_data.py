"""Suites as data: pinned files, checksums, prompt counts, layouts that cannot escape."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from t2ir1_eval.errors import ConfigError, DataError
from t2ir1_eval.suites.data import DataResolver, FileSpec
from t2ir1_eval.suites.spec import load_suite
from t2ir1_eval.types import PromptItem


@pytest.mark.parametrize("name,count", [("geneval", 553), ("t2i-compbench", 2400), ("wise", 1000), ("dpg-bench", 1065)])
def test_prompt_counts(data_dir, name, count):
    suite = load_suite(name)
    items = suite.load_items(DataResolver(data_dir), suite.resolve_options({}))
    assert len(items) == count == suite.expected_prompts


def test_compbench_color_val_versions(data_dir):
    suite = load_suite("t2i-compbench")
    old = [i for i in suite.load_items(DataResolver(data_dir), suite.resolve_options({})) if i.category == "color"]
    new = [i for i in suite.load_items(DataResolver(data_dir), suite.resolve_options({"color_val": "current"})) if i.category == "color"]
    changed = [o.metadata["row"] for o, n in zip(old, new) if o.prompt != n.prompt]
    assert changed == [227, 228, 271, 287, 299]  # the five lines the 2025-09-03 commit rewrote
    assert suite.resolve_options({})["color_val"] == "pre-2025-09-03"


def test_dpg_prompts_are_byte_exact(data_dir):
    suite = load_suite("dpg-bench")
    items = {i.prompt_id: i for i in suite.load_items(DataResolver(data_dir), suite.resolve_options({}))}
    assert items["countbench4"].prompt.endswith("\n") and items["diffusiondb25"].prompt.startswith(" ")
    assert list(items)[:3] == ["0", "1", "2"]


def test_checksum_mismatch_names_file_expected_and_found(tmp_path, data_dir):
    bad = tmp_path / "geneval"
    bad.mkdir()
    shutil.copy(data_dir / "geneval" / "evaluation_metadata.jsonl", bad / "evaluation_metadata.jsonl")
    with open(bad / "evaluation_metadata.jsonl", "a") as fh:
        fh.write('{"tag": "single_object", "include": [], "prompt": "tampered"}\n')
    suite = load_suite("geneval")
    with pytest.raises(DataError) as err:
        suite.load_items(DataResolver(tmp_path), {})
    msg = str(err.value)
    assert "evaluation_metadata.jsonl" in msg and suite.files["metadata"].sha256 in msg and "found" in msg


def test_offline_without_data_says_what_to_do(tmp_path):
    suite = load_suite("geneval")
    with pytest.raises(DataError, match="--data-dir"):
        suite.load_items(DataResolver(tmp_path / "nothing", cache_dir=tmp_path / "cache", offline=True), {})


def test_env_var_and_cache_resolution(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("T2IR1_EVAL_DATA", str(data_dir))
    r = DataResolver(None, cache_dir=tmp_path / "cache", offline=True)
    spec = load_suite("geneval").files["object_names"]
    assert r.resolve(spec) == data_dir / spec.path
    assert "T2IR1_EVAL_DATA" in r.origins["object_names"]
    # a cached copy is found (and verified) when nothing else has it
    monkeypatch.delenv("T2IR1_EVAL_DATA")
    (tmp_path / "cache" / "geneval").mkdir(parents=True)
    shutil.copy(data_dir / spec.path, tmp_path / "cache" / spec.path)
    assert DataResolver(None, cache_dir=tmp_path / "cache", offline=True).resolve(spec) == tmp_path / "cache" / spec.path


def test_git_blob_pin(tmp_path):
    (tmp_path / "x.csv").write_text("item_id,proposition_id\n")
    import subprocess

    blob = subprocess.run(["git", "hash-object", str(tmp_path / "x.csv")], capture_output=True, text=True).stdout.strip()
    FileSpec("q", "x.csv", git_blob=blob).verify(tmp_path / "x.csv")
    with pytest.raises(DataError, match="git blob"):
        FileSpec("q", "x.csv", git_blob="0" * 40).verify(tmp_path / "x.csv")


def test_prompt_cannot_escape_run_directory():
    suite = load_suite("t2i-compbench")
    evil = PromptItem("color/000", "../../etc/passwd", "color", {"row": 0, "category": "color"})
    with pytest.raises(DataError, match="escape"):
        suite.relpath(evil, 0)
    ok = PromptItem("color/001", "a green bench and a blue bowl", "color", {"row": 1, "category": "color"})
    assert suite.relpath(ok, 3) == "color/samples/a green bench and a blue bowl_000013.png"


def test_official_layouts():
    ge = load_suite("geneval")
    assert ge.relpath(PromptItem("00042", "a photo of a cow", "single_object"), 3) == "00042/samples/0003.png"
    assert load_suite("wise").relpath(PromptItem("17", "x", "culture"), 0) == "17.png"
    dpg = load_suite("dpg-bench")
    assert (dpg.files_per_prompt, dpg.samples_per_file) == (1, 4)
    assert dpg.relpath(PromptItem("partiprompts97", "x", "dpg"), 0) == "partiprompts97.png"


def test_unknown_names_suggest_the_nearest():
    with pytest.raises(ConfigError, match="Did you mean 'geneval'"):
        load_suite("genevl")
    from t2ir1_eval.generators import resolve_model
    from t2ir1_eval.scorers import SCORERS

    with pytest.raises(ConfigError, match="Did you mean 't2i-r1'"):
        resolve_model("t2i-r2")
    with pytest.raises(ConfigError, match="Did you mean 'worker'"):
        SCORERS.target("worke")


def test_option_validation():
    suite = load_suite("dpg-bench")
    assert suite.resolve_options({"first_row_bug": "false"}) == {"first_row_bug": False, "pic_num": 4}
    with pytest.raises(ConfigError, match="expected true or false"):
        suite.resolve_options({"first_row_bug": "maybe"})
    with pytest.raises(ConfigError, match="no option"):
        suite.resolve_options({"colour": "x"})


def test_seed_rule_depends_only_on_run_seed_suite_prompt_and_index():
    from t2ir1_eval.seeding import derive_seed

    s = derive_seed(0, "geneval", "00042", 3)
    assert s == derive_seed(0, "geneval", "00042", 3) and 0 <= s < 2**63
    others = {derive_seed(1, "geneval", "00042", 3), derive_seed(0, "wise", "00042", 3),
              derive_seed(0, "geneval", "00043", 3), derive_seed(0, "geneval", "00042", 2)}
    assert s not in others and len(others) == 4
