"""Open every page of an HTML report in headless Chromium: no console errors, every <img> loads.

    python scripts/check_report_browser.py results/runs/demo/leaderboards [--screenshots DIR]

Exit 1 naming the page and the problem; exit 2 if Chromium is missing (apt-get install -y chromium).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser import ALL_IMAGES_LOADED, Browser, find_chromium  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report_dir", type=Path)
    ap.add_argument("--screenshots", type=Path, help="write a PNG of each page here")
    args = ap.parse_args()
    pages = sorted(args.report_dir.glob("*.html")) + sorted((args.report_dir / "runs").glob("*.html"))
    if not pages:
        print(f"no HTML pages under {args.report_dir}: expected index.html (t2ir1-eval report --html)", file=sys.stderr)
        return 1
    binary = find_chromium()
    if binary is None:
        print("chromium not found on PATH: apt-get install -y chromium", file=sys.stderr)
        return 2
    bad = 0
    with Browser(binary) as b:
        for page in pages:
            b.open(page.resolve().as_uri())
            errors, imgs = b.errors(), b.eval(ALL_IMAGES_LOADED)
            if errors or imgs["broken"] or not imgs["n"]:
                bad += 1
                print(f"FAIL {page}: {len(errors)} console/load error(s) {errors[:3]}; "
                      f"{len(imgs['broken'])} of {imgs['n']} images not loaded {imgs['broken'][:3]}", file=sys.stderr)
            else:
                print(f"ok   {page}: {imgs['n']} images, no console errors")
            if args.screenshots:
                args.screenshots.mkdir(parents=True, exist_ok=True)
                b.screenshot(args.screenshots / f"{page.stem}.png")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
