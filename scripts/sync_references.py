"""Re-sync results/references.csv from ../shared/references/published_results.csv.

Rows whose source says "derived" (e.g. T2I-CompBench's 6-column mean) are dropped: the tool
computes derived aggregates itself from the per-category rows (suite YAML `derived:`), so a
hand-typed one can never drift from its parts again.
Usage: python scripts/sync_references.py [SRC] [DST]
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(src: Path, dst: Path) -> int:
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
    # line by line (one record a line) so the kept rows stay byte-identical to the source
    rows = [(line, next(csv.DictReader(io.StringIO(lines[0] + line)))) for line in lines[1:] if line.strip()]
    kept = [line for line, r in rows if not r["source"].strip().lower().startswith("derived")]
    tmp = dst.with_name(f".{dst.name}.tmp")
    tmp.write_text(lines[0] + "".join(kept), encoding="utf-8")
    tmp.replace(dst)
    print(f"wrote {dst}: {len(kept)} rows ({len(rows) - len(kept)} derived rows left to the tool)")
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    src = Path(args[0]) if args else REPO.parent / "shared" / "references" / "published_results.csv"
    dst = Path(args[1]) if len(args) > 1 else REPO / "results" / "references.csv"
    sys.exit(main(src, dst))
