"""Presentation, kept apart from computation: tables are rebuilt from stored summaries."""
