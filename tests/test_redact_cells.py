"""Redaction of secrets and escaping of table cells (the helpers every writer uses)."""

from __future__ import annotations

import logging

from t2ir1_eval.redact import RedactingFilter, redact_obj, redact_text, redact_url
from t2ir1_eval.report.cells import csv_cell, md_cell


def test_url_credentials_and_query_tokens_are_masked():
    assert redact_url("http://user:tok@127.0.0.1:18001/v1?api_key=XYZ&x=1") == "http://***@127.0.0.1:18001/v1?api_key=***&x=1"
    assert redact_url("https://api.openai.com/v1") == "https://api.openai.com/v1"


def test_env_secret_and_token_shapes_are_masked(monkeypatch):
    monkeypatch.setenv("MY_JUDGE_TOKEN", "tok-1234567890abcdef")
    text = 'bad key tok-1234567890abcdef, Authorization: Bearer abc.def.ghijkl {"api_key": "zzzzzzzzz"} sk-proj-abcdefghijk'
    out = redact_text(text)
    for secret in ("tok-1234567890abcdef", "abc.def.ghijkl", "zzzzzzzzz", "sk-proj-abcdefghijk"):
        assert secret not in out
    assert redact_obj({"a": [text], "n": 1}) == {"a": [out], "n": 1}
    assert redact_text("threshold=0.5 at http://127.0.0.1:8000/v1") == "threshold=0.5 at http://127.0.0.1:8000/v1"


def test_log_filter_redacts_formatted_messages(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-abcdefghij")
    rec = logging.LogRecord("x", logging.INFO, __file__, 1, "calling %s with %s", ("http://u:p4ssw0rd@h/v1",
                                                                                 "sk-secret-abcdefghij"), None)
    assert RedactingFilter().filter(rec)
    assert rec.getMessage() == "calling http://***@h/v1 with ***"


def test_cells_cannot_break_rows_or_run_formulas():
    assert md_cell("a|b\nc<script>") == "a\\|b c&lt;script&gt;"
    assert csv_cell('=HYPERLINK("x")') == "'=HYPERLINK(\"x\")"
    assert csv_cell("-0.5") == "-0.5" and csv_cell(0.25) == 0.25 and csv_cell("+cmd") == "'+cmd"
