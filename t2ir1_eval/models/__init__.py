"""Shared scorer models used by several suites (CLIP for GenEval colours and CLIPScore)."""
