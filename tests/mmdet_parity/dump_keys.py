"""Regenerate tests/mmdet_parity/mmdet_state_keys.json: mmdet 3.3's Mask2Former state-dict keys and shapes
(GenEval's Swin-S and the tiny variant), so the main venv can check the converter's coverage
without mmdet. Run in the mmdet venv:  /work/mmdet-venv/bin/python tests/mmdet_parity/dump_keys.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]

from mmdet_models import mmdet_model  # noqa: E402


def main() -> None:
    out = {}
    for name, tiny in (("swin_s", False), ("tiny", True)):
        model, _ = mmdet_model(tiny=tiny, peaked=False)
        out[name] = {k: list(v.shape) for k, v in model.state_dict().items()}
    (HERE / "mmdet_state_keys.json").write_text(json.dumps(out, indent=0, sort_keys=True) + "\n")
    print({k: len(v) for k, v in out.items()})


if __name__ == "__main__":
    main()
