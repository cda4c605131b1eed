#!/usr/bin/env bash
# Retrain the embedded default model on the corpus of tools/build_corpus.py.
# Usage: tools/train_default_model.sh CORPUS_DIR WORK_DIR [STAGES]
# Runs STAGES (default 3) runs of 3,000 steps of `mlmviz train`, each from the
# previous one's result, starting from the shipped model; each stage's folder
# is a complete checkpoint, and a stage whose folder exists is skipped, so a
# stopped run resumes where it left off. The last stage is the new model.
set -euo pipefail
corpus=$1 work=$2 stages=${3:-3}
python=${PYTHON:-python}
rates=(5e-4 3e-4 2e-4 1e-4 1e-4 1e-4)
base=mlmviz/assets/default-model
for ((i = 1; i <= stages; i++)); do
  out=$work/stage$i
  if [[ ! -f $out/training.json ]]; then
    $python -m mlmviz train --base "$base" --corpus "$corpus/train.txt" \
      --heldout "$corpus/heldout.txt" --out "$out" --steps 3000 \
      --learning-rate "${rates[i - 1]}" --seed "$i" --log-every 250
  fi
  base=$out
done
