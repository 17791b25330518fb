"""Tiny random-weight CLIP (real CLIPModel architecture) with an offline tokenizer."""

from __future__ import annotations

from typing import Any

import torch

from .tokenizers import byte_level_bpe

BOS, EOS = "<|startoftext|>", "<|endoftext|>"


def tiny_clip_tokenizer() -> Any:
    from transformers import PreTrainedTokenizerFast

    tok = byte_level_bpe([EOS, BOS], bos=BOS, eos=EOS, vocab_size=400)
    # Like OpenAI CLIP, pad with <|endoftext|>: text pooling takes the first EOS position.
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=EOS,
                                   unk_token=EOS, model_max_length=77)


def tiny_clip(seed: int = 0, image_size: int = 32) -> tuple[Any, Any, Any]:
    """(CLIPModel, tokenizer, CLIPImageProcessorPil): 32 px, 2 layers, projection 16; seeded."""
    from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel

    tokenizer = tiny_clip_tokenizer()
    cfg = CLIPConfig(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, max_position_embeddings=77,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                           image_size=image_size, patch_size=8),
        projection_dim=16,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = CLIPModel(cfg).eval()
    processor = CLIPImageProcessorPil(size={"shortest_edge": image_size},
                                      crop_size={"height": image_size, "width": image_size})
    return model, tokenizer, processor


#: architecture shapes of the OpenAI CLIP checkpoints (for random-weight speed runs: same FLOPs, no download)
ARCHS = {
    "vit-large-patch14": dict(vision=dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
                                          num_attention_heads=16, image_size=224, patch_size=14),
                              text=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                        num_attention_heads=12), projection_dim=768),
    "vit-base-patch32": dict(vision=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                         num_attention_heads=12, image_size=224, patch_size=32),
                             text=dict(hidden_size=512, intermediate_size=2048, num_hidden_layers=12,
                                       num_attention_heads=8), projection_dim=512),
}


def random_clip(arch: str, seed: int = 0) -> tuple[Any, Any, Any]:
    """Full-size CLIP architecture with random weights and the offline tokenizer (speed runs only)."""
    from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel

    if arch not in ARCHS:
        raise ValueError(f"random CLIP: expected one of {sorted(ARCHS)}, found {arch!r}")
    a = ARCHS[arch]
    tokenizer = tiny_clip_tokenizer()
    cfg = CLIPConfig(
        text_config=dict(vocab_size=len(tokenizer), max_position_embeddings=77, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, **a["text"]),
        vision_config=dict(a["vision"]), projection_dim=a["projection_dim"])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = CLIPModel(cfg).eval()
    size = a["vision"]["image_size"]
    return model, tokenizer, CLIPImageProcessorPil(size={"shortest_edge": size}, crop_size={"height": size, "width": size})
