#!/usr/bin/env bash
# One run on a lent GPU machine (docs/gpu-training.md): train a 128x128 face prior on the
# packed faces, then evaluate it against celeba64 on val faces 1-48 on the same GPU.
#   bash tools/device_train.sh            (on the device, from the repository root; $OUT set)
# Settings by environment: MIN (training minutes, default 6), NGF, NDF (width, default 16 and
# 16: the shipped celeba128's, whose CPU search time the framing search was measured with),
# BATCH (64), N (eval faces, 48), DEVICE (cuda; cpu for a dry run here).
set -euo pipefail
MIN=${MIN:-6} NGF=${NGF:-16} NDF=${NDF:-16} BATCH=${BATCH:-64} N=${N:-48} DEVICE=${DEVICE:-cuda}
OUT=${OUT:?set OUT to the folder whose files come back}
PY=${PY:-python3}
export PYTHONPATH=$PWD
DATA=$(mktemp -d)
(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true) 2>&1 | head -1
$PY -m zipfile -e .device/faces.zip "$DATA"
$PY -m zipfile -e .device/val48.zip "$DATA"
$PY -m inpaint_gui train "$DATA/faces" --out "$OUT/w/celeba128" --size 128 --ngf "$NGF" --ndf "$NDF" \
  --batch "$BATCH" --epochs 100000 --device "$DEVICE" --max-minutes "$MIN" --sample-every 2000 \
  --checkpoint "$DATA/c.ckpt" --cache-dir "$DATA/cache" --quiet \
  --data-name "CelebA faces (celeba-faces-128/train packed by tools/pack_faces.py)"
for model in celeba128 celeba64; do
  INPAINT_GUI_WEIGHTS="$OUT/w" $PY -m inpaint_gui eval --images "$DATA/val48" --n "$N" --size 128 \
    --masks center,regular,parts --methods full --model $model --low-band off --device "$DEVICE" \
    --out "$DATA/eval-$model" --quiet  # the model alone, without celeba64's low band (README, two-band fills)
  cp "$DATA/eval-$model/metrics.json" "$OUT/eval-$model.json"
done
$PY tools/compare_evals.py "$OUT/eval-celeba128.json:full" "$OUT/eval-celeba64.json:full"
