"""Build mmdet's GenEval Mask2Former (Swin-S) and a tiny variant of the same config, random weights.

The tiny variant matches ``t2ir1_eval.tiny.mask2former.tiny_mask2former_config`` module for
module, so the converter can be checked on it quickly. Needs mmdet 3.3 (the second venv).
"""

from __future__ import annotations

from typing import Any

import torch


def mmdet_config(tiny: bool = False) -> Any:
    from mmengine.config import Config

    from t2ir1_eval.scorers.geneval.mmdet_backend import default_config_path

    cfg = Config.fromfile(str(default_config_path()))
    cfg.model.backbone.init_cfg = None
    if tiny:
        b = cfg.model.backbone
        b.embed_dims, b.depths, b.num_heads, b.window_size = 16, [1, 1, 1, 1], [1, 1, 2, 2], 7
        h = cfg.model.panoptic_head
        h.in_channels = [16, 32, 64, 128]
        h.feat_channels = h.out_channels = 32
        h.num_queries = 10
        enc = h.pixel_decoder.encoder
        enc.num_layers = 1
        enc.layer_cfg.self_attn_cfg.update(embed_dims=32, num_heads=2)
        enc.layer_cfg.ffn_cfg.update(embed_dims=32, feedforward_channels=64)
        h.pixel_decoder.positional_encoding.num_feats = 16
        h.positional_encoding.num_feats = 16
        dec = h.transformer_decoder
        dec.num_layers = 2
        dec.layer_cfg.self_attn_cfg.update(embed_dims=32, num_heads=2)
        dec.layer_cfg.cross_attn_cfg.update(embed_dims=32, num_heads=2)
        dec.layer_cfg.ffn_cfg.update(embed_dims=32, feedforward_channels=64)
    return cfg


def mmdet_model(tiny: bool = False, seed: int = 0, peaked: bool = True) -> tuple[Any, Any]:
    """(model in eval mode, cfg). ``peaked`` scales the class head so some scores pass 0.3."""
    from mmdet.apis import init_detector

    cfg = mmdet_config(tiny)
    torch.manual_seed(seed)
    model = init_detector(cfg, checkpoint=None, device="cpu")
    if peaked:
        with torch.no_grad():
            model.panoptic_head.cls_embed.weight.mul_(40.0)
            model.panoptic_head.cls_embed.bias.normal_(0, 3.0)
    return model.eval(), cfg
