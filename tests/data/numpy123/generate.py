"""Regenerate the numpy-1.23 reference tables (run with numpy 1.23.5, the official evaluators' numpy).

    python3.11 -m venv /tmp/np123 && /tmp/np123/bin/pip install numpy==1.23.5
    /tmp/np123/bin/python tests/data/numpy123/generate.py

argsort.json: ``np.argsort(scores)`` (default kind, float32: GenEval's ``bbox[:, 4]`` column) on
arrays with many ties, sizes 1-100 plus a few larger and adversarial ones. Scores are stored as
integers k meaning float32(k / 8) (exact in JSON); NaN as null.
mean.json: ``np.mean(list)`` and ``np.sum(list)`` (float64 pairwise summation) of lists drawn by
Python's ``random.Random(seed).random()`` (stable across Python versions), as float.hex().
"""

import json
import random
import sys
from pathlib import Path

import numpy as np

assert np.__version__ == "1.23.5", f"expected numpy 1.23.5, found {np.__version__}"
HERE = Path(__file__).parent


def argsort_cases():
    rng = random.Random(1234)
    cases = []
    for n in range(1, 101):
        for distinct in (1, 2, max(2, n // 4)):
            cases.append([rng.randrange(distinct) for _ in range(n)])
    for n in (17, 18, 33, 64, 100, 150, 257, 400):
        cases.append(list(range(n)))                      # sorted
        cases.append(list(range(n, 0, -1)))               # reversed
        cases.append([min(i, n - i) for i in range(n)])   # organ pipe
        cases.append([i % 3 for i in range(n)])           # sawtooth
        cases.append([rng.randrange(5) for _ in range(n)])
    for n in (5, 17, 40):  # NaN goes last in numpy's float order
        cases.append([None if rng.random() < 0.2 else rng.randrange(4) for _ in range(n)])
    out = []
    for ks in cases:
        arr = np.array([np.nan if k is None else k / 8 for k in ks], dtype=np.float32)
        out.append({"k": ks, "argsort": np.argsort(arr).tolist()})
    return out


def mean_cases():
    out = []
    sizes = list(range(1, 40)) + [63, 64, 65, 127, 128, 129, 130, 255, 256, 257, 300, 1000, 1064, 1065, 3000, 5000]
    for seed, n in enumerate(sizes):
        rng = random.Random(seed)
        values = [rng.random() for _ in range(n)]
        out.append({"seed": seed, "n": n, "ints": False, "mean": float(np.mean(values)).hex(),
                    "sum": float(np.sum(values)).hex()})
    for seed, n in enumerate((9, 300, 3000), start=100):  # 3D's score list mixes int 0 with floats
        rng = random.Random(seed)
        values = [0 if rng.random() < 0.3 else rng.random() for _ in range(n)]
        out.append({"seed": seed, "n": n, "ints": True, "mean": float(np.mean(values)).hex(),
                    "sum": float(np.sum(values)).hex()})
    return out


if __name__ == "__main__":
    meta = {"numpy": np.__version__, "python": sys.version.split()[0]}
    (HERE / "argsort.json").write_text(json.dumps({**meta, "cases": argsort_cases()}, separators=(",", ":")) + "\n")
    (HERE / "mean.json").write_text(json.dumps({**meta, "cases": mean_cases()}, indent=0) + "\n")
