"""Test-only: write a transformers BLIP VQA in the layout of Salesforce's release checkpoint.

The inverse of ``t2ir1_eval.scorers.compbench.blip_convert``'s mapping, written out by hand from
BLIP's models/vit.py (timm ViT names) and models/med.py (BERT names, persistent position_ids
buffers), so the converter is tested against an independent statement of the layout.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import torch

_VISION_BACK = [
    (r"^vision_model\.embeddings\.class_embedding$", "visual_encoder.cls_token"),
    (r"^vision_model\.embeddings\.position_embedding$", "visual_encoder.pos_embed"),
    (r"^vision_model\.embeddings\.patch_embedding\.", "visual_encoder.patch_embed.proj."),
    (r"^vision_model\.encoder\.layers\.(\d+)\.layer_norm1\.", r"visual_encoder.blocks.\1.norm1."),
    (r"^vision_model\.encoder\.layers\.(\d+)\.layer_norm2\.", r"visual_encoder.blocks.\1.norm2."),
    (r"^vision_model\.encoder\.layers\.(\d+)\.self_attn\.qkv\.", r"visual_encoder.blocks.\1.attn.qkv."),
    (r"^vision_model\.encoder\.layers\.(\d+)\.self_attn\.projection\.", r"visual_encoder.blocks.\1.attn.proj."),
    (r"^vision_model\.encoder\.layers\.(\d+)\.mlp\.", r"visual_encoder.blocks.\1.mlp."),
    (r"^vision_model\.post_layernorm\.", "visual_encoder.norm."),
]


def to_original_layout(model: Any) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for key, value in model.state_dict().items():
        if key.startswith("vision_model."):
            for pat, repl in _VISION_BACK:
                if re.match(pat, key):
                    out[re.sub(pat, repl, key)] = value.clone()
                    break
            else:
                raise KeyError(key)
        else:  # text_encoder.* / text_decoder.*: med.py uses the same names
            out[key] = value.clone()
    n = model.config.text_config.max_position_embeddings
    for prefix in ("text_encoder.", "text_decoder.bert."):  # med.py registers them as persistent buffers
        out[prefix + "embeddings.position_ids"] = torch.arange(n).expand((1, -1)).clone()
    return out


def save_original(model: Any, tokenizer: Any, folder: Path, name: str = "model_base_vqa_capfilt_large.pth",
                  med_config: bool = True, extra: dict[str, Any] | None = None) -> Path:
    """``folder/name`` = ``{'model': state_dict}`` (+ ``extra``), a ``tokenizer/`` folder and
    BLIP's ``med_config.json`` for the text sizes."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    torch.save({"model": to_original_layout(model), **(extra or {})}, path)
    tokenizer.save_pretrained(str(folder / "tokenizer"))
    if med_config:
        t = model.config.text_config
        (folder / "med_config.json").write_text(json.dumps({
            "architectures": ["BertModel"], "hidden_act": "gelu", "hidden_size": t.hidden_size,
            "intermediate_size": t.intermediate_size, "layer_norm_eps": t.layer_norm_eps,
            "max_position_embeddings": t.max_position_embeddings, "model_type": "bert",
            "num_attention_heads": t.num_attention_heads, "num_hidden_layers": t.num_hidden_layers,
            "pad_token_id": 0, "type_vocab_size": 2, "vocab_size": t.vocab_size, "encoder_width": t.hidden_size,
            "add_cross_attention": True}, indent=2))
    return path
