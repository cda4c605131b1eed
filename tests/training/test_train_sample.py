"""The training sample shipped in assets/: real sentences, none of the held-out split."""

import gzip
import hashlib

from mlmviz.training import head as training
from tools.build_corpus import PACKAGES


def test_the_sample_is_the_documented_85000_lines():
    with gzip.open(training.TRAIN_SAMPLE, "rb") as file:
        data = file.read()
    note = training.TRAIN_SAMPLE.with_name("train-sample.md").read_text()
    assert hashlib.sha256(data).hexdigest() in note
    lines = data.decode("ascii").splitlines()
    assert len(lines) == 85_000 == len(training.default_corpus())
    assert all(line.strip() for line in lines)
    for source in (*PACKAGES, "CC BY-SA 4.0", "CC BY 2.0 FR", "WordNet 3.0 Copyright"):
        assert source in note


def test_the_sample_shares_no_line_with_the_heldout_split():
    def normal(line):  # as build_corpus deduplicates: case and punctuation aside
        return "".join(c for c in line.lower() if c.isalnum())

    heldout = {normal(line) for line in training.heldout_corpus()}
    assert len(heldout) == 3952
    assert not heldout & {normal(line) for line in training.default_corpus()}
