"""Corpus evaluation: its numbers against transformers, its masking, its memory."""

import threading
import tracemalloc

import keras
import numpy as np
import pytest
import torch
from transformers import BertForMaskedLM

from mlmviz.analysis import evaluation
from mlmviz.analysis.evaluation import BINS, TEMPERATURES, evaluate
from mlmviz.app import WARM_UP_THREAD
from mlmviz.sources.load import DEFAULT_MODEL

pytestmark = pytest.mark.backends

LINES = [
    "he opened the door and walked into the room.",
    "there are seven days in a week.",
    "",
    "we ate dinner at the kitchen table with our friends.",
    "birds can fly high in the sky.",
    "the children played in the garden after school.",
    " ".join(["the long road ran past the old farm"] * 80),  # over 512 tokens: cut
    "she drank a cup of tea every morning.",
    "the train to the city leaves at nine.",
]


def _run(model, lines=LINES, **options):
    records = []
    summary = evaluate(model, iter(lines), on_details=records.extend, **options)
    return summary, records


@pytest.fixture(scope="module")
def run(default_model):
    return _run(default_model, rate=0.3, seed=3, batch_size=4)


def _reference(model, records):
    """transformers' logits `(n, vocab)` at every masked token of `records`, in their order."""
    reference = BertForMaskedLM.from_pretrained(DEFAULT_MODEL).eval()
    by_line = {}
    for record in records:
        by_line.setdefault(record["line"], record["positions"])
    logits = {}
    for line, positions in by_line.items():
        ids = list(model.tokenizer.encode(LINES[line]).ids)
        for position in positions:
            ids[position] = model.tokenizer.mask_id
        with torch.no_grad():
            out = reference(torch.tensor([ids])).logits[0, positions]  # (masks, vocab)
        logits.update({(line, p): row for p, row in zip(positions, out.double())})
    return torch.stack([logits[r["line"], r["position"]] for r in records])  # (n, vocab)


def test_numbers_match_transformers_on_the_default_model(default_model, run):
    summary, records = run
    logits = _reference(default_model, records)  # (n, vocab) float64
    labels = torch.tensor([r["label_id"] for r in records])  # (n,)
    probabilities = logits.softmax(-1)  # (n, vocab)
    confidence, predicted = probabilities.max(-1)  # (n,)
    correct = (predicted == labels).double()  # (n,)
    assert [r["predicted_id"] for r in records] == predicted.tolist()
    assert summary["masked_tokens"] == len(records) and summary["lines"] == 8
    assert summary["top1_accuracy"] == correct.mean().item()
    top5 = (logits.topk(5, -1).indices == labels[:, None]).any(-1).double()
    assert summary["top5_accuracy"] == top5.mean().item()
    loss = torch.nn.functional.cross_entropy(logits, labels, reduction="none")  # (n,)
    assert summary["loss"] == pytest.approx(loss.mean().item(), abs=1e-4)
    assert summary["perplexity"] == pytest.approx(loss.mean().exp().item(), rel=1e-4)
    bins = torch.clamp((confidence * BINS).long(), max=BINS - 1)  # (n,)
    ece = 0.0
    for b, row in enumerate(summary["reliability"]):
        inside = bins == b
        assert row["count"] == int(inside.sum())
        assert (row["low"], row["high"]) == pytest.approx((b / BINS, (b + 1) / BINS))
        if row["count"]:
            assert row["confidence"] == pytest.approx(confidence[inside].mean().item(), abs=1e-5)
            assert row["accuracy"] == correct[inside].mean().item()
            ece += abs(correct[inside].sum() - confidence[inside].sum()).item() / len(records)
    assert summary["ece"] == pytest.approx(ece, abs=1e-5)
    grid = [torch.nn.functional.cross_entropy(logits / t, labels).item() for t in TEMPERATURES]
    best = int(np.argmin(grid))
    assert summary["best_temperature"]["temperature"] == TEMPERATURES[best]
    assert summary["best_temperature"]["loss"] == pytest.approx(grid[best], abs=1e-4)


def test_long_lines_are_cut_and_counted_and_blank_lines_skipped(run):
    summary, records = run
    assert summary["cut_lines"] == 1 and summary["skipped_lines"] == 1
    assert max(r["position"] for r in records if r["line"] == 6) < 511  # [SEP] sits at 511
    assert 2 not in {r["line"] for r in records}


def test_masking_follows_the_rate_and_the_seed(default_model, run):
    summary, records = run
    for line, text in enumerate(LINES):
        if not text:
            continue
        encoding = default_model.tokenizer.encode(text)
        maskable = default_model.maskable_positions(encoding)
        positions = sorted(r["position"] for r in records if r["line"] == line)
        assert len(positions) == max(1, round(0.3 * len(maskable)))
        assert set(positions) <= set(maskable)
        assert all(r["positions"] == positions for r in records if r["line"] == line)
        assert all(r["label_id"] == encoding.ids[r["position"]] for r in records if r["line"] == line)
    again, same = _run(default_model, rate=0.3, seed=3, batch_size=64)  # other batches
    assert [(r["line"], r["position"]) for r in same] == [(r["line"], r["position"]) for r in records]
    assert again["top1_accuracy"] == summary["top1_accuracy"]
    assert again["loss"] == pytest.approx(summary["loss"], abs=1e-5)
    _, other = _run(default_model, lines=LINES[:6], rate=0.3, seed=4)
    records = [r for r in records if r["line"] < 6]
    assert [r["position"] for r in other] != [r["position"] for r in records]


def test_a_rate_of_one_masks_every_word_and_bad_options_are_refused(default_model):
    _, records = _run(default_model, lines=["the cat sat ."], rate=1.0)
    assert [r["position"] for r in records] == [1, 2, 3, 4]
    for options, message in [({"rate": 0}, "mask rate"), ({"rate": 1.5}, "mask rate"),
                             ({"batch_size": 0}, "batch_size"), ({"max_lines": -1}, "max_lines")]:
        with pytest.raises(ValueError, match=message):
            _run(default_model, **options)


def _fake_scorer(model):
    """A forward that costs nothing: every prediction right, with probability 1/2."""
    def scores(token_ids, padding_mask, slots, labels):
        shape = slots.shape  # (b, masks)
        return {
            "predicted_ids": labels.copy(),
            "log_norm": np.full(shape, np.log(2.0), "float32"),
            "higher": np.zeros(shape, "int32"),
            "temperature_losses": np.full((*shape, len(TEMPERATURES)), np.log(2.0), "float32"),
        }
    return scores


def _peak(model, count):
    """Peak bytes held (tracemalloc) while evaluating `count` generated lines.

    tracemalloc counts every thread's allocations: a model an earlier test of
    this process loaded in the app may still be tracing its graphs in the
    background (the app's warm-up), so that ends first.
    """
    for thread in threading.enumerate():
        if thread.name == WARM_UP_THREAD:
            thread.join(timeout=300)
    lines = (f"line {i} of the corpus is short ." for i in range(count))  # a generator
    tracemalloc.start()
    try:
        summary = evaluate(model, lines, batch_size=64)
        return tracemalloc.get_traced_memory()[1], summary
    finally:
        tracemalloc.stop()


@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="no backend involved (a fake scorer): runs on TensorFlow only")
def test_memory_does_not_grow_with_the_corpus(default_model, monkeypatch):
    monkeypatch.setattr(evaluation, "scorer", _fake_scorer)
    small, _ = _peak(default_model, 5_000)
    large, summary = _peak(default_model, 50_000)
    assert summary["lines"] == 50_000 and summary["top1_accuracy"] == 1.0
    # Holding the lines, or one number per masked token, would add megabytes.
    assert large - small < 256 * 1024, (small, large)
    assert large < 8 * 2**20


def test_ctrl_c_stops_with_the_partial_result(default_model, monkeypatch):
    monkeypatch.setattr(evaluation, "scorer", _fake_scorer)
    done = []

    def progress(lines):
        done.append(lines)
        if len(done) == 3:
            raise KeyboardInterrupt

    lines = (f"sentence number {i} ." for i in range(10_000))
    summary = evaluate(default_model, lines, batch_size=16, on_progress=progress)
    assert summary["interrupted"] and summary["lines"] == sum(done) == 48
    assert summary["masked_tokens"] == 48


def _random_scores(rng, n, vocabulary):
    losses = rng.uniform(0.1, 6.0, (n, len(TEMPERATURES)))  # (n, T)
    return evaluation.Scores(
        label_ids=rng.integers(0, vocabulary, n), predicted_ids=rng.integers(0, vocabulary, n),
        label_probabilities=np.exp(-losses[:, evaluation.UNIT]),
        predicted_probabilities=rng.uniform(0, 1, n), in_top5=rng.uniform(0, 1, n) < 0.5,
        temperature_losses=losses,
    )


def test_metrics_of_shards_merge_into_the_metrics_of_the_whole():
    rng = np.random.default_rng(0)
    lines = [evaluation.Example(i, (2, 5, 7, 3), (1,), tuple(rng.integers(4, 50, 3)), i % 3 == 0)
             for i in range(30)]
    parts = [_random_scores(rng, 40, 50) for _ in range(3)]
    whole, shards = evaluation.Metrics(50), [evaluation.Metrics(50) for _ in parts]
    for shard, scores, chunk in zip(shards, parts, (lines[:10], lines[10:20], lines[20:])):
        whole.add_lines(chunk)
        whole.add_scores(scores)
        shard.add_lines(chunk)
        shard.add_scores(scores)
    merged = evaluation.Metrics(50)
    for shard in shards:
        merged.merge(shard)
    expected, got = whole.summary(), merged.summary()
    assert got["masked_tokens"] == 120 and got["lines"] == 30 and got["cut_lines"] == 10
    assert got["reliability"] == expected["reliability"] and got["by_frequency"] == expected["by_frequency"]
    for key in ("top1_accuracy", "top5_accuracy", "loss", "ece", "best_temperature"):
        assert got[key] == pytest.approx(expected[key], rel=1e-12), key


def test_evaluations_of_one_model_share_its_compiled_scorer(default_model):
    # Building the scorer traces a graph (seconds): a second evaluation must not pay it again.
    assert evaluation.scorer(default_model) is evaluation.scorer(default_model)
