"""DeepSeek Janus (``multi_modality``) <-> transformers ``JanusForConditionalGeneration``: the key
tables both ways and the config translation. Pure data and tensor operations, no file or hub
access: the checkpoint loader (``generators.janus_convert``) and the tiny original-format
fixture builder (``tiny.janus``) both use it, and it imports neither.

The renames are the same as transformers' ``convert_janus_weights_to_hf.py`` (not shipped in the
wheel); the fused SigLIP ``qkv`` is split and the 3-d ``pos_embed`` squeezed. The config is
rebuilt from the original ``config.json`` plus the tensor shapes (the original config only names
its VQ and SigLIP: ``VQ-16``, ``siglip_large_patch16_384``), with ``tie_word_embeddings=False``
on purpose (original Janus has its own ``lm_head``; tying it silently changes the text logits).
"""

from __future__ import annotations

import re
from typing import Any, Callable

import torch

from ..errors import ConfigError
from .state_dict import count_children, require_shape

BOS = "<｜begin▁of▁sentence｜>"
PAD = "<｜▁pad▁｜>"
BOI = "<begin_of_image>"
IMAGE_TOKEN = "<image_placeholder>"

#: SigLIP towers DeepSeek's ``create_siglip_vit`` knows by name (timm-style configs)
SIGLIP_PRESETS: dict[str, dict[str, Any]] = {
    "siglip_large_patch16_384": {"heads": 16},
    "siglip_so400m_patch14_384": {"heads": 16},
}

_DROP = [
    re.compile(r"^vision_model\.vision_tower\.attn_pool\."),  # SigLIP pooling head, unused by Janus
    re.compile(r"\.quantize\.codebook_used$"),  # training statistics buffer
    re.compile(r"rotary_emb\.inv_freq$"),  # recomputed from the config
]

# (pattern, replacement) applied in order to every key; the vision qkv split and the
# pos_embed squeeze are tensor operations handled in ``map_tensor``.
_RENAMES: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (re.compile(r"^language_model\.model\."), "model.language_model."),
    (re.compile(r"^language_model\.lm_head\."), "lm_head."),
    # VQ tokenizer / detokenizer
    (re.compile(r"^gen_vision_model\."), "model.vqmodel."),
    (re.compile(r"^(model\.vqmodel\.encoder)\.conv_blocks\."), r"\1.down."),
    (re.compile(r"^(model\.vqmodel\.decoder)\.conv_blocks\."), r"\1.up."),
    (re.compile(r"^(model\.vqmodel\..*\.(?:down|up)\.\d+)\.res\."), r"\1.block."),
    (re.compile(r"^(model\.vqmodel\.(?:encoder|decoder)\.mid)\.0\."), r"\1.block_1."),
    (re.compile(r"^(model\.vqmodel\.(?:encoder|decoder)\.mid)\.1\."), r"\1.attn_1."),
    (re.compile(r"^(model\.vqmodel\.(?:encoder|decoder)\.mid)\.2\."), r"\1.block_2."),
    # MlpProjector(Sequential(Linear, GELU, Linear, GELU, ...)): Linear at even indices
    (
        re.compile(r"^(gen_aligner|aligner)\.layers\.(\d+)\."),
        lambda m: (
            ("model.generation_aligner." if m.group(1) == "gen_aligner" else "model.aligner.")
            + ("fc1." if int(m.group(2)) == 0 else f"hidden_layers.{int(m.group(2)) // 2 - 1}.")
        ),
    ),
    (re.compile(r"^gen_head\.output_mlp_projector\."), "model.generation_head.proj_out."),
    (re.compile(r"^gen_head\.vision_head\."), "model.generation_head.vision_head."),
    (re.compile(r"^gen_embed\."), "model.generation_embeddings."),
    # SigLIP (timm VisionTransformer) understanding tower
    (re.compile(r"^vision_model\.vision_tower\.patch_embed\.proj\."), "model.vision_model.embeddings.patch_embedding."),
    (re.compile(r"^vision_model\.vision_tower\.pos_embed$"), "model.vision_model.embeddings.position_embedding.weight"),
    (re.compile(r"^vision_model\.vision_tower\.norm\."), "model.vision_model.post_layernorm."),
    (re.compile(r"^vision_model\.vision_tower\.blocks\.(\d+)\.norm([12])\."), r"model.vision_model.encoder.layers.\1.layer_norm\2."),
    (re.compile(r"^vision_model\.vision_tower\.blocks\.(\d+)\.attn\.proj\."), r"model.vision_model.encoder.layers.\1.self_attn.projection_layer."),
    (re.compile(r"^vision_model\.vision_tower\.blocks\.(\d+)\.attn\.(q_norm|k_norm|qkv)\."), r"model.vision_model.encoder.layers.\1.self_attn.\2."),
    (re.compile(r"^vision_model\.vision_tower\.blocks\.(\d+)\.mlp\."), r"model.vision_model.encoder.layers.\1.mlp."),
]


def map_key(key: str) -> str | None:
    """The transformers name of one original key, or None for keys Janus does not use."""
    if any(p.search(key) for p in _DROP):
        return None
    new = key
    for pattern, repl in _RENAMES:
        new = pattern.sub(repl, new)
    return new


def map_tensor(key: str, tensor: torch.Tensor) -> dict[str, torch.Tensor]:
    """Map one original (key, tensor) to zero or more transformers (key, tensor) pairs."""
    new = map_key(key)
    if new is None:
        return {}
    if ".self_attn.qkv." in new:  # timm's fused [q; k; v] rows
        q, k, v = torch.chunk(tensor, 3, dim=0)
        return {new.replace(".qkv.", f".{n}_proj."): t for n, t in zip("qkv", (q, k, v))}
    if new.endswith("embeddings.position_embedding.weight") and tensor.dim() == 3:
        return {new: tensor.squeeze(0)}  # timm keeps a leading batch dim
    return {new: tensor}


def map_state_dict(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for k, v in state_dict.items():
        out.update(map_tensor(k, v))
    return out


def is_deepseek_config(config: dict[str, Any]) -> bool:
    return config.get("model_type") == "multi_modality" or "language_config" in config



def _count(prefix: str, keys: list[str]) -> int:
    return count_children(prefix, keys)


def _shape(shapes: dict[str, tuple[int, ...]], key: str, source: str) -> tuple[int, ...]:
    return require_shape(shapes, key, source, "Janus")


#: keys of DeepSeek's ``vision_config.params``: CLIPVisionTower's own, plus the SigLIP_MODEL_CONFIG
#: fields (siglip_vit.py) an unlisted tower must spell out
_TOWER_PARAMS = {"model_name", "image_size", "select_feature", "select_layer", "select_layers", "ckpt_path",
                 "pixel_mean", "pixel_std"}
_SIGLIP_FIELDS = {"width", "layers", "heads", "patch_size", "mlp_ratio", "global_pool", "use_checkpoint"}


def _siglip_heads(vparams: dict[str, Any], width: int, layers: int, patch: int, mlp_ratio: float,
                  source: str) -> int:
    """The SigLIP head count: a preset's for a known tower name, else DeepSeek's ``heads`` key.

    Shapes cannot show the head count, so a guess would load silently wrong attention; any
    size the params state must also agree with the tensors.
    """
    unknown = sorted(set(vparams) - _TOWER_PARAMS - _SIGLIP_FIELDS)
    if unknown:
        raise ConfigError(
            f"{source}: vision_config.params has keys DeepSeek's SigLIP tower does not read: {unknown}; expected "
            f"only {sorted(_TOWER_PARAMS | _SIGLIP_FIELDS)} (e.g. 'heads', not 'num_heads'). Rename or remove them."
        )
    stated = {"width": width, "layers": layers, "patch_size": patch, "mlp_ratio": mlp_ratio}
    for key, found in stated.items():
        if key in vparams and float(vparams[key]) != float(found):
            raise ConfigError(f"{source}: vision_config.params.{key} is {vparams[key]}, but the checkpoint's "
                              f"tensors show {found}; fix the config or the checkpoint")
    preset = SIGLIP_PRESETS.get(str(vparams.get("model_name")))
    heads = vparams.get("heads", preset["heads"] if preset else None)
    if heads is None:
        raise ConfigError(
            f"{source}: vision tower {vparams.get('model_name')!r} is not one of {sorted(SIGLIP_PRESETS)} and "
            f"vision_config.params has no 'heads': the head count cannot be read from the tensors. Add "
            f"\"heads\": N (with width/layers/patch_size/mlp_ratio as in DeepSeek's SigLIP_MODEL_CONFIG)."
        )
    if int(heads) <= 0 or width % int(heads):
        raise ConfigError(f"{source}: vision_config.params.heads = {heads} does not divide the width {width}")
    return int(heads)


def janus_config_from_original(
    config: dict[str, Any], shapes: dict[str, tuple[int, ...]], tokenizer: Any, source: str = "config.json"
) -> Any:
    """A ``JanusConfig`` from an original ``config.json`` and the checkpoint's tensor shapes."""
    from transformers import JanusConfig, JanusVisionConfig, JanusVQVAEConfig, LlamaConfig

    keys = list(shapes)
    lang = dict(config["language_config"])
    text_kwargs = {
        k: lang[k]
        for k in (
            "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
            "num_key_value_heads", "hidden_act", "max_position_embeddings", "rms_norm_eps", "rope_theta",
        )
        if k in lang
    }
    emb = _shape(shapes, "language_model.model.embed_tokens.weight", source)
    if emb != (text_kwargs.get("vocab_size", emb[0]), text_kwargs.get("hidden_size", emb[1])):
        raise ConfigError(
            f"{source}: language_config says vocab {text_kwargs.get('vocab_size')} x hidden "
            f"{text_kwargs.get('hidden_size')}, but embed_tokens has shape {emb}"
        )
    text_kwargs.update(vocab_size=emb[0], hidden_size=emb[1])
    text = LlamaConfig(
        **text_kwargs,
        pad_token_id=tokenizer.convert_tokens_to_ids(PAD),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
    )

    # SigLIP tower: widths from the tensors, head count from the preset (shapes cannot say)
    vparams = dict(config.get("vision_config", {}).get("params", {}))
    vt = "vision_model.vision_tower."
    patch_w = _shape(shapes, vt + "patch_embed.proj.weight", source)
    width, patch = patch_w[0], patch_w[-1]
    n_pos = _shape(shapes, vt + "pos_embed", source)[-2]
    image_size = int(vparams.get("image_size", 384))
    if (image_size // patch) ** 2 != n_pos:
        raise ConfigError(
            f"{source}: vision image_size {image_size} / patch {patch} gives {(image_size // patch) ** 2} "
            f"positions, but pos_embed has {n_pos}"
        )
    heads = _siglip_heads(vparams, width=width, layers=_count(vt + "blocks.", keys), patch=patch,
                          mlp_ratio=_shape(shapes, vt + "blocks.0.mlp.fc1.weight", source)[0] / width, source=source)
    aligner = dict(config.get("aligner_config", {}).get("params", {}))
    mlp = _shape(shapes, vt + "blocks.0.mlp.fc1.weight", source)[0]
    vision = JanusVisionConfig(
        hidden_size=width,
        num_hidden_layers=_count(vt + "blocks.", keys),
        num_attention_heads=heads,
        image_size=image_size,
        patch_size=patch,
        mlp_ratio=mlp / width,
        projection_dim=int(aligner.get("n_embed", emb[1])),
        depth=int(aligner.get("depth", 2)),
        num_image_tokens=n_pos,
        use_qk_norm=any(".attn.q_norm." in k for k in keys),
    )

    # VQ-16: every width from the tensors
    vq = "gen_vision_model."
    codebook = _shape(shapes, vq + "quantize.embedding.weight", source)
    base = _shape(shapes, vq + "encoder.conv_in.weight", source)[0]
    levels = _count(vq + "encoder.conv_blocks.", keys)
    mult = [
        _shape(shapes, f"{vq}encoder.conv_blocks.{i}.res.0.conv1.weight", source)[0] // base for i in range(levels)
    ]
    gen_aligner = dict(config.get("gen_aligner_config", {}).get("params", {}))
    gen_head = dict(config.get("gen_head_config", {}).get("params", {}))
    vq_config = JanusVQVAEConfig(
        embed_dim=codebook[1],
        num_embeddings=codebook[0],
        latent_channels=_shape(shapes, vq + "decoder.conv_in.weight", source)[1],
        base_channels=base,
        channel_multiplier=mult,
        num_res_blocks=_count(vq + "encoder.conv_blocks.0.res.", keys),
        projection_dim=int(gen_aligner.get("n_embed", emb[1])),
        image_token_embed_dim=int(gen_head.get("image_token_embed", emb[1])),
        num_hidden_layers=int(gen_aligner.get("depth", 2)),
    )
    head = _shape(shapes, "gen_head.vision_head.weight", source)
    if head[0] != codebook[0]:
        raise ConfigError(f"{source}: gen_head predicts {head[0]} codes but the VQ codebook has {codebook[0]}")
    image_token_id = tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
    return JanusConfig(
        text_config=text,
        vision_config=vision,
        vq_config=vq_config,
        image_token_id=image_token_id if image_token_id is not None else 100581,
        tie_word_embeddings=False,
    )



def set_image_generation_config(model: Any, tokenizer: Any) -> None:
    """Generation config as the official converter writes it, so transformers' own
    ``generate(generation_mode="image")`` works on our copies too (5.x forgets
    ``generation_kwargs`` on reload unless ``_from_model_config`` is False)."""
    gc = model.generation_config
    gc._from_model_config = False
    gc.temperature = 1.0
    gc.guidance_scale = 5
    gc.pad_token_id = tokenizer.convert_tokens_to_ids(PAD)
    gc.bos_token_id = tokenizer.bos_token_id
    gc.eos_token_id = tokenizer.eos_token_id
    gc.generation_kwargs = {"boi_token_id": tokenizer.convert_tokens_to_ids(BOI)}


# ----------------------------------------------------------------------------- the inverse (fixtures)


def to_original_layout(model: Any) -> dict[str, torch.Tensor]:
    """The inverse mapping: a transformers Janus state dict in DeepSeek's key layout (fused
    qkv, 3-d pos_embed). Used to write original-format fixtures for tests."""
    hf_state = model.state_dict()
    out: dict[str, torch.Tensor] = {}
    for k, v in hf_state.items():
        orig = _unmap_key(k)
        if orig is None or orig in out:
            continue
        if ".attn.qkv." in orig:  # fuse q/k/v back into timm's [q; k; v] rows
            base, leaf = k.rsplit(".self_attn.", 1)[0] + ".self_attn.", k.rsplit(".", 1)[1]
            out[orig] = torch.cat([hf_state[f"{base}{n}_proj.{leaf}"] for n in "qkv"], dim=0).clone()
        elif orig.endswith("pos_embed"):
            out[orig] = v.unsqueeze(0).clone()
        else:
            out[orig] = v.clone()
    return out


_UNRENAMES: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (re.compile(r"^model\.language_model\."), "language_model.model."),
    (re.compile(r"^lm_head\."), "language_model.lm_head."),
    (re.compile(r"^model\.vqmodel\.(encoder|decoder)\.mid\.block_1\."), r"gen_vision_model.\1.mid.0."),
    (re.compile(r"^model\.vqmodel\.(encoder|decoder)\.mid\.attn_1\."), r"gen_vision_model.\1.mid.1."),
    (re.compile(r"^model\.vqmodel\.(encoder|decoder)\.mid\.block_2\."), r"gen_vision_model.\1.mid.2."),
    (re.compile(r"^model\.vqmodel\.encoder\.down\.(\d+)\.block\."), r"gen_vision_model.encoder.conv_blocks.\1.res."),
    (re.compile(r"^model\.vqmodel\.decoder\.up\.(\d+)\.block\."), r"gen_vision_model.decoder.conv_blocks.\1.res."),
    (re.compile(r"^model\.vqmodel\.encoder\.down\."), "gen_vision_model.encoder.conv_blocks."),
    (re.compile(r"^model\.vqmodel\.decoder\.up\."), "gen_vision_model.decoder.conv_blocks."),
    (re.compile(r"^model\.vqmodel\."), "gen_vision_model."),
    (
        re.compile(r"^model\.(generation_aligner|aligner)\.(fc1|hidden_layers\.(\d+))\."),
        lambda m: ("gen_aligner" if m.group(1) == "generation_aligner" else "aligner")
        + (".layers.0." if m.group(2) == "fc1" else f".layers.{2 * (int(m.group(3)) + 1)}."),
    ),
    (re.compile(r"^model\.generation_head\.proj_out\."), "gen_head.output_mlp_projector."),
    (re.compile(r"^model\.generation_head\.vision_head\."), "gen_head.vision_head."),
    (re.compile(r"^model\.generation_embeddings\."), "gen_embed."),
    (re.compile(r"^model\.vision_model\.embeddings\.patch_embedding\."), "vision_model.vision_tower.patch_embed.proj."),
    (re.compile(r"^model\.vision_model\.embeddings\.position_embedding\.weight$"), "vision_model.vision_tower.pos_embed"),
    (re.compile(r"^model\.vision_model\.post_layernorm\."), "vision_model.vision_tower.norm."),
    (re.compile(r"^model\.vision_model\.encoder\.layers\.(\d+)\.layer_norm([12])\."), r"vision_model.vision_tower.blocks.\1.norm\2."),
    (re.compile(r"^model\.vision_model\.encoder\.layers\.(\d+)\.self_attn\.projection_layer\."), r"vision_model.vision_tower.blocks.\1.attn.proj."),
    (re.compile(r"^model\.vision_model\.encoder\.layers\.(\d+)\.self_attn\.[qkv]_proj\."), r"vision_model.vision_tower.blocks.\1.attn.qkv."),
    (re.compile(r"^model\.vision_model\.encoder\.layers\.(\d+)\.self_attn\.(q_norm|k_norm)\."), r"vision_model.vision_tower.blocks.\1.attn.\2."),
    (re.compile(r"^model\.vision_model\.encoder\.layers\.(\d+)\.mlp\."), r"vision_model.vision_tower.blocks.\1.mlp."),
]


def _unmap_key(key: str) -> str | None:
    for pattern, repl in _UNRENAMES:
        new, n = pattern.subn(repl, key)
        if n:
            return new
    return None
