"""A tiny random-weight DPT-Hybrid depth model (real ``DPTForDepthEstimation`` + BiT backbone).

Same architecture family as ``Intel/dpt-hybrid-midas`` (ViT-hybrid with a 3-stage BiT stem of
stride 16, reassemble factors 4/2/1/0.5, ReLU head), scaled down to ~120k parameters; the
position table is built for 32 px and resized on the fly like the real one's 384 -> 480.
Its depth maps mean nothing.
"""

from __future__ import annotations

from typing import Any


def tiny_dpt_hybrid(seed: int = 0) -> Any:
    """A deterministic (per ``seed``) tiny DPT-Hybrid in eval mode."""
    import torch
    from transformers import BitConfig, DPTConfig, DPTForDepthEstimation

    backbone = BitConfig(global_padding="same", layer_type="bottleneck", depths=[1, 1, 1], hidden_sizes=[16, 32, 64],
                         embedding_size=8, num_groups=4, out_features=["stage1", "stage2", "stage3"],
                         embedding_dynamic_padding=True)
    config = DPTConfig(is_hybrid=True, backbone_config=backbone, image_size=32, patch_size=16, hidden_size=32,
                       num_hidden_layers=4, num_attention_heads=2, intermediate_size=64,
                       backbone_out_indices=[0, 1, 2, 3], neck_hidden_sizes=[16, 32, 32, 32], fusion_hidden_size=16,
                       reassemble_factors=[4, 2, 1, 0.5], backbone_featmap_shape=[1, 64, 2, 2],
                       neck_ignore_stages=[0, 1])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DPTForDepthEstimation(config).eval()
        # random heads end in ReLU and often output ~0 everywhere; a positive head bias keeps maps non-flat
        with torch.no_grad():
            model.head.head[-2].bias.add_(0.5)
    return model
