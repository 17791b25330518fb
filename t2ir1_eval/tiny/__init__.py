"""Tiny random-weight models built from the real architectures' configs.

Used by tests and by offline smoke runs (``make demo``) where no hub weights can be
downloaded. Their scores mean nothing and every table that shows them says so.
"""
