"""How well a model fills everyday blanks: the default model's targets (issue 25).

Run from the repository root:

    .venv/bin/python benchmarks/bench_default_model.py                 # the embedded model
    .venv/bin/python benchmarks/bench_default_model.py OLD_DIR NEW_DIR # side by side
    .venv/bin/python benchmarks/bench_default_model.py --sentences     # + each answer
    .venv/bin/python benchmarks/bench_default_model.py --write-summary # + cloze.json

Each DIR is a Hugging Face masked-LM folder (the embedded model is
`mlmviz/assets/default-model`; an earlier one comes out of git with
`git archive REV mlmviz/assets/default-model | tar -x -C /tmp/old`).
For each model it prints:

- top-1 / top-5 hits on `benchmarks/cloze/everyday.tsv` (48 sentences written
  before any model was looked at; targets >= 50 % / >= 75 %) and on the
  teacher's ten (`teacher.tsv`; target >= 6 at top-1). A hit is a predicted
  token among the sentence's acceptable answers.
- held-out masked-token accuracy (15 % of the tokens, all masked, seed 0,
  the measure of `mlmviz train`) on the shipped held-out split
  (`mlmviz/assets/heldout-sample.txt`, target >= 50 %) and on the previous default
  model's split (`benchmarks/data/heldout-2025.txt`), which neither model
  trained on.
- the median time of `fill_mask` on a one-line sentence (interleaved runs).

`--write-summary` writes the embedded model's everyday hits to its
`cloze.json`, which the app's sidebar quotes (a test keeps the two equal).
"""

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from common import alternate, machine_lines, median_ms  # noqa: E402

import mlmviz  # noqa: E402
from mlmviz.analysis.cloze import read_cloze, score_cloze  # noqa: E402
from mlmviz.sources.hf import load_hf_directory  # noqa: E402
from mlmviz.sources.load import DEFAULT_CLOZE  # noqa: E402
from mlmviz.tokenization import Tokenizer  # noqa: E402
from mlmviz.training.train import build_training_model, masked_accuracy, pack  # noqa: E402

CLOZE = ROOT / "benchmarks" / "cloze"
HELDOUT = {"held-out": ROOT / "mlmviz" / "assets" / "heldout-sample.txt",
           "old held-out": ROOT / "benchmarks" / "data" / "heldout-2025.txt"}
SEQUENCE_LENGTH = 64
TIMED_SENTENCE = "she put the milk in the [MASK]."


def heldout_accuracy(directory, corpus):
    """`mlmviz train`'s held-out measure of the folder's model on `corpus`."""
    ported = load_hf_directory(Path(directory), dropout=0.0)
    tokenizer = Tokenizer.from_directory(Path(directory), max_length=SEQUENCE_LENGTH)
    pad_id = ported.config.get("pad_token_id") or 0
    lines = [line for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    packed = pack(tokenizer, lines, SEQUENCE_LENGTH, pad_id)
    model = build_training_model(ported.backbone, ported.head)
    return masked_accuracy(model, ported.backbone, packed, tokenizer.mask_id, pad_id,
                           ported.head.vocabulary_size)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="*", default=[str(ROOT / "mlmviz/assets/default-model")])
    parser.add_argument("--sentences", action="store_true", help="print each model's top-3")
    parser.add_argument("--write-summary", action="store_true",
                        help="write the embedded model's everyday hits to its cloze.json")
    args = parser.parse_args()
    print("\n".join(machine_lines()))
    models = {path: mlmviz.load(path) for path in args.models}
    sets = {name: read_cloze(CLOZE / f"{name}.tsv") for name in ("everyday", "teacher")}
    times = alternate({path: (lambda m=m: m.fill_mask(TIMED_SENTENCE)) for path, m in models.items()})
    print("\n| model | everyday top-1 | everyday top-5 | teacher top-1 | teacher top-5 | "
          + " | ".join(HELDOUT) + " | fill_mask ms |")
    print("|---" * (6 + len(HELDOUT)) + "|")
    scores = {}
    for path, model in models.items():
        cells = []
        for name, items in sets.items():
            score = scores[path, name] = score_cloze(model, items)
            cells += [f"{hits}/{score.sentences} ({hits / score.sentences:.0%})"
                      for hits in (score.top1, score.top5)]
        cells += [f"{heldout_accuracy(path, corpus):.1%}" for corpus in HELDOUT.values()]
        cells.append(f"{median_ms(times[path]):.1f}")
        print(f"| {path} | " + " | ".join(cells) + " |")
    if args.write_summary:
        score = score_cloze(mlmviz.load("default"), sets["everyday"])
        summary = {"sentences": score.sentences, "top1": score.top1, "top5": score.top5}
        DEFAULT_CLOZE.write_text(json.dumps(summary) + "\n")
    if args.sentences:
        for name in sets:
            print(f"\n{name}: top-3 per model\n")
            print("| sentence | " + " | ".join(models) + " |")
            print("|---" * (1 + len(models)) + "|")
            for i, item in enumerate(sets[name]):
                print(f"| {item.text} | " + " | ".join(
                    ", ".join(scores[path, name].guesses[i][:3]) for path in models) + " |")


if __name__ == "__main__":
    main()
