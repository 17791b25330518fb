"""``--batch-size auto`` for Janus: the largest batch whose decode state fits in free GPU memory.

A batch of B images holds, besides the weights: the static KV cache of the image loop for 2B
CFG rows (cond + uncond) over prompt + image tokens, the CoT loop's cache for B rows when the
recipe has a CoT stage (both states are kept between batches, see ``janus_static``), the
sampler's per-row codebook-wide tensors (float32 logits, float64 CDF), the prompt pass's
activations, and a fixed reserve for the VQ decoder (decoded in chunks) and the allocator's
slack. The estimate is deliberately conservative (10 % of free memory is left alone).
"""

from __future__ import annotations

from typing import Any, Mapping

from ..errors import ConfigError

#: Janus-Pro-7B's language model, used for fields a config does not spell out
JANUS_PRO_7B_TEXT: dict[str, int] = {
    "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 30,
    "num_attention_heads": 32, "num_key_value_heads": 32, "vocab_size": 102400,
}
#: VQ decoder, CUDA context growth, fragmentation
RESERVE_BYTES = 4 * 2**30
MAX_AUTO_BATCH = 256


def text_dims(config: Mapping[str, Any]) -> dict[str, int]:
    """Language-model sizes from a transformers (``text_config``) or DeepSeek
    (``language_config``) Janus config.json, or a bare Llama config."""
    text = config.get("text_config") or config.get("language_config") or config
    dims = dict(JANUS_PRO_7B_TEXT)
    for k in dims:
        if isinstance(text.get(k), int):
            dims[k] = text[k]
    if "num_key_value_heads" not in text and isinstance(text.get("num_attention_heads"), int):
        dims["num_key_value_heads"] = text["num_attention_heads"]
    return dims


def estimate_weight_bytes(dims: Mapping[str, int], dtype_bytes: int) -> int:
    """Llama blocks + input/output embeddings + ~0.75 B params for SigLIP, VQ and the image head."""
    h, inter, layers, vocab = dims["hidden_size"], dims["intermediate_size"], dims["num_hidden_layers"], dims["vocab_size"]
    params = layers * (4 * h * h + 3 * h * inter) + 2 * vocab * h + 750_000_000
    return params * dtype_bytes


def bytes_per_image(dims: Mapping[str, int], dtype_bytes: int, prompt_len: int, image_tokens: int,
                    cot_tokens: int, codebook: int) -> int:
    """Decode-state bytes one more image in the batch costs."""
    head_dim = dims["hidden_size"] // dims["num_attention_heads"]
    kv_token_row = 2 * dims["num_hidden_layers"] * dims["num_key_value_heads"] * head_dim * dtype_bytes
    image_kv = 2 * kv_token_row * (prompt_len + cot_tokens + image_tokens)  # cond + uncond rows
    cot_kv = kv_token_row * (prompt_len + cot_tokens) if cot_tokens else 0
    sampler = 2 * codebook * 4 + codebook * (4 * 3 + 8 * 2)  # head output, CFG/warp/softmax, float64 CDF
    if cot_tokens:
        sampler = max(sampler, dims["vocab_size"] * (4 * 3 + 8 * 2))
    prefill = 2 * (prompt_len + cot_tokens) * (2 * dims["intermediate_size"] + 4 * dims["hidden_size"]) * dtype_bytes
    return image_kv + cot_kv + sampler + prefill


def estimate_batch_size(free_bytes: int, weight_bytes: int, per_image: int, reserve: int = RESERVE_BYTES,
                        cap: int = MAX_AUTO_BATCH) -> int:
    """Largest batch that fits, rounded down to a multiple of 8 from 8 up (identical GPUs then
    agree, and batches stay tensor-core friendly); at least 1, at most ``cap``."""
    budget = int(free_bytes * 0.9) - weight_bytes - reserve
    n = max(1, min(cap, budget // max(1, per_image)))
    return n - n % 8 if n >= 8 else int(n)


def auto_batch_size(device: str, dims: Mapping[str, int], dtype_bytes: int, *, weights_loaded_bytes: int | None,
                    prompt_len: int, image_tokens: int, cot_tokens: int, codebook: int) -> tuple[int, dict[str, Any]]:
    """(batch size, the numbers it came from) on a CUDA ``device``; refuses elsewhere."""
    import torch

    if not str(device).startswith("cuda") or not torch.cuda.is_available():
        raise ConfigError(f"--batch-size auto sizes the batch from free GPU memory, but the device is {device}; "
                          "give a number instead (e.g. --batch-size 4, the default)")
    free, total = torch.cuda.mem_get_info(torch.device(device))
    weights = estimate_weight_bytes(dims, dtype_bytes) if weights_loaded_bytes is None else 0
    per_image = bytes_per_image(dims, dtype_bytes, prompt_len, image_tokens, cot_tokens, codebook)
    n = estimate_batch_size(free, weights, per_image)
    return n, {"free_gib": round(free / 2**30, 2), "total_gib": round(total / 2**30, 2),
               "weights_gib_to_load": round(weights / 2**30, 2), "per_image_mib": round(per_image / 2**20, 1),
               "reserve_gib": RESERVE_BYTES / 2**30}
