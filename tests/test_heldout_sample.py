"""The held-out sample shipped in the package: present, small, and answered by the default model."""

import collections
import numpy as np

from mlmviz.analysis.evaluation import evaluate
from mlmviz.samples import ASSETS, HELDOUT_SAMPLE as SAMPLE
from tools.build_corpus import PACKAGES


def test_the_sample_is_the_3952_line_heldout_split_and_small():
    assert SAMPLE.stat().st_size <= 500 * 1024
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3952
    assert all(line.strip() for line in lines)
    assert len(set(lines)) == len(lines)
    note = (ASSETS / "heldout-sample.md").read_text()
    for source in (*PACKAGES, "CC BY-SA 4.0", "CC BY 2.0 FR", "WordNet 3.0 Copyright"):
        assert source in note


def test_the_default_model_answers_the_sample_far_better_than_its_bias(default_model):
    records = []
    with open(SAMPLE, encoding="utf-8") as corpus:
        summary = evaluate(default_model, corpus, max_lines=32, on_details=records.extend)
    assert summary["lines"] == 32 and summary["masked_tokens"] == len(records) > 50
    # The bias alone predicts one token everywhere; no constant guess beats the
    # most frequent label, so that label's share bounds the bias-only accuracy.
    labels = collections.Counter(record["label_id"] for record in records)
    best_constant = labels.most_common(1)[0][1] / len(records)
    bias_guess = int(np.argmax(default_model.head.output_bias.numpy()))
    bias_only = labels[bias_guess] / len(records)
    assert bias_only <= best_constant < 0.1
    assert summary["top1_accuracy"] > max(0.25, 3 * best_constant)  # the card: 34 % in all
    assert summary["top5_accuracy"] > summary["top1_accuracy"]
