"""A tiny random-weight FLUX.1 pipeline (diffusers' FluxPipeline) built offline.

Same classes as FLUX.1-dev/schnell (FluxTransformer2DModel, AutoencoderKL, CLIPTextModel,
T5EncoderModel, FlowMatchEulerDiscreteScheduler), sizes in the spirit of diffusers' own
pipeline tests; tokenizers are in-memory BPEs. Deterministic given ``seed``.
"""

from __future__ import annotations

from typing import Any

import torch

#: generation defaults that keep a tiny run well under a second on CPU
TINY_FLUX_DEFAULTS: dict[str, Any] = {
    "num_inference_steps": 2,
    "guidance_scale": 3.5,
    "max_sequence_length": 16,
    "height": 16,
    "width": 16,
}


def _tokenizers() -> tuple[Any, Any]:
    from transformers import PreTrainedTokenizerFast

    from .tokenizers import byte_level_bpe

    clip_raw = byte_level_bpe(["<|startoftext|>", "<|endoftext|>"], bos="<|startoftext|>", eos="<|endoftext|>", vocab_size=300)
    clip = PreTrainedTokenizerFast(
        tokenizer_object=clip_raw,
        bos_token="<|startoftext|>",
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        model_max_length=77,
    )
    t5_raw = byte_level_bpe(["<pad>", "</s>", "<unk>"], eos="</s>", vocab_size=300)
    t5 = PreTrainedTokenizerFast(tokenizer_object=t5_raw, eos_token="</s>", pad_token="<pad>", unk_token="<unk>", model_max_length=512)
    return clip, t5


def build_tiny_flux(seed: int = 0) -> Any:
    """A ``FluxPipeline`` with random tiny components, float32 on CPU."""
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    from transformers import CLIPTextConfig, CLIPTextModel, T5Config, T5EncoderModel

    clip_tok, t5_tok = _tokenizers()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        transformer = FluxTransformer2DModel(
            patch_size=1,
            in_channels=4,  # 1 latent channel packed 2x2
            num_layers=1,
            num_single_layers=1,
            attention_head_dim=16,
            num_attention_heads=2,
            joint_attention_dim=32,
            pooled_projection_dim=32,
            guidance_embeds=True,  # as FLUX.1-dev (schnell has none; the pipeline handles both)
            axes_dims_rope=[4, 4, 8],
        )
        text_encoder = CLIPTextModel(
            CLIPTextConfig(
                vocab_size=len(clip_tok),
                hidden_size=32,
                intermediate_size=37,
                num_attention_heads=4,
                num_hidden_layers=2,
                projection_dim=32,
                max_position_embeddings=77,
                bos_token_id=clip_tok.bos_token_id,
                eos_token_id=clip_tok.eos_token_id,
                pad_token_id=clip_tok.pad_token_id,
            )
        )
        text_encoder_2 = T5EncoderModel(
            T5Config(
                vocab_size=len(t5_tok),
                d_model=32,
                d_kv=8,
                d_ff=37,
                num_layers=2,
                num_heads=4,
                pad_token_id=t5_tok.pad_token_id,
                eos_token_id=t5_tok.eos_token_id,
                decoder_start_token_id=t5_tok.pad_token_id,
            )
        )
        vae = AutoencoderKL(
            sample_size=32,
            in_channels=3,
            out_channels=3,
            block_out_channels=(4,),
            layers_per_block=1,
            latent_channels=1,
            norm_num_groups=1,
            use_quant_conv=False,
            use_post_quant_conv=False,
            shift_factor=0.0609,
            scaling_factor=1.5035,
        )
    pipe = FluxPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=vae.eval(),
        text_encoder=text_encoder.eval(),
        tokenizer=clip_tok,
        text_encoder_2=text_encoder_2.eval(),
        tokenizer_2=t5_tok,
        transformer=transformer.eval(),
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe
