"""Static-shape Janus decode loops: the CFG image-token loop and the CoT text loop on
preallocated buffers, so that one decode step is a fixed sequence of kernels that can be
replayed from a CUDA graph or compiled.

Why: the eager loop (``janus_sampling``) grows the attention mask with ``torch.cat`` and runs
one Python-dispatched kernel at a time, so on a GPU a step costs the same at batch 1 and 16
(per-step overhead, not memory bandwidth). Here everything a step touches lives in a
``_State`` made once per shape: the whole-generation 2D attention mask (future columns already
1; the causal rule hides them), position ids and a step counter advanced in place, the static
KV cache, the per-row uniforms of the whole generation (drawn up front from each row's own
generator, exactly as the eager loop gets them) and the output buffer. The step samples on the
device (warpers + inverse-CDF) and never reads a value back to the host; the CoT loop checks
for EOS every ``eos_every`` steps.

Same tokens: the step calls the same modules with the same values as the eager loop (the
transformers mask built from a full-length 2D mask equals the one built from the grown mask),
so on CPU in float32 the tokens and logits are identical (tests/test_janus_static.py).

Modes (``compile``): ``none`` runs the step eagerly on the static buffers; ``graphs`` captures
it once per shape in a ``torch.cuda.CUDAGraph`` and replays it (CUDA only); ``inductor`` runs
it through ``torch.compile(fullgraph=True)`` (CPU or GPU). With ``graphs`` the cache length is
rounded up (``len_bucket``) so batches of similar prompt widths reuse one captured graph.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any, Callable, Sequence

import torch

from ..errors import ConfigError
from .janus_sampling import _cache_keyword, _language_model, _new_cache, cfg_logits, cfg_rows, left_pad, sample_rows

log = logging.getLogger(__name__)

COMPILE_MODES = ("auto", "none", "graphs", "inductor")


def resolve_compile(mode: str, device: str | torch.device) -> str:
    """``auto`` is ``graphs`` on CUDA and ``none`` elsewhere; ``graphs`` needs CUDA."""
    mode = str(mode).lower()
    if mode not in COMPILE_MODES:
        raise ConfigError(f"compile={mode!r} is not a decode mode; expected one of {', '.join(COMPILE_MODES)}")
    is_cuda = str(device).startswith("cuda")
    if mode == "auto":
        return "graphs" if is_cuda else "none"
    if mode == "graphs" and not is_cuda:
        raise ConfigError(f"compile=graphs captures CUDA graphs and needs a CUDA device, found {device}; "
                          "use compile=none or compile=inductor on CPU")
    return mode


def _round_up(n: int, k: int) -> int:
    return -(-n // k) * k


class _State:
    """Every buffer one decode step reads or writes, for one (rows, cache length, knobs) shape."""

    def __init__(self, model: Any, rows: int, out_rows: int, max_len: int, n_steps: int, fill: int) -> None:
        p = next(model.parameters())
        dev = p.device
        self.rows, self.max_len, self.n_steps = rows, max_len, n_steps
        self.kv = _new_cache(model, rows, max_len, "static")
        self.mask = torch.ones((rows, max_len), dtype=torch.long, device=dev)
        self.pos = torch.zeros((rows, 1), dtype=torch.long, device=dev)
        self.tok = torch.zeros((rows, 1), dtype=torch.long, device=dev)
        self.step = torch.zeros((1,), dtype=torch.long, device=dev)
        self.uniforms = torch.zeros((out_rows, n_steps), dtype=torch.float64, device=dev)
        self.out = torch.full((out_rows, n_steps), fill, dtype=torch.long, device=dev)
        self.done = torch.zeros((out_rows,), dtype=torch.bool, device=dev)
        self.fill = fill
        self.run: Callable[[], None] | None = None  # the (possibly captured/compiled) step
        self.graph: Any = None

    def reset(self, prompt_mask: torch.Tensor, uniforms: torch.Tensor) -> None:
        """Fresh state for a new batch (same shape): zero cache, this batch's mask and uniforms."""
        self.kv.reset()
        self.mask.fill_(1)
        self.mask[:, : prompt_mask.shape[1]].copy_(prompt_mask)
        self.uniforms.copy_(uniforms)
        self.out.fill_(self.fill)
        self.done.zero_()


class StaticDecoder:
    """Runs the static-shape loops for one model; keeps the states (and captured graphs) of
    the last ``keep`` shapes so consecutive batches reuse them.

    ``StaticDecoder(model, compile="none"|"graphs"|"inductor", len_bucket=None, keep=2)``
    """

    def __init__(self, model: Any, compile: str = "none", len_bucket: int | None = None, keep: int = 2,
                 eos_every: int = 16) -> None:
        p = next(model.parameters())
        self.model = model
        self.device = p.device
        self.mode = resolve_compile(compile, p.device)
        # graphs are captured per cache length, so lengths are bucketed to reuse them; without
        # graphs the cache is exactly as long as the eager loop's (identical arithmetic)
        self.len_bucket = len_bucket if len_bucket is not None else (128 if self.mode == "graphs" else 1)
        self.keep = keep
        self.eos_every = max(1, int(eos_every))
        self.lm = _language_model(model)
        self.ckw = _cache_keyword(self.lm)
        self._states: OrderedDict[tuple, _State] = OrderedDict()
        self._pool: Any = None
        self.captures = 0  # how many graphs were captured / steps compiled (tests, benchmarks)
        self.capture_failures = 0

    # ------------------------------------------------------------------ state cache

    def _state(self, key: tuple, make: Callable[[], _State]) -> tuple[_State, bool]:
        st = self._states.get(key)
        if st is not None:
            self._states.move_to_end(key)
            return st, False
        while len(self._states) >= self.keep:
            self._states.popitem(last=False)  # frees the old cache and graph
        st = make()
        self._states[key] = st
        return st, True

    def _lm(self, st: _State, embeds: torch.Tensor, mask: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        return self.lm(inputs_embeds=embeds, attention_mask=mask, position_ids=pos, use_cache=True,
                       **{self.ckw: st.kv}).last_hidden_state

    def _prepare(self, st: _State, step: Callable[[], None], new: bool) -> None:
        """Wrap ``step`` per the mode the first time a state is used. Warm-up steps run on
        the state before the real batch is loaded into it (``reset`` follows)."""
        if not new:
            return
        if self.mode == "none":
            st.run = step
        elif self.mode == "inductor":
            step()  # allocates the static cache outside the traced region (transformers' advice)
            st.run = torch.compile(step, fullgraph=True, dynamic=False)
            st.run()  # compile now (on throwaway state), not inside the timed batch
            self.captures += 1
        else:  # graphs
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(2):  # cuBLAS workspaces, lazy cache allocation, autotuning
                    step()
            torch.cuda.current_stream().wait_stream(side)
            if self._pool is None:
                self._pool = torch.cuda.graph_pool_handle()
            graph = torch.cuda.CUDAGraph()
            try:
                with torch.cuda.graph(graph, pool=self._pool):
                    step()
            except Exception as e:  # an op that cannot be captured (new torch/transformers)
                # Running the same step uncaptured on the same state launches the same kernels
                # on the same shapes (same tokens), only slower; the run goes on.
                log.warning("CUDA graph capture of the Janus decode step failed (%s: %s); running the static step "
                            "without graphs for this shape. --gen-option compile=none avoids the attempt.",
                            type(e).__name__, str(e)[:300])
                torch.cuda.synchronize()
                st.run = step
                self.capture_failures += 1
                return
            st.graph = graph
            st.run = graph.replay
            self.captures += 1

    # ------------------------------------------------------------------ image loop

    @torch.inference_mode()
    def image_tokens(
        self,
        prompts: Sequence[Sequence[int]],
        uniforms: torch.Tensor,
        *,
        pad_id: int,
        cfg_weight: float,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        num_image_tokens: int,
        cfg_dtype: str = "model",
    ) -> torch.Tensor:
        """Same contract and same tokens as ``janus_sampling.generate_image_tokens``."""
        model = self.model
        b = len(prompts)
        ids, mask, pos = cfg_rows(prompts, pad_id, self.device)
        width = ids.shape[1]
        max_len = _round_up(width, self.len_bucket) + num_image_tokens
        key = ("image", b, max_len, num_image_tokens, float(cfg_weight), float(temperature), int(top_k), float(top_p), cfg_dtype)
        st, new = self._state(key, lambda: _State(model, 2 * b, b, max_len, num_image_tokens, 0))
        head = model.model.generation_head
        embed_image = model.prepare_embeddings_for_image_generation

        def step() -> None:
            # one image token for every row, reading and writing only ``st``'s buffers
            embeds = embed_image(st.tok)
            hidden = self._lm(st, embeds, st.mask, st.pos)
            guided = cfg_logits(head(hidden[:, -1, :]), b, cfg_weight, cfg_dtype)
            u = st.uniforms.index_select(1, st.step).squeeze(1)
            token = sample_rows(guided, u, temperature, top_k, top_p)
            st.out.index_copy_(1, st.step, token.unsqueeze(1))
            st.tok.copy_(torch.cat([token, token]).unsqueeze(1))
            st.pos.add_(1)
            st.step.add_(1)

        self._prepare(st, step, new)
        st.reset(mask, uniforms.to(self.device))
        # prefill: exactly the eager loop's first call (variable width, never captured)
        hidden = self._lm(st, model.get_input_embeddings()(ids), mask, pos)
        guided = cfg_logits(head(hidden[:, -1, :]), b, cfg_weight, cfg_dtype)
        token = sample_rows(guided, st.uniforms[:, 0], temperature, top_k, top_p)
        st.out[:, 0] = token
        st.tok.copy_(torch.cat([token, token]).unsqueeze(1))
        st.pos.copy_(pos[:, -1:] + 1)
        st.step.fill_(1)
        for _ in range(num_image_tokens - 1):
            st.run()  # type: ignore[misc]
        return st.out.clone()

    # ------------------------------------------------------------------ CoT text loop

    @torch.inference_mode()
    def text(
        self,
        prompts: Sequence[Sequence[int]],
        uniforms: torch.Tensor,
        *,
        pad_id: int,
        eos_id: int,
        temperature: float = 1.0,
        top_k: int = 50,
        top_p: float = 1.0,
        max_new_tokens: int = 512,
    ) -> list[list[int]]:
        """Same contract and same tokens as ``janus_sampling.generate_text``. The host learns
        that every row has ended only every ``eos_every`` steps; the extra steps feed finished
        rows pads, exactly what the eager loop would have written after EOS."""
        model = self.model
        b = len(prompts)
        ids, mask, pos = left_pad(prompts, pad_id, self.device)
        width = ids.shape[1]
        max_len = _round_up(width, self.len_bucket) + max_new_tokens
        key = ("text", b, max_len, max_new_tokens, float(temperature), int(top_k), float(top_p), pad_id, eos_id)
        st, new = self._state(key, lambda: _State(model, b, b, max_len, max_new_tokens, pad_id))
        embed = model.get_input_embeddings()
        lm_head = model.lm_head

        def step() -> None:
            hidden = self._lm(st, embed(st.tok), st.mask, st.pos)
            logits = lm_head(hidden[:, -1, :]).float()
            u = st.uniforms.index_select(1, st.step).squeeze(1)
            token = sample_rows(logits, u, temperature, top_k, top_p)
            token = torch.where(st.done, torch.full_like(token, pad_id), token)
            st.out.index_copy_(1, st.step, token.unsqueeze(1))
            st.done.logical_or_(token == eos_id)
            st.tok.copy_(token.unsqueeze(1))
            st.pos.add_(1)
            st.step.add_(1)

        self._prepare(st, step, new)
        st.reset(mask, uniforms.to(self.device))
        hidden = self._lm(st, embed(ids), mask, pos)
        token = sample_rows(lm_head(hidden[:, -1, :]).float(), st.uniforms[:, 0], temperature, top_k, top_p)
        st.out[:, 0] = token
        st.done.copy_(token == eos_id)
        st.tok.copy_(token.unsqueeze(1))
        st.pos.copy_(pos[:, -1:] + 1)
        st.step.fill_(1)
        steps = 1
        while steps < max_new_tokens:
            if steps % self.eos_every == 1 % self.eos_every and bool(st.done.all()):
                break  # one host sync every eos_every steps
            st.run()  # type: ignore[misc]
            steps += 1
        result: list[list[int]] = []
        for row in st.out.tolist():
            if eos_id in row:
                row = row[: row.index(eos_id) + 1]
            result.append(row)
        return result
