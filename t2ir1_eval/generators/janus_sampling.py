"""Batched Janus sampling loops: semantic-CoT text and CFG image tokens, with a KV cache.

Batch invariance: every random draw of a row comes from uniforms drawn up front from that
row's own ``torch.Generator`` (seeded with the request's seed), and tokens are picked by
inverse-CDF sampling, which is exact categorical sampling like ``torch.multinomial``. Rows
are left-padded with masked pads and per-row ``position_ids``, so a row sees exactly what it
would see alone. What a batch can still change is floating-point rounding (GEMM blocking,
padded attention lengths); on CPU in float32 batched and single runs give identical tokens
(tests/test_janus_generator.py); in bf16 on a GPU a rounding change can, rarely, move a sample
across a CDF boundary.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

def draw_uniforms(seed: int, n_image: int, n_text: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(image uniforms [n_image], CoT uniforms [n_text]) in float64 from a CPU generator
    seeded with ``seed``: the same on every device and for every batch. Image uniforms come
    first so recipes with and without a CoT share the image stream (common random numbers)."""
    g = torch.Generator(device="cpu")
    g.manual_seed(int(seed) & 0xFFFF_FFFF_FFFF_FFFF)
    image = torch.rand(n_image, generator=g, dtype=torch.float64)
    text = torch.rand(n_text, generator=g, dtype=torch.float64)
    return image, text


def warp_logits(logits: torch.Tensor, temperature: float, top_k: int, top_p: float) -> torch.Tensor:
    """transformers' warpers in their order (temperature, top-k, top-p) on float32 logits.
    ``top_k <= 0`` and ``top_p >= 1`` are no-ops; ties at the top-k threshold are kept, as in
    ``TopKLogitsWarper``."""
    scores = logits / temperature if temperature != 1.0 else logits
    if top_k and top_k > 0 and top_k < scores.shape[-1]:
        threshold = torch.topk(scores, top_k, dim=-1).values[..., -1:]
        scores = scores.masked_fill(scores < threshold, float("-inf"))
    if top_p < 1.0:
        sorted_logits, sorted_idx = torch.sort(scores, descending=False, dim=-1)
        cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        remove_sorted = cum <= (1 - top_p)
        remove_sorted[..., -1:] = False  # keep at least one token
        remove = remove_sorted.scatter(-1, sorted_idx, remove_sorted)
        scores = scores.masked_fill(remove, float("-inf"))
    return scores


def sample_rows(logits: torch.Tensor, u: torch.Tensor, temperature: float, top_k: int, top_p: float) -> torch.Tensor:
    """One token per row: inverse-CDF on ``softmax(warp(logits))`` with the row's uniform
    ``u`` in [0, 1). ``temperature == 0`` means greedy (argmax, ``u`` unused)."""
    logits = logits.float()
    if temperature == 0:
        return logits.argmax(dim=-1)
    probs = warp_logits(logits, temperature, top_k, top_p).softmax(dim=-1)
    cdf = probs.double().cumsum(dim=-1)
    target = (u.to(cdf.device, torch.float64) * cdf[:, -1]).unsqueeze(-1)
    idx = torch.searchsorted(cdf, target, right=True).squeeze(-1)
    return idx.clamp_(max=probs.shape[-1] - 1)


CFG_DTYPES = ("model", "float32")


def cfg_logits(head_out: torch.Tensor, b: int, cfg_weight: float, cfg_dtype: str = "model") -> torch.Tensor:
    """Classifier-free guidance ``u + w (c - u)`` on the generation head's output for rows
    ``[cond_0..cond_{b-1}, uncond_0..uncond_{b-1}]``, returned in float32 for the sampler.

    ``cfg_dtype="model"`` (default): the head and the CFG arithmetic in the model dtype, as
    DeepSeek's ``generation_inference.py`` and T2I-R1's inference (bf16 on GPU); the result is
    then upcast. ``"float32"``: the head's output is upcast first and CFG runs in float32 (this
    harness's behaviour before the option existed). On a float32 model the two are identical."""
    if cfg_dtype == "float32":
        head_out = head_out.float()
    elif cfg_dtype != "model":
        raise ValueError(f"cfg_dtype must be one of {CFG_DTYPES}, got {cfg_dtype!r}")
    cond, unc = head_out[:b], head_out[b:]
    return (unc + cfg_weight * (cond - unc)).float()


def left_pad(rows: Sequence[Sequence[int]], pad_id: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(ids, attention_mask, position_ids) with left padding; positions restart at 0 at each
    row's first real token, so padding never shifts a row's rotary positions."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, width - len(r):] = torch.tensor(list(r), dtype=torch.long)
        mask[i, width - len(r):] = 1
    pos = (mask.cumsum(-1) - 1).clamp_(min=0)
    return ids.to(device), mask.to(device), pos.to(device)


def _new_cache(model: Any, batch: int, max_len: int, kind: str) -> Any:
    from transformers import DynamicCache, StaticCache

    text_config = model.config.get_text_config(decoder=True) if hasattr(model.config, "get_text_config") else model.config
    if kind == "static":
        try:
            return StaticCache(config=text_config, max_cache_len=max_len)
        except TypeError:  # transformers 4.x signature
            p = next(model.parameters())
            return StaticCache(config=text_config, max_batch_size=batch, max_cache_len=max_len, device=p.device, dtype=p.dtype)
    try:
        return DynamicCache(config=text_config)
    except TypeError:
        return DynamicCache()


def _cache_keyword(lm: Any) -> str:
    """transformers renamed ``past_key_values`` to ``cache`` (5.2x); accept both."""
    import inspect

    return "cache" if "cache" in inspect.signature(lm.forward).parameters else "past_key_values"


def _language_model(model: Any) -> Any:
    return model.model.language_model


def cfg_rows(prompts: Sequence[Sequence[int]], pad_id: int, device: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Left-padded ``(ids, mask, positions)`` of the CFG batch ``[cond..., uncond...]``: an
    unconditional row keeps BOS and ``<begin_of_image>`` and pads the rest (DeepSeek's
    ``tokens[i, 1:-1] = pad_id``); shared by the eager and the static loop."""
    uncond = [[r[0]] + [pad_id] * (len(r) - 2) + [r[-1]] for r in prompts]
    return left_pad(list(prompts) + uncond, pad_id, device)


@torch.inference_mode()
def generate_image_tokens(
    model: Any,
    prompts: Sequence[Sequence[int]],
    uniforms: torch.Tensor,
    *,
    pad_id: int,
    cfg_weight: float,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    num_image_tokens: int,
    cache: str = "static",
    cfg_dtype: str = "model",
) -> torch.Tensor:
    """CFG image-token sampling for a batch of tokenized prompts ``[BOS, ..., <begin_of_image>]``.

    Rows are ``[cond_0..cond_{B-1}, uncond_0..uncond_{B-1}]``; an unconditional row is its
    prompt with every position but the first (BOS) and the last (``<begin_of_image>``)
    replaced by ``pad_id`` and fully attended, as DeepSeek's ``tokens[i, 1:-1] = pad_id``.
    Each step: ``logits = u + w (c - u)`` over the whole codebook (float32), warpers, then the
    row's uniform (``cfg_dtype``: see ``cfg_logits``). Returns ``[B, num_image_tokens]`` VQ ids.
    This is the eager reference loop; ``janus_static`` runs the same step on static buffers.
    """
    device = next(model.parameters()).device
    lm = _language_model(model)
    ckw = _cache_keyword(lm)
    b = len(prompts)
    ids, mask, pos = cfg_rows(prompts, pad_id, device)
    embeds = model.get_input_embeddings()(ids)
    kv = _new_cache(model, 2 * b, ids.shape[1] + num_image_tokens, cache)
    uniforms = uniforms.to(device)
    out = torch.empty((b, num_image_tokens), dtype=torch.long, device=device)
    ones = torch.ones((2 * b, 1), dtype=mask.dtype, device=device)
    for i in range(num_image_tokens):
        hidden = lm(inputs_embeds=embeds, attention_mask=mask, position_ids=pos, use_cache=True, **{ckw: kv}).last_hidden_state
        guided = cfg_logits(model.model.generation_head(hidden[:, -1, :]), b, cfg_weight, cfg_dtype)
        token = sample_rows(guided, uniforms[:, i], temperature, top_k, top_p)
        out[:, i] = token
        if i + 1 == num_image_tokens:
            break
        embeds = model.prepare_embeddings_for_image_generation(torch.cat([token, token]).unsqueeze(-1))
        mask = torch.cat([mask, ones], dim=1)
        pos = pos[:, -1:] + 1
    return out


@torch.inference_mode()
def generate_text(
    model: Any,
    prompts: Sequence[Sequence[int]],
    uniforms: torch.Tensor,
    *,
    pad_id: int,
    eos_id: int,
    temperature: float = 1.0,
    top_k: int = 50,
    top_p: float = 1.0,
    max_new_tokens: int = 512,
    cache: str = "dynamic",
) -> list[list[int]]:
    """Sampled continuations (up to and including EOS) for a batch of tokenized prompts,
    like ``language_model.generate(do_sample=True)`` in T2I-R1's stage A but with per-row
    randomness. Finished rows are fed pads (as transformers does) and the loop stops when
    every row has produced EOS or ``max_new_tokens``."""
    device = next(model.parameters()).device
    lm = _language_model(model)
    ckw = _cache_keyword(lm)
    b = len(prompts)
    ids, mask, pos = left_pad(prompts, pad_id, device)
    embeds = model.get_input_embeddings()(ids)
    kv = _new_cache(model, b, ids.shape[1] + max_new_tokens, cache)
    uniforms = uniforms.to(device)
    produced = torch.full((b, max_new_tokens), pad_id, dtype=torch.long, device=device)
    done = torch.zeros(b, dtype=torch.bool, device=device)
    ones = torch.ones((b, 1), dtype=mask.dtype, device=device)
    steps = 0
    for i in range(max_new_tokens):
        hidden = lm(inputs_embeds=embeds, attention_mask=mask, position_ids=pos, use_cache=True, **{ckw: kv}).last_hidden_state
        logits = model.lm_head(hidden[:, -1, :]).float()
        token = sample_rows(logits, uniforms[:, i], temperature, top_k, top_p)
        token = torch.where(done, torch.full_like(token, pad_id), token)
        produced[:, i] = token
        steps = i + 1
        done |= token == eos_id
        if bool(done.all()):
            break
        embeds = model.get_input_embeddings()(token.unsqueeze(-1))
        mask = torch.cat([mask, ones], dim=1)
        pos = pos[:, -1:] + 1
    result: list[list[int]] = []
    for row in produced[:, :steps].tolist():
        if eos_id in row:
            row = row[: row.index(eos_id) + 1]
        result.append(row)
    return result
