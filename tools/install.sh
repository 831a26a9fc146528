#!/usr/bin/env bash
# Create .venv/ at the repo root and install mdn with every dependency, pinned.
#
# Usage: bash tools/install.sh
# Users with a GPU: install the CUDA build of torch 2.13 and, for the mmdet detector, full
#   mmcv built for it (see docs/install.md) before or instead of the CPU pins below.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=".venv/bin/python -m pip"
$PIP install --quiet --upgrade "pip>=24" wheel
# torch first, pinned: a bare 'torch' requirement would pull a multi-GB CUDA build.
$PIP install --quiet torch==2.13.0
$PIP install --quiet -r requirements/runtime.txt
$PIP install --quiet -r requirements/pose.txt -r requirements/tests.txt
# xtcocotools has no numpy-2 wheel: build it against the installed numpy. --no-binary matters:
# PyPI's cp311 wheel is built against numpy 1.x and fails at import ("numpy.dtype size changed").
$PIP install --quiet cython==3.1.2
$PIP install --quiet --no-build-isolation --no-binary xtcocotools xtcocotools==1.14.3
# mmpose/mmdet declare chumpy and torchvision; mediapipe declares opencv-contrib and numpy<2;
# openmim declares opendatalab, which pins setuptools 60 (mmengine needs >=77).
$PIP install --quiet --no-deps mmpose==1.3.2 mmdet==3.3.0 mediapipe==0.10.21 openmim==0.3.9
# mdn itself (a regular install: mim finds tools/ and configs/ in site-packages/mdn/.mim;
# code in this checkout still wins when run from here: tools/*.py put the repo first on sys.path).
$PIP install --quiet --no-deps --no-build-isolation .
.venv/bin/python -c "import mdn, torch, mmengine; print('mdn', mdn.__version__, '| torch', torch.__version__, '| mmengine', mmengine.__version__)"
