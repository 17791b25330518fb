"""Salesforce's original BLIP VQA checkpoint layout -> transformers BLIP (issue 15).

A tiny random BlipForQuestionAnswering with a 480-px (901-entry) position table and BLIP's
ViT eps 1e-6 is written in the release file's layout ({'model': state_dict}, timm/med names,
med_config.json beside it); the converter must rebuild exactly that model.
"""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from blip_original import save_original, to_original_layout
from standins.compbench_helpers import context, write_images
from t2ir1_eval.cli import main
from t2ir1_eval.errors import ConfigError
from t2ir1_eval.scorers.compbench import blip_convert as bc
from t2ir1_eval.scorers.compbench.blip_vqa import BlipVqaScorer
from t2ir1_eval.tiny.blip import tiny_blip_vqa

PROMPTS = ["a green bench and a blue bowl", "a red car on the left of a big brown dog"]


class NotATensor:  # pickled by reference: weights_only=True must refuse it
    pass


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("blip-orig")
    model, processor = tiny_blip_vqa(image_size=480, patch_size=16, seed=5, vision_layer_norm_eps=1e-6)
    path = save_original(model, processor.tokenizer, tmp / "release")
    hf = tmp / "hf-same-weights"
    model.save_pretrained(hf)
    processor.tokenizer.save_pretrained(hf)
    return tmp, model, processor.tokenizer, path, hf


def test_fixture_is_in_the_release_layout(source):
    _, _, _, path, _ = source
    ckpt = torch.load(path, weights_only=True)
    sd = ckpt["model"]
    assert sd["visual_encoder.pos_embed"].shape == (1, 901, 32)  # 30x30 + 1: a 480-px table
    assert sd["visual_encoder.blocks.1.attn.qkv.weight"].shape == (96, 32)
    assert "text_decoder.bert.embeddings.position_ids" in sd and "text_decoder.cls.predictions.bias" in sd
    assert not any(k.startswith("vision_model.") for k in sd)


def test_conversion_rebuilds_the_model(source):
    _, model, _, path, _ = source
    converted, tok, info = bc.load_original(path, vit_heads=4)
    vc, tc = converted.config.vision_config, converted.config.text_config
    assert (vc.image_size, vc.patch_size, vc.hidden_size, vc.num_hidden_layers) == (480, 16, 32, 2)
    assert vc.layer_norm_eps == 1e-6 and vc.num_attention_heads == 4 and info["vit_heads_from"] == "override"
    assert tc.num_attention_heads == 4 and tc.vocab_size == len(tok) and tc.max_position_embeddings == 64
    assert tc.bos_token_id == tok.convert_tokens_to_ids("[DEC]")
    want = model.state_dict()
    got = converted.state_dict()
    assert set(got) == set(want)
    for k in want:
        assert torch.equal(got[k], want[k]), k
    assert info["source_sha256"] and info["release_url"] == bc.RELEASE_URL and info["release_sha256_pinned"] is None


def test_scorer_on_the_original_file_equals_the_source_model(source, data_dir, tmp_path):
    _, _, _, path, hf = source
    samples = write_images(tmp_path, "color", PROMPTS, per_prompt=2, size=(40, 48))
    ctx = context(data_dir, tmp_path)
    orig = BlipVqaScorer(ctx, model_id=str(path), vit_heads=4)
    ref = BlipVqaScorer(ctx, model_id=str(hf))
    a, b = orig.score(samples), ref.score(samples)
    assert [r["p"] for r in a] == [r["p"] for r in b]  # same weights, same config: bit-identical
    d_orig, d_ref = orig.describe(), ref.describe()
    assert d_orig["comparable"] is True and d_orig["position_embeddings"] == "native 480 px"
    assert d_orig["vision_layer_norm_eps"] == 1e-6 and d_orig["source_sha256"]
    assert d_ref["comparable"] is False and "not Salesforce's 480-px checkpoint" in d_ref["not_comparable_because"]
    # the second load reads the converted copy cached under the sha256 of the source
    again = BlipVqaScorer(ctx, model_id=str(path), vit_heads=4)
    assert [r["p"] for r in again.score(samples)] == [r["p"] for r in a]
    assert again.describe()["format"] == "original BLIP (converted on load, cached)"


def test_release_checkpoint_is_found_through_the_environment(source, data_dir, tmp_path, monkeypatch):
    _, _, _, path, _ = source
    monkeypatch.setenv("T2IR1_EVAL_BLIP_VQA", str(path.parent))
    s = BlipVqaScorer(context(data_dir, tmp_path), vit_heads=4)  # model_id defaults to "original"
    assert s.model_id == "original"
    d = s.describe()
    assert d["weights"] == str(path) and d["comparable"] is True
    monkeypatch.setenv("T2IR1_EVAL_BLIP_VQA", str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match="expected model_base_vqa_capfilt_large.pth"):
        BlipVqaScorer(context(data_dir, tmp_path)).describe()


def test_offline_without_the_file_says_where_to_get_it(data_dir, tmp_path, monkeypatch):
    from t2ir1_eval.errors import BackendUnavailable

    monkeypatch.delenv("T2IR1_EVAL_BLIP_VQA", raising=False)
    monkeypatch.setenv("T2IR1_EVAL_OFFLINE", "1")
    with pytest.raises(BackendUnavailable, match=r"forbids downloading https://storage.googleapis.com/.*capfilt_large"):
        BlipVqaScorer(context(data_dir, tmp_path)).describe()


def test_vit_head_count_convention_and_override(source, tmp_path):
    _, model, tok, path, _ = source
    with pytest.raises(ConfigError, match=r"32 wide, neither BLIP's ViT-B \(768\) nor ViT-L \(1024\).*vit_heads=N"):
        bc.load_original(path)
    with pytest.raises(ConfigError, match="vit_heads=3 does not divide the ViT width 32"):
        bc.load_original(path, vit_heads=3)
    shapes = {k: tuple(v.shape) for k, v in to_original_layout(model).items()}
    ids = {"dec": 5, "enc": 6, "pad": 0, "sep": 3}
    wide = {**shapes, "visual_encoder.patch_embed.proj.weight": (768, 3, 16, 16)}
    # the convention only supplies the head count; the width mismatch with the text is then refused
    with pytest.raises(ConfigError, match="transformers' BLIP needs both equal"):
        bc.blip_config_from_original(wide, bc.MED_CONFIG_DEFAULTS, ids)
    assert bc.VIT_HEADS_BY_WIDTH == {768: 12, 1024: 16}


def test_med_config_sizes_must_match_the_tensors(source, tmp_path):
    _, model, tok, _, _ = source
    path = save_original(model, tok, tmp_path / "bad-med")
    med = json.loads((tmp_path / "bad-med" / "med_config.json").read_text())
    (tmp_path / "bad-med" / "med_config.json").write_text(json.dumps({**med, "hidden_size": 768}))
    with pytest.raises(ConfigError, match="med_config.json says hidden_size=768, but the checkpoint's tensors show 32"):
        bc.load_original(path, vit_heads=4)
    # without med_config.json, BLIP's own text head count (12) applies and cannot divide width 32
    (tmp_path / "bad-med" / "med_config.json").unlink()
    with pytest.raises(ConfigError, match="num_attention_heads=12 does not divide the text width 32"):
        bc.load_original(path, vit_heads=4)


def test_unknown_keys_and_pickled_objects_are_refused(source, tmp_path):
    _, model, tok, _, _ = source
    path = save_original(model, tok, tmp_path / "adapter")
    sd = torch.load(path, weights_only=True)["model"]
    sd["visual_encoder.blocks.0.adapter_after_attn.fc.weight"] = torch.zeros(2, 2)
    torch.save({"model": sd}, path)
    with pytest.raises(ConfigError, match=r"1 keys with no transformers target.*adapter_after_attn"):
        bc.load_original(path, vit_heads=4)
    pickled = save_original(model, tok, tmp_path / "pickled", extra={"obj": NotATensor()})
    with pytest.raises(ConfigError, match=r"weights_only=True.*not loaded \(it could run code\)"):
        bc.load_original(pickled, vit_heads=4)
    plain = save_original(model, tok, tmp_path / "plain", extra={"config": {"image_size": 480, "vit": "base"}, "epoch": 9})
    assert bc.load_original(plain, vit_heads=4)[0].config.vision_config.image_size == 480  # plain extras are fine


def test_blip_tokenizer_adds_dec_and_enc_like_init_tokenizer(tmp_path):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import BertTokenizerFast

    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "yes", "no", "a", "cat", "?"])}
    backend = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    BertTokenizerFast(tokenizer_object=backend, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]",
                      sep_token="[SEP]", mask_token="[MASK]").save_pretrained(str(tmp_path / "bert"))
    tok, ids = bc.blip_tokenizer(tmp_path / "bert", vocab_size=12)
    # as bert-base-uncased: [DEC] = 30522, [ENC] = 30523 -> here 10, 11
    assert ids == {"dec": 10, "enc": 11, "pad": 0, "sep": 3} and tok.bos_token == "[DEC]"
    assert tok("a cat?")["input_ids"][0] == vocab["[CLS]"]  # the scorer overwrites it with [ENC]
    # transformers 5 dropped the attribute BLIP's init_tokenizer reads [ENC] from
    assert not hasattr(tok, "additional_special_tokens_ids")
    with pytest.raises(ConfigError, match="embeddings have 30524 rows"):
        bc.blip_tokenizer(tmp_path / "bert", vocab_size=30524)


def test_cli_convert_blip_vqa(source, tmp_path, data_dir):
    _, model, _, path, _ = source
    dst = tmp_path / "converted"
    r = CliRunner().invoke(main, ["convert", "blip-vqa", str(path), str(dst), "-o", "vit_heads=4"])
    assert r.exit_code == 0, r.output
    info = json.loads((dst / "conversion.json").read_text())
    assert info["vit_heads"] == 4 and info["position_table"] == 480 and len(info["source_sha256"]) == 64
    s = BlipVqaScorer(context(data_dir, tmp_path), model_id=str(dst))
    d = s.describe()
    assert d["comparable"] is True and d["format"] == "original BLIP (converted folder)"
    got = s._model.state_dict()
    assert all(torch.equal(got[k], v) for k, v in model.state_dict().items())
    r = CliRunner().invoke(main, ["convert", "blip-vqa", str(path), str(tmp_path / "x"), "-o", "heads=4"])
    assert r.exit_code == 2 and "KEY one of ['tokenizer', 'med_config', 'vit_heads']" in r.output
    r = CliRunner().invoke(main, ["convert", "blip-vqa", str(path), str(tmp_path / "y")])
    assert r.exit_code != 0 and "pass vit_heads=N" in r.output and "Traceback" not in r.output
