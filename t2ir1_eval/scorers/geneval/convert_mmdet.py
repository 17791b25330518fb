"""mmdet Mask2Former (Swin backbone, COCO instance) state dict -> transformers
``Mask2FormerForUniversalSegmentation``. Our own key mapping; accepts mmdet 2.x (GenEval's
checkpoint) and 3.x key names.

Almost everything is a rename. Three tensor changes:
* Swin PatchMerging: mmdet gathers each 2x2 neighbourhood with ``nn.Unfold`` (channel index
  ``c * 4 + kh * 2 + kw``), transformers concatenates the four shifted grids
  (``k * C + c`` with k over (0,0), (1,0), (0,1), (1,1)): the reduction's input columns and
  the norm before it are permuted;
* the fused Swin ``qkv`` projection splits into q / k / v;
* the transformer decoder's self-attention ``in_proj`` splits into q / k / v (transformers'
  cross-attention is an ``nn.MultiheadAttention`` and keeps the fused form).

The transformers config of that model (``geneval_config``) lives here too: keys and config are
the conversion, which the detector (``mask2former``) uses and this module never imports back.

Usage: ``t2ir1-eval convert geneval-mask2former SRC.pth DST_DIR`` -> ``convert_checkpoint``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

import torch

from ...errors import ConfigError
from ...io import sha256_file

#: bump when the mapping changes (names the cache of checkpoints converted on load)
CONVERTER_VERSION = "1"

B = "model.pixel_level_module.encoder."  # Swin backbone (+ per-stage output norms)
S = B + "swin."
PD = "model.pixel_level_module.decoder."
TD = "model.transformer_module."

#: HF keys that have no mmdet source and are unused at inference
UNUSED_TARGETS = ("model.pixel_level_module.encoder.swin.layernorm.", "criterion.empty_weight")
#: mmdet keys that have no HF target (buffers recomputed by transformers)
IGNORED_SOURCES = (re.compile(r"relative_position_index$"), re.compile(r"^data_preprocessor\."))


def geneval_config() -> Any:
    """transformers config equal to mmdet's Mask2Former Swin-S COCO-instance model."""
    from transformers import Mask2FormerConfig, SwinConfig

    backbone = SwinConfig(image_size=224, patch_size=4, embed_dim=96, depths=[2, 2, 18, 2], num_heads=[3, 6, 12, 24],
                          window_size=7, mlp_ratio=4.0, qkv_bias=True, drop_path_rate=0.3,
                          out_features=["stage1", "stage2", "stage3", "stage4"])
    return Mask2FormerConfig(
        backbone_config=backbone, num_labels=80, num_queries=100, hidden_dim=256, feature_size=256,
        mask_feature_size=256, encoder_feedforward_dim=1024, dim_feedforward=2048, encoder_layers=6,
        # transformers counts the prediction from the initial queries as a decoder layer: 9 mmdet layers + 1
        decoder_layers=10, num_attention_heads=8, common_stride=4, feature_strides=[4, 8, 16, 32],
        use_pretrained_backbone=False, use_timm_backbone=False,
    )


def _merge_perm(channels: int) -> torch.Tensor:
    """For HF input column j (k * C + c) the mmdet column c * 4 + kpos, kpos in unfold order."""
    unfold_pos = [0, 2, 1, 3]  # HF grid k -> (kh, kw) -> kh * 2 + kw
    idx = [c * 4 + unfold_pos[k] for k in range(4) for c in range(channels)]
    return torch.tensor(idx, dtype=torch.long)


def _split3(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    n = t.shape[0] // 3
    return t[:n], t[n:2 * n], t[2 * n:]


# (pattern on the mmdet key, replacement for the HF key); applied in order, first match wins.
_RENAMES: list[tuple[str, str]] = [
    # ---------------- Swin backbone
    (r"^backbone\.patch_embed\.projection\.(weight|bias)$", S + r"embeddings.patch_embeddings.projection.\1"),
    (r"^backbone\.patch_embed\.norm\.(weight|bias)$", S + r"embeddings.norm.\1"),
    (r"^backbone\.stages\.(\d+)\.blocks\.(\d+)\.norm1\.(weight|bias)$", S + r"encoder.layers.\1.blocks.\2.layernorm_before.\3"),
    (r"^backbone\.stages\.(\d+)\.blocks\.(\d+)\.norm2\.(weight|bias)$", S + r"encoder.layers.\1.blocks.\2.layernorm_after.\3"),
    (r"^backbone\.stages\.(\d+)\.blocks\.(\d+)\.attn\.w_msa\.relative_position_bias_table$",
     S + r"encoder.layers.\1.blocks.\2.attention.relative_position_bias.relative_position_bias_table"),
    (r"^backbone\.stages\.(\d+)\.blocks\.(\d+)\.attn\.w_msa\.proj\.(weight|bias)$", S + r"encoder.layers.\1.blocks.\2.attention.o_proj.\3"),
    (r"^backbone\.stages\.(\d+)\.blocks\.(\d+)\.ffn\.layers\.0\.0\.(weight|bias)$", S + r"encoder.layers.\1.blocks.\2.mlp.fc1.\3"),
    (r"^backbone\.stages\.(\d+)\.blocks\.(\d+)\.ffn\.layers\.1\.(weight|bias)$", S + r"encoder.layers.\1.blocks.\2.mlp.fc2.\3"),
    (r"^backbone\.stages\.(\d+)\.downsample\.reduction\.weight$", S + r"encoder.layers.\1.downsample.reduction.weight"),
    (r"^backbone\.stages\.(\d+)\.downsample\.norm\.(weight|bias)$", S + r"encoder.layers.\1.downsample.norm.\2"),
    # ---------------- pixel decoder (MSDeformAttnPixelDecoder)
    (r"^panoptic_head\.pixel_decoder\.input_convs\.(\d+)\.conv\.(weight|bias)$", PD + r"input_projections.\1.0.\2"),
    (r"^panoptic_head\.pixel_decoder\.input_convs\.(\d+)\.gn\.(weight|bias)$", PD + r"input_projections.\1.1.\2"),
    (r"^panoptic_head\.pixel_decoder\.encoder\.layers\.(\d+)\.(?:attentions\.0|self_attn)\."
     r"(sampling_offsets|attention_weights|value_proj|output_proj)\.(weight|bias)$", PD + r"encoder.layers.\1.self_attn.\2.\3"),
    (r"^panoptic_head\.pixel_decoder\.encoder\.layers\.(\d+)\.(?:ffns\.0|ffn)\.layers\.0\.0\.(weight|bias)$", PD + r"encoder.layers.\1.fc1.\2"),
    (r"^panoptic_head\.pixel_decoder\.encoder\.layers\.(\d+)\.(?:ffns\.0|ffn)\.layers\.1\.(weight|bias)$", PD + r"encoder.layers.\1.fc2.\2"),
    (r"^panoptic_head\.pixel_decoder\.encoder\.layers\.(\d+)\.norms\.0\.(weight|bias)$", PD + r"encoder.layers.\1.self_attn_layer_norm.\2"),
    (r"^panoptic_head\.pixel_decoder\.encoder\.layers\.(\d+)\.norms\.1\.(weight|bias)$", PD + r"encoder.layers.\1.final_layer_norm.\2"),
    (r"^panoptic_head\.pixel_decoder\.level_encoding\.weight$", PD + "level_embed"),
    (r"^panoptic_head\.pixel_decoder\.lateral_convs\.0\.conv\.weight$", PD + "adapter_1.0.weight"),
    (r"^panoptic_head\.pixel_decoder\.lateral_convs\.0\.gn\.(weight|bias)$", PD + r"adapter_1.1.\1"),
    (r"^panoptic_head\.pixel_decoder\.output_convs\.0\.conv\.weight$", PD + "layer_1.0.weight"),
    (r"^panoptic_head\.pixel_decoder\.output_convs\.0\.gn\.(weight|bias)$", PD + r"layer_1.1.\1"),
    (r"^panoptic_head\.pixel_decoder\.mask_feature\.(weight|bias)$", PD + r"mask_projection.\1"),
    # ---------------- transformer decoder (2.x: attentions.0 = cross, attentions.1 = self)
    (r"^panoptic_head\.transformer_decoder\.layers\.(\d+)\.(?:attentions\.0|cross_attn)\.attn\.(in_proj_weight|in_proj_bias)$",
     TD + r"decoder.layers.\1.cross_attn.\2"),
    (r"^panoptic_head\.transformer_decoder\.layers\.(\d+)\.(?:attentions\.0|cross_attn)\.attn\.out_proj\.(weight|bias)$",
     TD + r"decoder.layers.\1.cross_attn.out_proj.\2"),
    (r"^panoptic_head\.transformer_decoder\.layers\.(\d+)\.(?:attentions\.1|self_attn)\.attn\.out_proj\.(weight|bias)$",
     TD + r"decoder.layers.\1.self_attn.out_proj.\2"),
    (r"^panoptic_head\.transformer_decoder\.layers\.(\d+)\.(?:ffns\.0|ffn)\.layers\.0\.0\.(weight|bias)$", TD + r"decoder.layers.\1.fc1.\2"),
    (r"^panoptic_head\.transformer_decoder\.layers\.(\d+)\.(?:ffns\.0|ffn)\.layers\.1\.(weight|bias)$", TD + r"decoder.layers.\1.fc2.\2"),
    (r"^panoptic_head\.transformer_decoder\.layers\.(\d+)\.norms\.0\.(weight|bias)$", TD + r"decoder.layers.\1.cross_attn_layer_norm.\2"),
    (r"^panoptic_head\.transformer_decoder\.layers\.(\d+)\.norms\.1\.(weight|bias)$", TD + r"decoder.layers.\1.self_attn_layer_norm.\2"),
    (r"^panoptic_head\.transformer_decoder\.layers\.(\d+)\.norms\.2\.(weight|bias)$", TD + r"decoder.layers.\1.final_layer_norm.\2"),
    (r"^panoptic_head\.transformer_decoder\.post_norm\.(weight|bias)$", TD + r"decoder.layernorm.\1"),
    (r"^panoptic_head\.query_embed\.weight$", TD + "queries_embedder.weight"),
    (r"^panoptic_head\.query_feat\.weight$", TD + "queries_features.weight"),
    (r"^panoptic_head\.level_embed\.weight$", TD + "level_embed.weight"),
    (r"^panoptic_head\.cls_embed\.(weight|bias)$", r"class_predictor.\1"),
    (r"^panoptic_head\.mask_embed\.0\.(weight|bias)$", TD + r"decoder.mask_predictor.mask_embedder.0.0.\1"),
    (r"^panoptic_head\.mask_embed\.2\.(weight|bias)$", TD + r"decoder.mask_predictor.mask_embedder.1.0.\1"),
    (r"^panoptic_head\.mask_embed\.4\.(weight|bias)$", TD + r"decoder.mask_predictor.mask_embedder.2.0.\1"),
]
_COMPILED = [(re.compile(p), r) for p, r in _RENAMES]

_QKV = re.compile(r"^backbone\.stages\.(\d+)\.blocks\.(\d+)\.attn\.w_msa\.qkv\.(weight|bias)$")
_SELF_IN_PROJ = re.compile(r"^panoptic_head\.transformer_decoder\.layers\.(\d+)\.(?:attentions\.1|self_attn)\.attn\.in_proj_(weight|bias)$")
_OUT_NORM = re.compile(r"^backbone\.norm(\d+)\.(weight|bias)$")


def load_mmdet_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The ``state_dict`` of an mmdet checkpoint file (2.x or 3.x), on CPU."""
    path = Path(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickled numpy / mmcv objects in "meta" need the full unpickler
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=False)
        except Exception:
            raise ConfigError(f"{path}: expected an mmdet checkpoint (a torch.save file with 'state_dict'), "
                              f"could not read it: {exc}") from exc
    state = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not any(k.startswith("panoptic_head.") for k in state):
        raise ConfigError(f"{path}: expected an mmdet Mask2Former checkpoint (keys 'backbone.*', 'panoptic_head.*'), "
                          f"found keys {sorted(state)[:5] if isinstance(state, dict) else type(ckpt).__name__}")
    return {k.removeprefix("module."): v for k, v in state.items()}


def convert_state_dict(src: dict[str, torch.Tensor], config: Any | None = None,
                       ) -> tuple[dict[str, torch.Tensor], list[str]]:
    """(HF state dict, mmdet keys that were ignored). Raises naming any unmapped mmdet key."""
    out: dict[str, torch.Tensor] = {}
    ignored: list[str] = []
    unknown: list[str] = []
    for key, value in src.items():
        if any(p.search(key) for p in IGNORED_SOURCES):
            ignored.append(key)
            continue
        m = _QKV.match(key)
        if m:
            base = S + f"encoder.layers.{m[1]}.blocks.{m[2]}.attention."
            for name, part in zip(("q_proj", "k_proj", "v_proj"), _split3(value)):
                out[f"{base}{name}.{m[3]}"] = part.clone()
            continue
        m = _SELF_IN_PROJ.match(key)
        if m:
            base = TD + f"decoder.layers.{m[1]}.self_attn."
            for name, part in zip(("q_proj", "k_proj", "v_proj"), _split3(value)):
                out[f"{base}{name}.{m[2]}"] = part.clone()
            continue
        m = _OUT_NORM.match(key)
        if m:
            out[f"{B}hidden_states_norms.stage{int(m[1]) + 1}.{m[2]}"] = value.clone()
            continue
        for pattern, repl in _COMPILED:
            if pattern.match(key):
                new = pattern.sub(repl, key)
                if ".downsample." in key:
                    channels = value.shape[-1] // 4
                    perm = _merge_perm(channels)
                    value = value[:, perm] if key.endswith("reduction.weight") else value[perm]
                out[new] = value.clone()
                break
        else:
            unknown.append(key)
    if unknown:
        raise ConfigError(f"mmdet checkpoint has {len(unknown)} keys with no transformers target (expected a "
                          f"Mask2Former Swin COCO-instance model), e.g. {unknown[:8]}")
    return out, ignored


def check_against(model: Any, state: dict[str, torch.Tensor]) -> None:
    """Raise naming every HF parameter the conversion left unset or mis-shaped."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state and not k.startswith(UNUSED_TARGETS)]
    extra = [k for k in state if k not in expected]
    shapes = [f"{k}: expected {tuple(expected[k].shape)}, found {tuple(v.shape)}"
              for k, v in state.items() if k in expected and tuple(expected[k].shape) != tuple(v.shape)]
    if missing or extra or shapes:
        raise ConfigError("converted Mask2Former does not fit the transformers model: "
                          f"missing {missing[:6]} ({len(missing)}), unexpected {extra[:6]} ({len(extra)}), "
                          f"shape mismatches {shapes[:4]} ({len(shapes)})")


def convert_checkpoint(src: str | Path, dst: str | Path, config_builder: Callable[[], Any] | None = None,
                       ) -> dict[str, Any]:
    """Convert the GenEval mmdet checkpoint ``src`` into a transformers folder ``dst``
    (config.json + model.safetensors + conversion.json with the source's sha256)."""
    from transformers import Mask2FormerForUniversalSegmentation


    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise ConfigError(f"convert geneval-mask2former: source checkpoint {src} does not exist")
    state, ignored = convert_state_dict(load_mmdet_state_dict(src))
    model = Mask2FormerForUniversalSegmentation((config_builder or geneval_config)())
    check_against(model, state)
    model.load_state_dict(state, strict=False)
    model.eval()
    dst.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(dst)
    report = {"source": str(src), "source_sha256": sha256_file(src), "converted_tensors": len(state),
              "ignored_source_keys": len(ignored), "converter": "t2ir1_eval.scorers.geneval.convert_mmdet",
              "converter_version": CONVERTER_VERSION}
    (dst / "conversion.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report
