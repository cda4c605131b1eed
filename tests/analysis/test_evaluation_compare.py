"""Corpus evaluation of two models on the same masks, and the corpus pseudo-log-likelihood."""

import json
import shutil

import numpy as np
import pytest
import torch
from hf_checkpoints import make_checkpoint
from nested import close
from safetensors.numpy import load_file, save_file
from transformers import BertForMaskedLM

import mlmviz
from mlmviz.analysis import paired as paired_module
from mlmviz.analysis.evaluation import Example, evaluate
from mlmviz.analysis.pseudo_likelihood import pseudo_log_likelihood
from mlmviz.sources.load import DEFAULT_MODEL

pytestmark = pytest.mark.backends

LINES = [
    "he opened the door and walked into the room.",
    "there are seven days in a week.",
    "",
    "we ate dinner at the kitchen table with our friends.",
    "birds can fly high in the sky.",
    "the children played in the garden after school.",
    "she drank a cup of tea every morning.",
    "the train to the city leaves at nine.",
    "my sister reads a book before she goes to bed.",
    "the dog barked at the man who walked past the house.",
    "it was cold, so we lit a fire and sat by it all evening.",
    "hello",
    ("the shop on the corner sells bread, milk and fresh fruit to the people of the village "
     "every day of the week except sunday."),  # over 24 tokens: PLL in two windows
]


def _copy_default(directory):
    return shutil.copytree(DEFAULT_MODEL, directory)


@pytest.fixture(scope="module")
def other_model(tmp_path_factory):
    """The default model with noise in its last layer: same tokenizer, other predictions."""
    directory = _copy_default(tmp_path_factory.mktemp("noisy") / "model")
    tensors = load_file(directory / "model.safetensors")
    name = "bert.encoder.layer.1.output.dense.weight"
    noise = np.random.default_rng(0).normal(0, 0.05, tensors[name].shape).astype("float32")
    tensors[name] = tensors[name] + noise
    save_file(tensors, directory / "model.safetensors")
    return mlmviz.load(directory)


def _run(model, **options):
    records = []
    summary = evaluate(model, iter(LINES), rate=0.5, seed=2, batch_size=4,
                       on_details=records.extend, **options)
    return summary, records


@pytest.fixture(scope="module")
def runs(default_model, other_model):
    """A alone, B alone, and A with B compared, each with its details records."""
    return (_run(default_model, pll=True), _run(other_model, pll=True),
            _run(default_model, pll=True, compare=other_model))


def _close(a, b):
    """Equal, floats to 1e-12, through lists and dicts."""
    return close(a, b, rel=1e-12, abs_=1e-12)


def test_both_summaries_equal_the_separate_runs(runs):
    (alone_a, records_a), (alone_b, records_b), (summary, records) = runs
    compared = dict(summary["compare"])
    paired = compared.pop("paired")
    assert _close({k: v for k, v in summary.items() if k != "compare"}, alone_a)
    assert compared["model"] != summary["model"]
    assert _close(compared, {k: v for k, v in alone_b.items() if k != "interrupted"})
    assert paired["lines"] == summary["lines"] == 12
    # the same masks, and each model's records as in its own run
    assert [{**r, "model": "A"} for r in records_a] == [r for r in records if r["model"] == "A"]
    assert [{**r, "model": "B"} for r in records_b] == [r for r in records if r["model"] == "B"]
    assert [(r["line"], r["position"]) for r in records_a] == [
        (r["line"], r["position"]) for r in records_b]


def _per_line(records_a, records_b):
    """`(lines, masks, correct_a, correct_b)` arrays in line order, from two runs' records."""
    lines = sorted({r["line"] for r in records_a})
    def count(records, line, right=True):
        return sum(r["line"] == line and (not right or r["predicted_id"] == r["label_id"])
                   for r in records)
    masks = np.array([count(records_a, line, right=False) for line in lines])
    a = np.array([count(records_a, line) for line in lines])
    b = np.array([count(records_b, line) for line in lines])
    return lines, masks, a, b


def test_paired_figures_equal_a_direct_computation(runs):
    (alone_a, records_a), (alone_b, records_b), (summary, _) = runs
    paired = summary["compare"]["paired"]
    lines, masks, a, b = _per_line(records_a, records_b)
    assert paired["masked_tokens"] == masks.sum() == len(records_a)
    difference = alone_b["top1_accuracy"] - alone_a["top1_accuracy"]
    assert difference != 0  # the noise changes some predictions
    assert paired["accuracy_difference"] == pytest.approx(difference, abs=1e-12)
    # The bootstrap again: same seed and draws, counted with bincount instead of indexing.
    rng = np.random.default_rng(paired["bootstrap"]["seed"])
    draws = []
    for _ in range(paired["bootstrap"]["resamples"]):
        weights = np.bincount(rng.integers(0, len(lines), len(lines)), minlength=len(lines))
        draws.append((weights @ b - weights @ a) / (weights @ masks))
    expected = np.percentile(draws, [2.5, 97.5])
    assert paired["interval"] == pytest.approx(expected.tolist(), abs=1e-12)
    assert paired["interval"][0] <= paired["accuracy_difference"] <= paired["interval"][1]
    assert paired["interval"][0] < paired["interval"][1]
    gains = sorted((line for line, x, y in zip(lines, a, b) if y > x),
                   key=lambda line: (-(b - a)[lines.index(line)], line))
    losses = sorted((line for line, x, y in zip(lines, a, b) if y < x),
                    key=lambda line: ((b - a)[lines.index(line)], line))
    assert gains or losses
    for key, expected_lines in (("gains", gains), ("losses", losses)):
        rows = paired[key]
        assert [row["line"] for row in rows] == expected_lines[:paired_module.TOP_LINES]
        for row in rows:
            i = lines.index(row["line"])
            mine = [r for r in records_a if r["line"] == row["line"]]
            assert (row["correct_a"], row["correct_b"], row["masked_tokens"]) == (a[i], b[i], masks[i])
            assert row["difference"] == b[i] - a[i]
            assert row["positions"] == mine[0]["positions"]
            assert row["labels"] == [r["label"] for r in mine]
    json.dumps(summary)  # the whole summary is JSON


def test_a_model_against_itself_differs_by_zero(default_model):
    summary = evaluate(default_model, iter(LINES[:6]), rate=0.5, compare=default_model)
    paired = summary["compare"]["paired"]
    assert paired["accuracy_difference"] == 0.0 and paired["interval"] == [0.0, 0.0]
    assert paired["gains"] == paired["losses"] == []
    assert summary["compare"]["top1_accuracy"] == summary["top1_accuracy"]


def test_the_bootstrap_interval_holds_the_estimate_and_shrinks_with_more_lines():
    rng = np.random.default_rng(5)
    widths = []
    for lines in (50, 800):
        masks = rng.integers(1, 6, lines)  # (lines,)
        a = rng.binomial(masks, 0.4)
        b = rng.binomial(masks, 0.5)
        low, high = paired_module.bootstrap_interval(masks, a, b)
        assert low <= (b.sum() - a.sum()) / masks.sum() <= high
        widths.append(high - low)
    assert widths[1] < widths[0] / 2


def test_a_long_corpus_keeps_only_the_top_lines():
    pairs = paired_module.Paired(top=3)
    rng = np.random.default_rng(1)
    batch = [Example(i, (2, 7, 8, 9, 3), (1, 2, 3), (7, 8, 9), False) for i in range(200)]
    hits_a, hits_b = rng.uniform(size=600) < 0.5, rng.uniform(size=600) < 0.5  # (masks,)
    pairs.add(batch[:120], hits_a[:360], hits_b[:360], [str(i) for i in range(10)])
    pairs.add(batch[120:], hits_a[360:], hits_b[360:], [str(i) for i in range(10)])
    differences = (hits_b.reshape(200, 3).sum(1).astype(int) - hits_a.reshape(200, 3).sum(1))
    summary = pairs.summary()
    best = sorted(range(200), key=lambda line: (-differences[line], line))[:3]
    worst = sorted(range(200), key=lambda line: (differences[line], line))[:3]
    assert [row["line"] for row in summary["gains"]] == best
    assert [row["line"] for row in summary["losses"]] == worst
    assert summary["gains"][0]["labels"] == ["7", "8", "9"]


def test_models_with_other_tokenizers_are_refused(default_model, tmp_path):
    tiny = mlmviz.load(make_checkpoint("bert", tmp_path / "tiny"))
    with pytest.raises(ValueError, match="different vocabularies"):
        evaluate(default_model, iter(LINES), compare=tiny)
    masked = _copy_default(tmp_path / "mask")
    config = json.loads((masked / "tokenizer_config.json").read_text())
    (masked / "tokenizer_config.json").write_text(json.dumps({**config, "mask_token": "[unused0]"}))
    with pytest.raises(ValueError, match="different mask tokens"):
        evaluate(default_model, iter(LINES), compare=mlmviz.load(masked))
    cased = _copy_default(tmp_path / "cased")  # same vocabulary, but upper case stays upper
    config = json.loads((cased / "tokenizer_config.json").read_text())  # as transformers reads it
    (cased / "tokenizer_config.json").write_text(json.dumps({**config, "do_lower_case": False}))
    other = mlmviz.load(cased)
    summary = evaluate(default_model, iter(LINES[:2]), compare=other)  # lower case agrees
    assert summary["compare"]["paired"]["lines"] == 2
    with pytest.raises(ValueError, match="Corpus line 3: The two models split"):
        evaluate(default_model, iter([*LINES[:2], "The cat sat on the mat."]), compare=other)


def test_corpus_pll_sums_the_pseudo_likelihood_of_each_line(default_model, runs):
    (summary, _), _, _ = runs
    results = [pseudo_log_likelihood(default_model, text) for text in LINES
               if text and text != "hello"]  # "hello" has one token: no PLL
    tokens = sum(len(r.positions) for r in results)
    total = sum(r.log_probabilities.astype("float64").sum() for r in results)
    assert summary["pll_lines"] == len(results) == 11 and summary["pll_tokens"] == tokens
    assert summary["pll_per_token"] == pytest.approx(total / tokens, rel=1e-6)
    assert summary["pseudo_perplexity"] == pytest.approx(np.exp(-total / tokens), rel=1e-6)


def test_corpus_pll_matches_transformers_masking_each_token_in_turn(default_model, runs):
    (summary, _), _, _ = runs
    reference = BertForMaskedLM.from_pretrained(DEFAULT_MODEL).eval()
    total, tokens = 0.0, 0
    for text in LINES:
        encoding = default_model.tokenizer.encode(text)
        positions = [i for i, special in enumerate(encoding.special) if not special]
        if len(positions) < 2:
            continue
        rows = torch.tensor([encoding.ids] * len(positions))  # (n, seq)
        rows[range(len(positions)), positions] = default_model.tokenizer.mask_id
        with torch.no_grad():
            logits = reference(rows).logits[range(len(positions)), positions]  # (n, vocab)
        labels = torch.tensor([encoding.ids[p] for p in positions])
        total += logits.double().log_softmax(-1)[range(len(positions)), labels].sum().item()
        tokens += len(positions)
    assert summary["pll_tokens"] == tokens
    assert summary["pll_per_token"] == pytest.approx(total / tokens, abs=1e-5)
    other = runs[2][0]["compare"]
    assert other["pll_tokens"] == tokens and other["pll_per_token"] != summary["pll_per_token"]
    assert other["pll_per_token"] == pytest.approx(runs[1][0]["pll_per_token"], rel=1e-12)
