"""A tiny random-weight BLIP VQA model with an offline WordPiece tokenizer.

Built from the real architecture (``BlipForQuestionAnswering`` + ``BlipProcessor``), so code
written against ``Salesforce/blip-vqa-*`` runs unchanged on it; its answers mean nothing.
Used by DPG-Bench's in-process VQA backend and by T2I-CompBench's BLIP-VQA scorer in tests and
offline smoke runs.
"""

from __future__ import annotations

from typing import Any, Iterable

#: words every VQA tokenizer here knows, so "yes"/"no" are single tokens (P(yes) needs that)
VQA_WORDS = ("yes", "no", "is there a the in image are on of left right red blue green")


def tiny_blip_vqa(
    image_size: int = 32,
    seed: int = 0,
    extra_words: Iterable[str] = (),
    hidden_size: int = 32,
    patch_size: int = 8,
    yes_no_bias: float = 0.0,
    vision_layer_norm_eps: float = 1e-5,
) -> tuple[Any, Any]:
    """Return ``(model, processor)``: a deterministic (per ``seed``) tiny BLIP VQA in eval mode.

    ``image_size`` is the square side the processor resizes every image to (it must be a
    multiple of ``patch_size``); ``extra_words`` adds whole words to the vocabulary (e.g. the
    benchmark's questions) so they are not split into letters. ``yes_no_bias`` > 0 raises the
    decoder's output bias of "yes", "no" and [SEP], so that generated answers are mostly a bare
    "yes" or "no" (smoke runs then exercise yes/no rules instead of scoring random tokens as 0).
    """
    import torch
    from transformers import (
        BertTokenizerFast,
        BlipConfig,
        BlipForQuestionAnswering,
        BlipProcessor,
    )

    try:  # without torchvision, transformers falls back to the PIL processor anyway (and warns)
        from transformers import BlipImageProcessorPil as BlipImageProcessor
    except ImportError:  # pragma: no cover - older transformers
        from transformers import BlipImageProcessor

    from .tokenizers import bert_wordpiece

    if image_size % patch_size:
        raise ValueError(f"tiny BLIP: image_size must be a multiple of patch_size={patch_size}, found {image_size}")
    backend = bert_wordpiece(list(VQA_WORDS) + list(extra_words))
    vocab = backend.get_vocab()
    tokenizer = BertTokenizerFast(
        tokenizer_object=backend,
        bos_token="[DEC]",
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=64,
    )
    heads = 4
    config = BlipConfig(
        text_config=dict(
            vocab_size=len(vocab),
            hidden_size=hidden_size,
            intermediate_size=2 * hidden_size,
            num_hidden_layers=2,
            num_attention_heads=heads,
            encoder_hidden_size=hidden_size,
            max_position_embeddings=64,
            pad_token_id=vocab["[PAD]"],
            bos_token_id=vocab["[DEC]"],
            sep_token_id=vocab["[SEP]"],
            eos_token_id=vocab["[SEP]"],
        ),
        vision_config=dict(
            hidden_size=hidden_size,
            intermediate_size=2 * hidden_size,
            num_hidden_layers=2,
            num_attention_heads=heads,
            image_size=image_size,
            patch_size=patch_size,
            layer_norm_eps=vision_layer_norm_eps,  # 1e-6 is BLIP's own ViT (the conversion tests)
        ),
        projection_dim=16,
    )
    # the same weights for the same seed, whatever the caller did to the global RNG before
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = BlipForQuestionAnswering(config).eval()
    if yes_no_bias:
        bias = model.text_decoder.cls.predictions.bias
        with torch.no_grad():
            for word in ("yes", "no", "[SEP]"):
                bias[vocab[word]] += yes_no_bias
    image_processor = BlipImageProcessor(
        size={"height": image_size, "width": image_size},
        do_resize=True,
        do_rescale=True,
        do_normalize=True,
    )
    processor = BlipProcessor(image_processor=image_processor, tokenizer=tokenizer)
    return model, processor
