"""The text samples shipped inside the package (`mlmviz/assets/`), read by
default where a command or page needs a corpus: `train-head` trains on the
training sample, `evaluate`, `train-head` and the app's Evaluate page measure
on the held-out sample. Each has a note beside it (`*.md`): sources, licences
and how it was made."""

from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "assets"
TRAIN_SAMPLE = ASSETS / "train-sample.txt.gz"  # lines the default model trained on
HELDOUT_SAMPLE = ASSETS / "heldout-sample.txt"  # the default model's held-out split
