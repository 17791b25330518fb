"""Static HTML report: a leaderboard page per report, one page per run, a compare page.

Self-contained: no CDN, no server, no network at view time (plots are SVG data URIs, the
little JavaScript and CSS are inline); images are linked by relative paths into the run
directories, thumbnails are cached beside each run (``<run>/thumbs``). Every text that came
from a model, a judge or a file goes through Jinja2 with autoescaping on.
"""

from .pages import write_compare_page, write_leaderboard_page, write_run_page

__all__ = ["write_compare_page", "write_leaderboard_page", "write_run_page"]
