#!/usr/bin/env bash
# Retrain the embedded default model on the corpus of tools/build_corpus.py.
# Usage: [BASE=DIR] tools/train_default_model.sh CORPUS_DIR WORK_DIR
# Four runs of 3,000 steps of `mlmviz train`, each from the one before,
# starting from BASE (default: the shipped model): two on the whole mix
# (train.txt), one on its everyday lines (train-everyday.txt: Tatoeba,
# chit-chat, WordNet examples), one on those and the Wikipedia summaries
# (train-modern.txt). Each stage's folder is a complete checkpoint and a
# stage whose folder exists is skipped, so a stopped run resumes where it
# left off. WORK_DIR/stage4 is the new model.
set -euo pipefail
corpus=$1 work=$2
python=${PYTHON:-python}
base=${BASE:-mlmviz/assets/default-model}
rates=(5e-4 3e-4 3e-4 2e-4)
texts=(train train train-everyday train-modern)
for i in 1 2 3 4; do
  out=$work/stage$i
  if [[ ! -f $out/training.json ]]; then
    $python -m mlmviz train --base "$base" --corpus "$corpus/${texts[i - 1]}.txt" \
      --heldout "$corpus/heldout.txt" --out "$out" --steps 3000 \
      --learning-rate "${rates[i - 1]}" --seed "$i" --log-every 250
  fi
  base=$out
done
