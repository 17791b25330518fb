"""Keep secrets out of files and logs: URLs, error bodies and log lines are redacted before use.

Secrets come from the environment only, but they leak back in by other ways: a token in
``base_url`` (``https://user:TOKEN@host/v1?api_key=...``) stored with the scorer options, a
server that echoes the key in a 401 body that becomes a record, an HTTP client logging the URL.
Everything stored or logged that can carry one passes through :func:`redact_text` /
:func:`redact_obj`; the CLI installs :class:`RedactingFilter` on its log handlers.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
#: environment variables whose values are treated as secrets wherever they appear
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH)", re.I)
#: query parameters that carry credentials
_SECRET_PARAM = re.compile(r"(key|token|secret|password|passwd|signature|sig|auth|credential)", re.I)
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>]+")
#: well-known token shapes (OpenAI/Anthropic-style keys, bearer headers, HF tokens)
_TOKEN_SHAPES = [
    re.compile(r"\b(?P<keep>)(?:sk|pk|rk)-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"\b(?P<keep>)hf_[A-Za-z0-9]{8,}"),
    re.compile(r"(?i)(?P<keep>bearer\s+)[A-Za-z0-9._\-~+/=]{8,}"),
    re.compile(r"(?i)(?P<keep>(?:api[_-]?key|token|secret|password)[\"']?\s*[:=]\s*[\"']?)[^\s\"',;&}]{6,}"),
]
_MIN_SECRET_LEN = 8


def env_secrets() -> list[str]:
    """Values of environment variables named like secrets (long enough to be worth matching)."""
    return sorted({v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v) >= _MIN_SECRET_LEN},
                  key=len, reverse=True)


def redact_url(url: str) -> str:
    """The URL without user:password@ and with credential-like query values masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if _SECRET_PARAM.search(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str, extra: list[str] | None = None) -> str:
    """``text`` with URLs cleaned, known secret values and token-shaped strings masked."""
    if not text:
        return text
    out = _URL.sub(lambda m: redact_url(m.group(0)), text)
    for secret in [*(extra or []), *env_secrets()]:
        if secret and len(secret) >= _MIN_SECRET_LEN:
            out = out.replace(secret, MASK)
    for pat in _TOKEN_SHAPES:
        out = pat.sub(lambda m: m.group("keep") + MASK, out)
    return out


def redact_obj(obj: Any) -> Any:
    """A copy of a JSON-like value with every string redacted."""
    if isinstance(obj, str):
        return redact_text(obj)
    if isinstance(obj, dict):
        return {k: redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact_obj(v) for v in obj]
    return obj


class RedactingFilter(logging.Filter):
    """Redacts every record's final message (args included) before a handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not hide the record
            return True
        clean = redact_text(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Put the filter on every handler of ``logger`` (the root by default)."""
    logger = logger or logging.getLogger()
    for handler in logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
