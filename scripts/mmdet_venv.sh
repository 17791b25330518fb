#!/usr/bin/env bash
# Build the optional second venv for the GenEval `mmdet` backend and the
# mmdet<->transformers parity test (tests/mmdet_parity/).
#
# Usage: bash scripts/mmdet_venv.sh VENV_DIR [PYTHON]
#
# Why a second venv: mmcv 2.1.0 is sdist-only; it must be compiled against the
# exact torch in the venv, and its setup.py still imports pkg_resources, so it
# needs setuptools<81 and --no-build-isolation (the isolated build env would
# not see torch). The C++ ops build takes ~10-15 minutes on 2 cores; pip keeps
# the resulting wheel in its wheel cache, so a second run on the same machine
# (same Python, same torch) reinstalls it in seconds.
# torchvision is never installed: mmdet 3.3 / mmcv 2.1 do not need it and a
# CPU torch + PyPI torchvision breaks transformers here.
#
# MMCV_LITE=1 (CPU parity tests only, ~3 minutes): installs mmcv-lite 2.1.0 (the same Python
# code, no compiled ops) plus a stub mmcv/_ext.py whose every symbol raises when called.
# mmcv.ops only checks at import that the symbols exist; on CPU mmdet's Mask2Former uses the
# pure-PyTorch deformable attention, so a run that completes used no compiled op. Never use
# it for real scoring on a GPU (the CUDA path needs the compiled ops).
set -euo pipefail

VENV="${1:?usage: $0 VENV_DIR [PYTHON]}"
PY="${2:-python3.11}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
export MAX_JOBS="${MAX_JOBS:-2}"

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
PIP="$VENV/bin/pip"

# A constraints file that makes any attempt to pull torchvision fail loudly.
CONSTRAINTS="$(mktemp)"
trap 'rm -f "$CONSTRAINTS"' EXIT
printf 'torch==%s\ntorchvision<0\n' "$TORCH_VERSION" > "$CONSTRAINTS"

"$PIP" install -q -c "$CONSTRAINTS" "torch==$TORCH_VERSION" "setuptools<81" wheel numpy ninja
if [ "${MMCV_LITE:-0}" = "1" ]; then
  "$PIP" install -q -c "$CONSTRAINTS" mmcv-lite==2.1.0
  SITE="$("$VENV/bin/python" -c 'import mmcv, os; print(os.path.dirname(mmcv.__file__))')"
  cat > "$SITE/_ext.py" <<'STUB'
"""STUB written by scripts/mmdet_venv.sh (MMCV_LITE=1): mmcv-lite has no compiled ops.
Every symbol exists (mmcv.ops checks that at import) and raises when called."""


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)

    def _missing(*args, **kwargs):
        raise NotImplementedError(f"mmcv._ext.{name}: a compiled mmcv op was called, but this venv has "
                                  f"mmcv-lite + a stub (MMCV_LITE=1); build the full mmcv for this")

    return _missing
STUB
else
  # The slow step (cached as a wheel by pip after the first build).
  "$PIP" install -c "$CONSTRAINTS" --no-build-isolation mmcv==2.1.0
fi
"$PIP" install -q -c "$CONSTRAINTS" mmengine==0.10.7 mmdet==3.3.0
# The parity test also runs our transformers model in this venv.
"$PIP" install -q -c "$CONSTRAINTS" transformers==5.24.0 scipy==1.17.1 safetensors pillow pytest tqdm click pyyaml

"$VENV/bin/python" - <<'PY'
import importlib.util as u
assert u.find_spec("torchvision") is None, "torchvision must not be installed in the mmdet venv"
import mmcv, mmdet, mmengine
from mmcv.ops import MultiScaleDeformableAttention  # noqa: F401  (needs the compiled ops)
lite = "(mmcv-lite + stub ops)" if not hasattr(mmcv, "_ext") or "STUB" in (mmcv._ext.__doc__ or "") else ""
print(f"mmdet venv ready: mmcv {mmcv.__version__} {lite}, mmdet {mmdet.__version__}, mmengine {mmengine.__version__}")
PY
