"""Independent references for the Janus tests and benchmarks (not a test module).

- ``deepseek_loop``: a straight port of DeepSeek's ``generation_inference.py`` image loop
  (interleaved cond/uncond rows, ``tokens[1:-1] = pad``, no attention mask, one prompt).
- ``OriginalJanus``: DeepSeek-semantics forward passes written directly on an original-layout
  state dict (``gen_vision_model.decoder.conv_blocks...``, fused SigLIP ``qkv``), so a wrong
  key mapping shows up as different numbers, not only as different names.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F


@torch.inference_mode()
def deepseek_loop(
    lm_model: Any,
    embed_tokens: Callable[[torch.Tensor], torch.Tensor],
    gen_head: Callable[[torch.Tensor], torch.Tensor],
    prepare_gen_img_embeds: Callable[[torch.Tensor], torch.Tensor],
    input_ids: list[int],
    *,
    pad_id: int,
    parallel_size: int = 1,
    cfg_weight: float = 5.0,
    temperature: float = 1.0,
    image_token_num: int = 576,
    greedy: bool = False,
) -> torch.Tensor:
    tokens = torch.zeros((parallel_size * 2, len(input_ids)), dtype=torch.long)
    for i in range(parallel_size * 2):
        tokens[i, :] = torch.tensor(input_ids)
        if i % 2 != 0:
            tokens[i, 1:-1] = pad_id
    inputs_embeds = embed_tokens(tokens)
    generated = torch.zeros((parallel_size, image_token_num), dtype=torch.long)
    import inspect

    ckw = "cache" if "cache" in inspect.signature(lm_model.forward).parameters else "past_key_values"
    cache = None
    for i in range(image_token_num):
        outputs = lm_model(inputs_embeds=inputs_embeds, use_cache=True, **{ckw: cache})
        cache = getattr(outputs, ckw)
        logits = gen_head(outputs.last_hidden_state[:, -1, :])
        logit_cond, logit_uncond = logits[0::2, :], logits[1::2, :]
        logits = logit_uncond + cfg_weight * (logit_cond - logit_uncond)
        if greedy:
            next_token = logits.argmax(dim=-1, keepdim=True)
        else:
            next_token = torch.multinomial(torch.softmax(logits / temperature, dim=-1), num_samples=1)
        generated[:, i] = next_token.squeeze(dim=-1)
        next_token = torch.cat([next_token.unsqueeze(dim=1), next_token.unsqueeze(dim=1)], dim=1).view(-1)
        inputs_embeds = prepare_gen_img_embeds(next_token).unsqueeze(dim=1)
    return generated


class OriginalJanus:
    """Forward passes on an original (DeepSeek) Janus state dict, float32."""

    def __init__(self, sd: dict[str, torch.Tensor], vision_heads: int, vq_levels: int, vq_res_blocks: int) -> None:
        self.sd = {k: v.float() for k, v in sd.items()}
        self.vision_heads = vision_heads
        self.levels = vq_levels
        self.n_res = vq_res_blocks

    def _lin(self, x: torch.Tensor, p: str) -> torch.Tensor:
        return F.linear(x, self.sd[p + ".weight"], self.sd.get(p + ".bias"))

    def _mlp_projector(self, x: torch.Tensor, p: str) -> torch.Tensor:  # MlpProjector mlp_gelu depth 2
        return self._lin(F.gelu(self._lin(x, p + ".layers.0")), p + ".layers.2")

    # generation path
    def prepare_gen_img_embeds(self, ids: torch.Tensor) -> torch.Tensor:
        return self._mlp_projector(self.sd["gen_embed.weight"][ids], "gen_aligner")

    def gen_head(self, h: torch.Tensor) -> torch.Tensor:
        return self._lin(F.gelu(self._lin(h, "gen_head.output_mlp_projector")), "gen_head.vision_head")

    # VQ-16 decoder (janus/models/vq_model.py semantics)
    def _gn(self, x: torch.Tensor, p: str) -> torch.Tensor:
        return F.group_norm(x, 32, self.sd[p + ".weight"], self.sd[p + ".bias"], eps=1e-6)

    def _conv(self, x: torch.Tensor, p: str, pad: int) -> torch.Tensor:
        return F.conv2d(x, self.sd[p + ".weight"], self.sd[p + ".bias"], padding=pad)

    def _res(self, x: torch.Tensor, p: str) -> torch.Tensor:
        h = self._gn(x, p + ".norm1")
        h = self._conv(h * torch.sigmoid(h), p + ".conv1", 1)
        h = self._gn(h, p + ".norm2")
        h = self._conv(h * torch.sigmoid(h), p + ".conv2", 1)
        if p + ".nin_shortcut.weight" in self.sd:
            x = self._conv(x, p + ".nin_shortcut", 0)
        return x + h

    def _attn(self, x: torch.Tensor, p: str) -> torch.Tensor:
        h = self._gn(x, p + ".norm")
        q, k, v = (self._conv(h, f"{p}.{n}", 0) for n in "qkv")
        b, c, hh, ww = q.shape
        w = torch.softmax(torch.bmm(q.reshape(b, c, -1).permute(0, 2, 1), k.reshape(b, c, -1)) * c**-0.5, dim=2)
        o = torch.bmm(v.reshape(b, c, -1), w.permute(0, 2, 1)).reshape(b, c, hh, ww)
        return x + self._conv(o, p + ".proj_out", 0)

    def decode_code(self, codes: torch.Tensor, side: int) -> torch.Tensor:
        p = "gen_vision_model."
        emb = F.normalize(self.sd[p + "quantize.embedding.weight"], p=2, dim=-1)[codes]
        z = emb.reshape(codes.shape[0], side, side, emb.shape[-1]).permute(0, 3, 1, 2)
        h = self._conv(z, p + "post_quant_conv", 0)
        h = self._conv(h, p + "decoder.conv_in", 1)
        h = self._res(h, p + "decoder.mid.0")
        h = self._attn(h, p + "decoder.mid.1")
        h = self._res(h, p + "decoder.mid.2")
        for i in range(self.levels):
            blk = f"{p}decoder.conv_blocks.{i}"
            for j in range(self.n_res + 1):
                h = self._res(h, f"{blk}.res.{j}")
                if f"{blk}.attn.{j}.q.weight" in self.sd:
                    h = self._attn(h, f"{blk}.attn.{j}")
            if i != self.levels - 1:
                h = self._conv(F.interpolate(h, scale_factor=2.0, mode="nearest"), blk + ".upsample.conv", 1)
        h = self._gn(h, p + "decoder.norm_out")
        return self._conv(h * torch.sigmoid(h), p + "decoder.conv_out", 1)

    # SigLIP tower (timm VisionTransformer, no class token, final norm) + aligner
    def image_features(self, pixels: torch.Tensor) -> torch.Tensor:
        p = "vision_model.vision_tower."
        w = self.sd[p + "patch_embed.proj.weight"]
        x = F.conv2d(pixels, w, self.sd[p + "patch_embed.proj.bias"], stride=w.shape[-1])
        x = x.flatten(2).transpose(1, 2) + self.sd[p + "pos_embed"]
        n_blocks = len({k.split(".")[3] for k in self.sd if k.startswith(p + "blocks.")})
        for i in range(n_blocks):
            bp = f"{p}blocks.{i}."
            h = F.layer_norm(x, x.shape[-1:], self.sd[bp + "norm1.weight"], self.sd[bp + "norm1.bias"], eps=1e-6)
            b, n, c = h.shape
            qkv = self._lin(h, bp + "attn.qkv").reshape(b, n, 3, self.vision_heads, c // self.vision_heads).permute(2, 0, 3, 1, 4)
            q, k, v = qkv.unbind(0)
            a = torch.softmax(q @ k.transpose(-2, -1) * (c // self.vision_heads) ** -0.5, dim=-1) @ v
            x = x + self._lin(a.transpose(1, 2).reshape(b, n, c), bp + "attn.proj")
            h = F.layer_norm(x, x.shape[-1:], self.sd[bp + "norm2.weight"], self.sd[bp + "norm2.bias"], eps=1e-6)
            x = x + self._lin(F.gelu(self._lin(h, bp + "mlp.fc1")), bp + "mlp.fc2")
        x = F.layer_norm(x, x.shape[-1:], self.sd[p + "norm.weight"], self.sd[p + "norm.bias"], eps=1e-6)
        return self._mlp_projector(x, "aligner")
