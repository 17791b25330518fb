"""BLIP's text decoder run with the question padding mask where its cross-attention reads it.

transformers 5.24's ``BlipTextLayer`` hands ``encoder_attention_mask`` to the cross-attention as
``attention_mask``, which ``BlipTextSelfAttention`` ignores when it cross-attends: padded question
tokens get attention weight, so a question padded in a batch answers differently than alone.
BLIP's own med.py masks them. Here the decoder's submodules are called layer by layer with the
mask routed, for both users: T2I-CompBench's one-step P(yes) (``blip_vqa``) and DPG-Bench's
greedy answers (``vqa_hf``).
"""

from __future__ import annotations

from typing import Any


def decoder_logits(decoder: Any, input_ids: Any, question_states: Any, question_mask: Any) -> Any:
    """Logits [batch, tokens, vocab] of ``BlipTextLMHeadModel`` over the whole ``input_ids`` prefix.

    No KV cache: the prefix is recomputed (answers are a few tokens; the vision encoder dominates).
    The decoder's own tokens are never padded (greedy steps keep equal lengths), so its causal
    self-attention needs only the causal mask; one token needs none.
    """
    import torch

    bert = decoder.bert
    hidden = bert.embeddings(input_ids=input_ids)
    low = torch.finfo(hidden.dtype).min
    # additive masks: 0 where attended, the dtype's minimum elsewhere (as transformers' eager path)
    blocked = (1.0 - question_mask[:, None, None, :].to(hidden.dtype)) * low
    steps = input_ids.shape[1]
    causal = None
    if steps > 1:
        causal = torch.full((steps, steps), low, dtype=hidden.dtype, device=hidden.device).triu(1)[None, None]
    for layer in bert.encoder.layer:
        attended, _ = layer.attention(hidden, attention_mask=causal)
        context_layer, _ = layer.crossattention.self(attended, encoder_hidden_states=question_states,
                                                     encoder_attention_mask=blocked)
        crossed = layer.crossattention.output(context_layer, attended)
        hidden = layer.feed_forward_chunk(crossed)
    return decoder.cls(hidden)


def greedy_decode(decoder: Any, start_id: int, question_states: Any, question_mask: Any, max_new_tokens: int,
                  eos_id: int, pad_id: int) -> Any:
    """Token ids [batch, 1 + generated] from ``start_id``, greedy, as ``generate(do_sample=False, num_beams=1)``.

    A row that has produced ``eos_id`` gets ``pad_id`` from then on; the loop ends when every row
    has, or after ``max_new_tokens``.
    """
    import torch

    n = question_states.shape[0]
    ids = torch.full((n, 1), start_id, dtype=torch.long, device=question_states.device)
    done = torch.zeros(n, dtype=torch.bool, device=ids.device)
    for _ in range(max_new_tokens):
        nxt = decoder_logits(decoder, ids, question_states, question_mask)[:, -1].argmax(dim=-1)
        nxt = torch.where(done, torch.full_like(nxt, pad_id), nxt)
        ids = torch.cat([ids, nxt[:, None]], dim=1)
        done |= nxt == eos_id
        if bool(done.all()):
            break
    return ids
