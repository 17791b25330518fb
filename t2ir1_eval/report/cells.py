"""Escaping of table cells for the format they are written in.

A model name reported by a judge server, a run folder or a prompt can hold anything: a ``|`` or
a newline breaks a markdown row, and a cell starting with ``=`` (``=HYPERLINK(...)``), ``+``,
``-``, ``@`` or a tab runs as a formula when a CSV is opened in a spreadsheet. Every cell of
every table goes through one of these before it is written (the renderers of other tables
reuse them).
"""

from __future__ import annotations

import re
from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def md_cell(value: Any) -> str:
    """One markdown table cell: one line, ``|`` escaped, no raw HTML (renderers would run it)."""
    text = "" if value is None else str(value)
    text = _CONTROL.sub(" ", text.replace("\r\n", " ").replace("\n", " ").replace("\r", " "))
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def csv_cell(value: Any) -> Any:
    """One CSV cell: numbers pass; a text that a spreadsheet would run as a formula is quoted with '."""
    if value is None or isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = _CONTROL.sub(" ", str(value).replace("\r\n", " ").replace("\n", " ").replace("\r", " "))
    if text.startswith(_FORMULA_START) and not _is_number(text):
        text = "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False
