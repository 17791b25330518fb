"""The CLI surface: ls, dry-run, convert, and clear errors instead of tracebacks."""

from __future__ import annotations

import json

from click.testing import CliRunner

from t2ir1_eval.cli import main


def test_ls_lists_suites_with_counts_models_and_scorers(data_dir):
    r = CliRunner().invoke(main, ["ls", "--data-dir", str(data_dir)])
    assert r.exit_code == 0, r.output
    for line in ["geneval        553 prompts", "t2i-compbench  2400 prompts", "wise           1000 prompts",
                 "dpg-bench      1065 prompts"]:
        assert line in r.output
    assert "t2i-r1" in r.output and "wise-judge" in r.output and "folder" in r.output


def test_dry_run_prints_both_stages_without_weights(data_dir, tmp_path):
    r = CliRunner().invoke(main, ["run", "--bench", "geneval", "--model", "t2i-r1", "--dry-run", "--data-dir", str(data_dir),
                                  "--run-dir", str(tmp_path / "r")])
    assert r.exit_code == 0, r.output
    assert "You are a helpful assistant that receives an image prompt" in r.output
    assert "a photo of a bench" in r.output
    assert not (tmp_path / "r").exists()  # a dry run writes nothing


def test_typo_in_suite_is_a_clear_error(data_dir, tmp_path):
    r = CliRunner().invoke(main, ["run", "--bench", "wies", "--model", "tiny", "--data-dir", str(data_dir), "--run-dir", str(tmp_path / "r")])
    assert r.exit_code != 0 and "Did you mean 'wise'" in r.output and "Traceback" not in r.output


def test_reused_run_dir_with_another_config_is_refused(data_dir, tmp_path):
    src = tmp_path / "imgs"
    src.mkdir()
    from PIL import Image

    for i in ["1", "401", "568", "701", "801", "901"]:
        Image.new("RGB", (8, 8)).save(src / f"{i}.png")
    base = ["generate", "--bench", "wise", "--model", "folder", "--name", "outside-model", "--images", str(src), "--limit", "1",
            "--data-dir", str(data_dir), "--run-dir", str(tmp_path / "r")]
    assert CliRunner().invoke(main, base).exit_code == 0
    r = CliRunner().invoke(main, base + ["--option", "protocol=verified"])
    assert r.exit_code != 0 and "made with another config" in r.output and "options.protocol" in r.output


def test_convert_janus_writes_transformers_format(tmp_path):
    from t2ir1_eval.tiny.janus import save_tiny_original

    save_tiny_original(str(tmp_path / "orig"), seed=1)
    r = CliRunner().invoke(main, ["convert", "janus", str(tmp_path / "orig"), str(tmp_path / "hf")])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "hf" / "config.json").read_text())["model_type"] == "janus"


def test_generate_then_score_then_rescore(data_dir, tmp_path, monkeypatch):
    """`score` finishes an existing run with its own config; `rescore` reproduces the table from records alone."""
    from PIL import Image

    from tests.chat_server import ChatServer
    from tests.e2e_helpers import image_dependent_reply

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
    src = tmp_path / "imgs"
    src.mkdir()
    for n, i in enumerate(["1", "401", "568", "701", "801", "901"]):
        Image.new("RGB", (8, 8), (40 * n, 0, 0)).save(src / f"{i}.png")
    run_dir = tmp_path / "r"
    r = CliRunner().invoke(main, ["generate", "--bench", "wise", "--model", "folder", "--name", "outside-model", "--images", str(src), "--limit", "1",
                                  "--data-dir", str(data_dir), "--run-dir", str(run_dir)])
    assert r.exit_code == 0, r.output
    with ChatServer(reply=image_dependent_reply, model="gpt-4o-2024-05-13") as judge:
        r = CliRunner().invoke(main, ["score", str(run_dir), "--scorer-option", f"wise-judge.base_url={judge.base_url}"])
        assert r.exit_code == 0, r.output
        assert judge.count() == 6
    first = json.loads((run_dir / "summary.json").read_text())
    assert first["n_images"] == 6 and first["n_failed"] == 0 and first["metric"] == "WiScore"
    r = CliRunner().invoke(main, ["rescore", str(run_dir)])
    assert r.exit_code == 0, r.output
    again = json.loads((run_dir / "summary.json").read_text())
    assert again["scores"] == first["scores"] and again["provenance"]["rescored"] is True
    # a rule option changes the summary from the stored records alone (the judge server is gone)
    r = CliRunner().invoke(main, ["rescore", str(run_dir), "--option", "failure_policy=skip"])
    assert r.exit_code == 0, r.output
    assert json.loads((run_dir / "summary.json").read_text())["provenance"]["options"]["failure_policy"] == "skip"
