"""The masking lab and pseudo-log-likelihood on the real default model."""

import json

import numpy as np
import pytest

import mlmviz
from mlmviz.analysis.masking_lab import (
    continuation_prefix, corrupt_sentence, masking_lab, word_groups,
)
from mlmviz.analysis.pseudo_likelihood import pseudo_log_likelihood
from mlmviz.figures.strips import corruption_strip, surprise_strip
from mlmviz.model import Masked

pytestmark = pytest.mark.backends

# 23 word-piece tokens between [CLS] and [SEP], several words split in pieces.
TEXT = ("the unbelievably playful kittens were chasing strawberries around "
        "the sunny garden while grandmother knitted quietly.")


@pytest.fixture(scope="module")
def model():
    return mlmviz.load("default")


@pytest.fixture(scope="module")
def encoding(model):
    return model.tokenizer.encode(TEXT)


def _selectable(model, encoding):
    selectable = np.zeros(len(encoding.ids), dtype=bool)
    selectable[model.maskable_positions(encoding)] = True
    return selectable


def _log_softmax64(logits):
    logits = np.asarray(logits, dtype=np.float64)
    top = logits.max(-1, keepdims=True)
    return logits - top - np.log(np.exp(logits - top).sum(-1, keepdims=True))


def test_wordpiece_pieces_form_one_word(model, encoding):
    assert continuation_prefix(model.vocabulary) == "##"
    groups = word_groups(encoding.tokens, encoding.offsets, _selectable(model, encoding))
    words = [" ".join(encoding.tokens[i] for i in group) for group in groups]
    assert "un ##bel ##ie ##va ##bly" in words and "kitten ##s" in words
    assert "garden" in words and "." in words  # punctuation is its own word in WordPiece
    assert sorted(sum(groups, [])) == model.maskable_positions(encoding)


def test_words_by_offsets_for_bpe_style_tokens():
    tokens = ["<s>", "Hello", ",", "Ġwor", "ld", "<mask>", "ly", "</s>"]
    offsets = [(0, 0), (0, 5), (5, 6), (7, 10), (10, 12), (12, 18), (18, 20), (0, 0)]
    selectable = [False, True, True, True, True, False, True, False]
    assert word_groups(tokens, offsets, selectable, prefix=None) == [[1, 2], [3, 4], [6]]
    bpe_vocabulary = [f"Ġword{i}" for i in range(1000)] + ["##", "###", "####"]
    assert continuation_prefix(bpe_vocabulary) is None


def test_selection_and_split_match_the_rates_over_many_seeds(model, encoding):
    selectable = _selectable(model, encoding)
    groups = [[i] for i in np.flatnonzero(selectable)]
    actions, fractions = [], []
    for seed in range(2000):
        out = corrupt_sentence(encoding.ids, groups, np.random.default_rng(seed),
                               model.tokenizer.mask_id, len(model.vocabulary))
        fractions.append(len(out.positions) / selectable.sum())
        actions.extend(out.actions)
        ids = np.array(encoding.ids)
        masked = out.positions[out.actions == "mask"]
        kept = out.positions[out.actions == "keep"]
        assert np.all(out.token_ids[masked] == model.tokenizer.mask_id)
        np.testing.assert_array_equal(out.token_ids[kept], ids[kept])
        untouched = np.setdiff1d(np.arange(len(ids)), out.positions)
        np.testing.assert_array_equal(out.token_ids[untouched], ids[untouched])
    assert abs(np.mean(fractions) - 0.15) < 0.02
    actions = np.array(actions)
    assert abs(np.mean(actions == "mask") - 0.8) < 0.02
    assert abs(np.mean(actions == "random") - 0.1) < 0.015
    assert abs(np.mean(actions == "keep") - 0.1) < 0.015


@pytest.mark.parametrize("rate", [0.15, 0.3, 0.6])
def test_whole_word_selection_never_splits_a_word(model, encoding, rate):
    selectable = _selectable(model, encoding)
    groups = word_groups(encoding.tokens, encoding.offsets, selectable)
    fractions = []
    for seed in range(300):
        out = corrupt_sentence(encoding.ids, groups, np.random.default_rng(seed),
                               model.tokenizer.mask_id, len(model.vocabulary), rate)
        chosen = set(out.positions.tolist())
        for group in groups:
            assert set(group) <= chosen or not set(group) & chosen, (seed, group)
        fractions.append(len(chosen) / selectable.sum())
    assert abs(np.mean(fractions) - rate) < 0.03


@pytest.mark.parametrize("seed, whole_word", [(0, False), (3, True), (11, False)])
def test_lab_loss_is_the_cross_entropy_of_the_models_logits(model, seed, whole_word):
    result = masking_lab(model, TEXT, seed=seed, whole_word=whole_word,
                         selection_rate=0.5, mask_rate=0.6, random_rate=0.2)
    corruption = result.corruption
    masked = Masked(model.tokenizer.encode(TEXT), tuple(int(i) for i in corruption.token_ids),
                    tuple(int(i) for i in corruption.positions))
    logits = model.stages(masked)["logits"][0]  # (selected, vocab)
    log_p = _log_softmax64(logits)[np.arange(len(logits)), corruption.labels]
    assert abs(result.loss - (-log_p.mean())) < 1e-4
    np.testing.assert_allclose(result.losses, -log_p, atol=1e-4)
    assert result.accuracy == np.mean(logits.argmax(-1) == corruption.labels)
    assert len(corruption.positions) == round(0.5 * 23) or whole_word
    assert [result.shown[i] for i in corruption.positions[corruption.actions == "mask"]] == \
        ["[MASK]"] * int(np.sum(corruption.actions == "mask"))


def test_lab_is_deterministic_per_seed_and_skips_typed_masks(model):
    text = "the [MASK] barked at the cat all night long in the cold dark yard."
    first = masking_lab(model, text, seed=4, selection_rate=0.5)
    again = masking_lab(model, text, seed=4, selection_rate=0.5)
    other = masking_lab(model, text, seed=5, selection_rate=0.5)
    np.testing.assert_array_equal(first.corruption.token_ids, again.corruption.token_ids)
    assert not np.array_equal(first.corruption.positions, other.corruption.positions)
    assert 2 not in first.corruption.positions and first.tokens[2] == "[MASK]"
    assert first.actions[0] == "" and first.actions.count("") == len(first.tokens) - 7


@pytest.mark.parametrize(
    "text, rates, message",
    [("", {}, "at least two tokens"), ("hello", {}, "at least two tokens"),
     ("[MASK] cat", {}, "at least two tokens"),
     (TEXT, {"selection_rate": 1.2}, "selection_rate"),
     (TEXT, {"mask_rate": 0.9, "random_rate": 0.2}, "<= 1"),
     (TEXT, {"selection_rate": 0}, "Nothing is selected")],
)
def test_lab_refuses_bad_input(model, text, rates, message):
    with pytest.raises(ValueError, match=message):
        masking_lab(model, text, **rates)


def test_pll_equals_filling_one_position_at_a_time(model):
    text = "the children played in the park after school."
    pll = pseudo_log_likelihood(model, text)
    encoding = model.tokenizer.encode(text)
    assert list(pll.positions) == model.maskable_positions(encoding)
    brute = []
    for position in pll.positions:
        mask = model.fill_mask(text, top_k=1, positions=[int(position)])["masks"][0]
        brute.append(np.log(mask["original_probability"]))
    np.testing.assert_allclose(pll.log_probabilities, brute, atol=1e-4)
    assert abs(pll.total - sum(brute)) < 1e-3
    assert abs(pll.pseudo_perplexity - np.exp(-np.mean(brute))) < 1e-4 * pll.pseudo_perplexity


def test_pll_leaves_typed_masks_out_but_masked(model):
    text = "he opened the [MASK] and walked into the room."
    pll = pseudo_log_likelihood(model, text)
    assert pll.typed_masks == 1 and "[MASK]" not in pll.tokens and len(pll.tokens) == 9
    for position, log_p in zip(pll.positions, pll.log_probabilities):
        masked = model.mask(text, [int(position)])  # the typed mask stays masked
        row = masked.positions.index(int(position))
        logits = model.stages(masked)["logits"][0, row]  # (vocab,)
        expected = _log_softmax64(logits)[masked.encoding.ids[position]]
        assert abs(log_p - expected) < 1e-4


def test_pll_refuses_a_one_token_text(model):
    with pytest.raises(ValueError, match="at least two tokens"):
        pseudo_log_likelihood(model, "hello")


def test_strips_draw_one_cell_per_token():
    figure = corruption_strip(["[CLS]", "a", "b", "[SEP]"], ["[CLS]", "[MASK]", "z", "[SEP]"],
                              ["", "mask", "random", ""])
    heatmap = json.loads(figure.to_json())["data"][0]
    assert heatmap["z"] == [[0, 1, 2, 0], [0, 1, 2, 0]]
    assert heatmap["text"][1] == ["[CLS]", "[MASK]", "z", "[SEP]"]
    strip = json.loads(surprise_strip(["a", "b"], [0.5, 2.0]).to_json())["data"][0]
    assert strip["z"] == [[0.5, 2.0]] and strip["text"] == [["a", "b"]]
