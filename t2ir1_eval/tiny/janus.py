"""A tiny random-weight Janus (transformers' native classes) plus an offline tokenizer.

Same code path as Janus-Pro-7B / T2I-R1, only the sizes differ: 16 image tokens (a 4x4
VQ latent) decoded to 16x16 RGB, a 2-layer Llama with hidden size 32, a byte-level BPE with
the real special-token strings. Deterministic given ``seed``; builds in well under a second.
"""

from __future__ import annotations

from typing import Any

import torch

#: the real DeepSeek/Janus special-token strings, so templates and masking are exercised as-is
BOS = "<｜begin▁of▁sentence｜>"
EOS = "<｜end▁of▁sentence｜>"
PAD = "<｜▁pad▁｜>"
IMAGE_TOKEN = "<image_placeholder>"
BOI = "<begin_of_image>"
EOI = "<end_of_image>"
ROLE_TOKENS = ["<|User|>", "<|Assistant|>"]
SPECIAL_TOKENS = [BOS, EOS, PAD, IMAGE_TOKEN, BOI, EOI, *ROLE_TOKENS]

#: sizes of the default tiny model (keep in sync with the docstring above)
TINY_SIZES: dict[str, Any] = {
    "hidden": 32,
    "layers": 2,
    "heads": 4,
    "kv_heads": 2,
    "vision_image_size": 16,
    "vision_patch_size": 4,  # -> 4x4 = 16 image tokens
    "vq_codebook": 64,
    "vq_channel_multiplier": [1, 1, 1],  # decoded side = 4 * 2**2 = 16 px
}


def build_tiny_tokenizer() -> Any:
    """A ``PreTrainedTokenizerFast`` with Janus' special tokens; BOS is prepended by the
    post-processor like DeepSeek's LlamaTokenizerFast does."""
    from transformers import PreTrainedTokenizerFast

    from .tokenizers import CORPUS, byte_level_bpe

    corpus = list(CORPUS) + [
        'You are asked to generate an image based on this prompt: "a cat"',
        "Include every object mentioned in the prompt. Specify visual attributes (color, number, shape, texture)",
    ]
    raw = byte_level_bpe(SPECIAL_TOKENS, bos=BOS, vocab_size=400, corpus=corpus)
    return PreTrainedTokenizerFast(
        tokenizer_object=raw,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        padding_side="left",
        extra_special_tokens={"image_token": IMAGE_TOKEN, "boi_token": BOI, "eoi_token": EOI},
        model_max_length=16384,
    )


def tiny_janus_config(tokenizer: Any, sizes: dict[str, Any] | None = None) -> Any:
    """The ``JanusConfig`` of the tiny model (all widths tied to the text hidden size, as in
    the real model where aligners and heads project to the LLM width)."""
    from transformers import JanusConfig, JanusVisionConfig, JanusVQVAEConfig, LlamaConfig

    s = dict(TINY_SIZES, **(sizes or {}))
    h = s["hidden"]
    n_patches = s["vision_image_size"] // s["vision_patch_size"]
    text = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=h,
        intermediate_size=2 * h,
        num_hidden_layers=s["layers"],
        num_attention_heads=s["heads"],
        num_key_value_heads=s["kv_heads"],
        max_position_embeddings=2048,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
    )
    vision = JanusVisionConfig(
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=4,
        image_size=s["vision_image_size"],
        patch_size=s["vision_patch_size"],
        mlp_ratio=2,
        projection_dim=h,
        depth=2,
        num_image_tokens=n_patches**2,
    )
    vq = JanusVQVAEConfig(
        embed_dim=8,
        num_embeddings=s["vq_codebook"],
        latent_channels=32,
        base_channels=32,  # GroupNorm(32) needs multiples of 32
        channel_multiplier=list(s["vq_channel_multiplier"]),
        num_res_blocks=1,
        projection_dim=h,
        image_token_embed_dim=h,
        num_hidden_layers=2,
    )
    return JanusConfig(
        text_config=text,
        vision_config=vision,
        vq_config=vq,
        image_token_id=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
        tie_word_embeddings=False,  # original Janus keeps a separate lm_head
    )


def set_generation_config(model: Any, tokenizer: Any) -> None:
    """What the official converter writes into generation_config.json (and 5.x forgets on
    reload): needed by transformers' own image-mode ``generate``."""
    gc = model.generation_config
    gc._from_model_config = False
    gc.pad_token_id = tokenizer.pad_token_id
    gc.bos_token_id = tokenizer.bos_token_id
    gc.eos_token_id = tokenizer.eos_token_id
    gc.guidance_scale = 5
    gc.temperature = 1.0
    gc.generation_kwargs = {"boi_token_id": tokenizer.convert_tokens_to_ids(BOI)}


def build_tiny_janus(seed: int = 0, sizes: dict[str, Any] | None = None) -> tuple[Any, Any]:
    """(model, tokenizer): a random-weight ``JanusForConditionalGeneration`` in eval mode,
    float32 on CPU. The same ``seed`` gives bit-identical weights; the global RNG is left
    untouched."""
    from transformers import JanusForConditionalGeneration

    tokenizer = build_tiny_tokenizer()
    config = tiny_janus_config(tokenizer, sizes)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = JanusForConditionalGeneration(config)
        # a random 0.02-std model gives nearly uniform distributions; sharper heads make the
        # tests sensitive to which token is sampled (and to wrong masks or positions)
        with torch.no_grad():
            model.model.generation_head.vision_head.weight.mul_(50.0)
            model.lm_head.weight.mul_(50.0)
    model.eval()
    set_generation_config(model, tokenizer)
    return model, tokenizer


def save_tiny_original(folder: str, seed: int = 0, weights: str = "safetensors") -> tuple[Any, Any]:
    """Write the tiny model in DeepSeek's original ``multi_modality`` layout (the layout of
    ``CaraJ/T2I-R1`` with ``weights="safetensors"`` and of ``deepseek-ai/Janus-Pro-7B`` with
    ``weights="bin"``: two ``pytorch_model-0000k-of-00002.bin`` shards plus an index).
    Returns the (model, tokenizer) it was made from, for comparisons."""
    import json
    from pathlib import Path

    from ..models.janus_layout import to_original_layout

    model, tokenizer = build_tiny_janus(seed=seed)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    cfg = model.config
    vq = cfg.vq_config
    h = cfg.text_config.hidden_size
    original_config = {
        "architectures": ["MultiModalityCausalLM"],
        "model_type": "multi_modality",
        "torch_dtype": "float32",
        "aligner_config": {"cls": "MlpProjector", "model_type": "aligner",
                           "params": {"depth": 2, "input_dim": cfg.vision_config.hidden_size, "n_embed": h, "projector_type": "mlp_gelu"}},
        "gen_aligner_config": {"cls": "MlpProjector", "model_type": "gen_aligner",
                               "params": {"depth": 2, "input_dim": vq.embed_dim, "n_embed": h, "projector_type": "mlp_gelu"}},
        "gen_head_config": {"cls": "vision_head", "model_type": "gen_head",
                            "params": {"image_token_embed": h, "image_token_size": vq.num_embeddings, "n_embed": h}},
        "gen_vision_config": {"cls": "VQ-16", "model_type": "gen_vision",
                              "params": {"image_token_size": vq.num_embeddings, "n_embed": vq.embed_dim}},
        "language_config": {
            "hidden_size": h,
            "intermediate_size": cfg.text_config.intermediate_size,
            "max_position_embeddings": cfg.text_config.max_position_embeddings,
            "model_type": "llama",
            "num_attention_heads": cfg.text_config.num_attention_heads,
            "num_hidden_layers": cfg.text_config.num_hidden_layers,
            "num_key_value_heads": cfg.text_config.num_key_value_heads,
            "vocab_size": cfg.text_config.vocab_size,
        },
        "vision_config": {"cls": "CLIPVisionTower", "model_type": "vision",
                          "params": {"image_size": cfg.vision_config.image_size, "model_name": "tiny_siglip",
                                     "heads": cfg.vision_config.num_attention_heads,
                                     "select_feature": "same", "select_layer": -1}},
    }
    (out / "config.json").write_text(json.dumps(original_config, indent=2))
    (out / "preprocessor_config.json").write_text(json.dumps(
        {"image_size": cfg.vision_config.image_size, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
         "min_size": 14, "rescale_factor": 1 / 255, "do_normalize": True, "processor_class": "VLChatProcessor"}))
    tokenizer.save_pretrained(str(out))
    state = {k: v.contiguous() for k, v in to_original_layout(model).items()}
    if weights == "safetensors":
        from safetensors.torch import save_file

        save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    elif weights == "bin":
        keys = sorted(state)
        half = len(keys) // 2
        weight_map = {}
        for i, part in enumerate((keys[:half], keys[half:]), start=1):
            name = f"pytorch_model-{i:05d}-of-00002.bin"
            torch.save({k: state[k] for k in part}, out / name)
            weight_map.update({k: name for k in part})
        (out / "pytorch_model.bin.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    else:
        raise ValueError(f"weights must be 'safetensors' or 'bin', got {weights!r}")
    return model, tokenizer
