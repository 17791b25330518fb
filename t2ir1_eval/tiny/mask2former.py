"""Tiny random-weight Mask2Former (real transformers architecture, Swin backbone, 80 COCO labels).

Same module layout as the GenEval detector (mmdet Mask2Former Swin-S), only smaller, so the
converter, the pre/post-processing and the scorer run on it offline in well under a second.
"""

from __future__ import annotations

from typing import Any

import torch


def tiny_mask2former_config(num_labels: int = 80) -> Any:
    from transformers import Mask2FormerConfig, SwinConfig

    backbone = SwinConfig(image_size=224, patch_size=4, embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 2, 2],
                          window_size=7, out_features=["stage1", "stage2", "stage3", "stage4"])
    return Mask2FormerConfig(
        backbone_config=backbone, num_labels=num_labels, num_queries=10, hidden_dim=32, feature_size=32,
        mask_feature_size=32, encoder_feedforward_dim=64, dim_feedforward=64, encoder_layers=1, decoder_layers=3,
        num_attention_heads=2, common_stride=4, feature_strides=[4, 8, 16, 32],
        use_pretrained_backbone=False, use_timm_backbone=False,
    )


def tiny_mask2former(seed: int = 0, num_labels: int = 80) -> Any:
    """A seeded ``Mask2FormerForUniversalSegmentation`` (0.4 M params) in eval mode."""
    from transformers import Mask2FormerForUniversalSegmentation

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Mask2FormerForUniversalSegmentation(tiny_mask2former_config(num_labels))
    return model.eval()
