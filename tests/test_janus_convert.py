"""Original DeepSeek-layout checkpoints (safetensors as CaraJ/T2I-R1, .bin shards as
deepseek-ai/Janus-Pro-7B) loaded through the key mapping, compared on outputs against
DeepSeek-semantics forwards computed directly on the original tensors."""

import json

import numpy as np
import pytest
import torch

from janus_reference import OriginalJanus, deepseek_loop
from t2ir1_eval.errors import ConfigError
from t2ir1_eval.generators.janus import JanusGenerator
from t2ir1_eval.generators.janus_convert import (
    convert_checkpoint,
    load_original_checkpoint,
    load_original_state_dict,
    map_key,
)
from t2ir1_eval.tiny.janus import save_tiny_original
from t2ir1_eval.types import GenRequest, PromptItem


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    folder = tmp_path_factory.mktemp("t2i-r1-original")
    save_tiny_original(str(folder), seed=3, weights="safetensors")
    sd = load_original_state_dict(folder)
    model, tok = load_original_checkpoint(folder)
    ref = OriginalJanus(sd, vision_heads=4, vq_levels=3, vq_res_blocks=1)
    return folder, sd, model, tok, ref


def test_fixture_is_in_original_layout(original):
    folder, sd, *_ = original
    assert json.loads((folder / "config.json").read_text())["model_type"] == "multi_modality"
    for key in ("gen_vision_model.decoder.conv_blocks.0.res.0.conv1.weight", "gen_vision_model.decoder.mid.1.q.weight",
                "vision_model.vision_tower.blocks.0.attn.qkv.weight", "gen_aligner.layers.2.weight",
                "gen_head.output_mlp_projector.weight", "language_model.lm_head.weight", "gen_embed.weight"):
        assert key in sd, key
    assert sd["vision_model.vision_tower.pos_embed"].dim() == 3


def test_generation_path_outputs_match(original):
    _, _, model, _, ref = original
    ids = torch.arange(10) % 64
    with torch.no_grad():
        assert torch.allclose(model.prepare_embeddings_for_image_generation(ids), ref.prepare_gen_img_embeds(ids), atol=1e-6)
        h = torch.randn(5, 32)
        assert torch.allclose(model.model.generation_head(h), ref.gen_head(h), atol=1e-5)


def test_vq_decoder_outputs_match(original):
    _, _, model, _, ref = original
    codes = torch.randint(0, 64, (2, 16), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours = model.decode_image_tokens(codes).permute(0, 3, 1, 2)
    assert torch.allclose(ours, ref.decode_code(codes, side=4), atol=1e-5)


def test_vision_tower_outputs_match(original):
    _, _, model, _, ref = original
    pix = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours = model.model.get_image_features(pixel_values=pix).pooler_output
    assert torch.allclose(ours, ref.image_features(pix), atol=1e-5)


def test_text_logits_match_untied_lm_head(original):
    """The CoT stage needs the original's own lm_head (untied)."""
    from transformers import LlamaForCausalLM

    _, sd, model, tok, _ = original
    llama = LlamaForCausalLM(model.config.text_config).eval()
    llama.load_state_dict({k[len("language_model."):]: v for k, v in sd.items() if k.startswith("language_model.")})
    ids = torch.tensor([[tok.bos_token_id] + tok("User: a cat", add_special_tokens=False).input_ids])
    with torch.no_grad():
        assert torch.allclose(model(input_ids=ids).logits, llama(input_ids=ids).logits, atol=1e-5)
    assert not model.config.tie_word_embeddings
    assert not torch.equal(model.lm_head.weight, model.model.language_model.embed_tokens.weight)


def test_greedy_image_tokens_match_deepseek_loop_on_original_weights(original):
    from transformers import LlamaModel

    from t2ir1_eval.generators.janus_sampling import generate_image_tokens

    _, sd, model, tok, ref = original
    lm = LlamaModel(model.config.text_config).eval()
    lm.load_state_dict({k[len("language_model.model."):]: v for k, v in sd.items() if k.startswith("language_model.model.")})
    prompt = [tok.bos_token_id] + tok("<|User|>: a cat\n\n<|Assistant|>:", add_special_tokens=False).input_ids
    prompt += [tok.convert_tokens_to_ids("<begin_of_image>")]
    expected = deepseek_loop(lm, lm.embed_tokens, ref.gen_head, ref.prepare_gen_img_embeds, prompt,
                             pad_id=tok.pad_token_id, image_token_num=16, greedy=True)
    ours = generate_image_tokens(model, [prompt], torch.zeros(1, 16, dtype=torch.float64), pad_id=tok.pad_token_id,
                                 cfg_weight=5, temperature=0, num_image_tokens=16)
    assert torch.equal(ours, expected)


def test_bin_shards_safetensors_and_converted_copy_give_the_same_images(original, tmp_path):
    folder, *_ = original
    bins = tmp_path / "janus-pro-bin"
    save_tiny_original(str(bins), seed=3, weights="bin")
    assert (bins / "pytorch_model.bin.index.json").exists()
    converted = convert_checkpoint(folder, tmp_path / "converted", dtype="float32")
    assert json.loads((converted / "config.json").read_text())["model_type"] == "janus"
    requests = [GenRequest(PromptItem("1", "a red apple", "c"), 0, 9), GenRequest(PromptItem("2", "a dog", "c"), 0, 10)]
    images = {}
    for name, path in (("safetensors", folder), ("bin", bins), ("converted", converted)):
        gen = JanusGenerator(model_id=str(path), recipe="janus-pro", device="cpu", batch_size=2)
        images[name] = [np.asarray(r.image) for r in gen.generate(requests)]
        assert gen.describe()["checkpoint_format"] == ("hf" if name == "converted" else "deepseek")
    for name in ("bin", "converted"):
        assert all(np.array_equal(a, b) for a, b in zip(images["safetensors"], images[name])), name


def test_key_mapping_names():
    assert map_key("gen_vision_model.decoder.conv_blocks.2.res.1.norm1.weight") == "model.vqmodel.decoder.up.2.block.1.norm1.weight"
    assert map_key("gen_vision_model.encoder.mid.2.conv1.bias") == "model.vqmodel.encoder.mid.block_2.conv1.bias"
    assert map_key("aligner.layers.2.weight") == "model.aligner.hidden_layers.0.weight"
    assert map_key("gen_aligner.layers.0.bias") == "model.generation_aligner.fc1.bias"
    assert map_key("language_model.lm_head.weight") == "lm_head.weight"
    assert map_key("vision_model.vision_tower.attn_pool.latent") is None
    assert map_key("gen_vision_model.quantize.codebook_used") is None


def test_missing_tensor_is_named(original, tmp_path):
    from safetensors.torch import save_file

    folder, sd, *_ = original
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in folder.iterdir():
        if f.suffix != ".safetensors":
            (broken / f.name).write_bytes(f.read_bytes())
    save_file({k: v for k, v in sd.items() if k != "gen_head.vision_head.bias"}, str(broken / "model.safetensors"))
    with pytest.raises(ConfigError, match="model.generation_head.vision_head.bias"):
        load_original_checkpoint(broken)
