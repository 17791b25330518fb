"""Offline tokenizers for tiny models: trained in memory on a small corpus, no hub access."""

from __future__ import annotations

from typing import Iterable

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

#: enough English for a byte-level BPE to cover every benchmark prompt (byte fallback does the rest)
CORPUS = [
    "a photo of a red apple and a blue bench on the left of a green dog",
    "You are a helpful assistant that receives an image prompt and generate a visualization of the prompt.",
    "User: Assistant: Provide a brief, precise visualization of all elements in the prompt.",
    "yes no what is the color shape texture of the object? is there a cat in the image",
    "Consistency: 2 Realism: 1 Aesthetic Quality: 0 Score: 1",
    "The quick brown fox jumps over the lazy dog 0123456789 .,;:!?'\"()[]{}-_/",
]


def byte_level_bpe(
    special_tokens: list[str],
    bos: str | None = None,
    eos: str | None = None,
    vocab_size: int = 400,
    corpus: Iterable[str] = CORPUS,
) -> Tokenizer:
    """A byte-level BPE (Llama/CLIP-like); ``bos``/``eos`` are added around single sequences."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(corpus), trainer=trainer)
    if bos or eos:
        single = " ".join(t for t in (f"{bos}:0" if bos else None, "$A:0", f"{eos}:0" if eos else None) if t)
        pair = " ".join(t for t in (f"{bos}:0" if bos else None, "$A:0", "$B:1", f"{eos}:1" if eos else None) if t)
        tok.post_processor = processors.TemplateProcessing(
            single=single,
            pair=pair,
            special_tokens=[(t, tok.token_to_id(t)) for t in (bos, eos) if t],
        )
    return tok


def bert_wordpiece(extra_words: Iterable[str] = ()) -> Tokenizer:
    """An uncased BERT-style WordPiece with [PAD]=0 [UNK] [CLS] [SEP] [MASK] [DEC] [ENC]."""
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]", "[ENC]"]
    words: list[str] = []
    for line in list(CORPUS) + list(extra_words):
        for w in pre_tokenizers.BertPreTokenizer().pre_tokenize_str(line.lower()):
            if w[0] not in words:
                words.append(w[0])
    letters = sorted({c for w in words for c in w})
    vocab = {t: i for i, t in enumerate(specials + words + [f"##{c}" for c in letters] + [c for c in letters if c not in words])}
    tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    return tok
