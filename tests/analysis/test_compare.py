"""Divergences against a brute-force formula; real models compared with each other."""

import math

import numpy as np
import pandas as pd
import pytest

import mlmviz
from hf_checkpoints import make_checkpoint
from mlmviz.analysis import attention, compare, logit_lens
from mlmviz.analysis.logit_lens import lens_logits

pytestmark = pytest.mark.backends

RNG = np.random.default_rng(7)
TEXT = "the cat sat on the [MASK]."  # the same tokens in the default and the tiny vocabulary


def _as_floats(distribution):
    """A 1-D distribution as Python floats summing to 1."""
    total = sum(float(x) for x in distribution)
    return [float(x) / total for x in distribution]


def _brute_kl(p, q):
    """KL(p‖q) of two 1-D distributions, one term at a time in Python floats."""
    p, q = _as_floats(p), _as_floats(q)
    total = 0.0
    for p_i, q_i in zip(p, q):
        if p_i == 0:
            continue
        if q_i == 0:
            return math.inf
        total += p_i * math.log(p_i / q_i)
    return total


def _brute_js(p, q):
    m = [(float(a) + float(b)) / 2 for a, b in zip(p, q)]
    return (_brute_kl(p, m) + _brute_kl(q, m)) / 2


def _pairs(count=20, size=50):
    """Random distribution pairs, some with zeros in one or both."""
    for i in range(count):
        p, q = RNG.dirichlet(np.full(size, 0.3), size=2)  # (2, size)
        if i % 3 == 1:
            p[RNG.choice(size, 10, replace=False)] = 0  # zeros in p only
        if i % 3 == 2:
            zeros = RNG.choice(size, 10, replace=False)
            p[zeros], q[zeros] = 0, 0  # zeros in both, at the same tokens
        yield p / p.sum(), q / q.sum()


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_divergences_match_brute_force(dtype):
    for p, q in _pairs():
        p, q = p.astype(dtype), q.astype(dtype)
        result = compare.divergences(p, q)
        assert result["kl_pq"] == pytest.approx(_brute_kl(p, q), rel=1e-9, abs=1e-12)
        assert result["kl_qp"] == pytest.approx(_brute_kl(q, p), rel=1e-9, abs=1e-12)
        assert result["js"] == pytest.approx(_brute_js(p, q), rel=1e-9, abs=1e-12)


def test_divergences_work_row_by_row_on_batches():
    pairs = list(_pairs(6))
    p, q = (np.stack(side) for side in zip(*pairs))  # (6, 50) each
    result = compare.divergences(p, q)
    assert result["js"].shape == (6,) and result["js"].dtype == np.float64
    for i, (p_i, q_i) in enumerate(pairs):
        for name, value in compare.divergences(p_i, q_i).items():
            assert result[name][i] == pytest.approx(value, rel=1e-12)


def test_js_is_symmetric_and_at_most_ln2():
    for p, q in _pairs():
        forward, backward = compare.divergences(p, q), compare.divergences(q, p)
        assert forward["js"] == pytest.approx(backward["js"], rel=1e-12)
        assert forward["kl_pq"] == backward["kl_qp"]
        assert 0 <= forward["js"] <= math.log(2)


def test_disjoint_distributions_have_infinite_kl_and_js_ln2():
    p, q = np.array([0.5, 0.5, 0, 0]), np.array([0, 0, 0.25, 0.75])
    result = compare.divergences(p, q)
    assert result["kl_pq"] == math.inf and result["kl_qp"] == math.inf
    assert result["js"] == pytest.approx(math.log(2), rel=1e-12)


def test_a_distribution_against_itself_is_exactly_zero():
    for p, _ in _pairs():
        p = p.astype("float32")
        assert compare.divergences(p, p) == {"kl_pq": 0.0, "kl_qp": 0.0, "js": 0.0}


@pytest.mark.parametrize(
    "p, q, message",
    [([0.5, 0.5], [1.0], "same shape"), ([1.5, -0.5], [0.5, 0.5], "non-negative"),
     ([0.0, 0.0], [0.5, 0.5], "sums to 0"), ([np.nan, 1], [0.5, 0.5], "finite")],
)
def test_divergences_reject_what_is_not_a_distribution(p, q, message):
    with pytest.raises(ValueError, match=message):
        compare.divergences(p, q)


def test_overlap_counts_shared_items_and_jaccard():
    assert compare.overlap(["a", "b", "c"], ["c", "d", "a"]) == {
        "count": 2, "jaccard": 0.5, "shared": ["a", "c"]
    }
    assert compare.overlap([3, 1], [1, 3])["jaccard"] == 1.0
    p = np.array([0.1, 0.4, 0.2, 0.3])
    q = np.array([0.4, 0.1, 0.3, 0.2])
    assert compare.top_k_ids(p, 2) == [1, 3]
    assert compare.top_k_overlap(p, q, 2) == {"count": 0, "jaccard": 0.0, "shared": []}
    assert compare.top_k_overlap(p, q, 3) == {"count": 2, "jaccard": 0.5, "shared": [3, 2]}


@pytest.fixture(scope="module")
def default_model():
    return mlmviz.load("default")


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    """Two tiny BERTs with the same vocabulary and different random weights."""
    root = tmp_path_factory.mktemp("compare")
    return [mlmviz.load(make_checkpoint("bert", root / f"seed{s}", seed=s)) for s in (1, 2)]


def test_the_default_model_against_itself_shows_no_difference(default_model):
    result = compare.compare_masks(
        default_model, default_model, TEXT, positions=(2,), top_k=7, targets=("dog",)
    )
    assert result["same_vocabulary"]
    assert [m["position"] for m in result["masks"]] == [2, 6]
    for mask in result["masks"]:
        assert (mask["kl_ab"], mask["kl_ba"], mask["js"]) == (0.0, 0.0, 0.0)
        assert mask["overlap"]["count"] == 7 and mask["overlap"]["jaccard"] == 1.0
        assert mask["a"] == mask["b"]
        assert all(row["probability_a"] == row["probability_b"] for row in mask["rows"])
        assert mask["a"]["targets"][0]["word"] == "dog"


def _direct_probabilities(model, positions):
    """Float64 softmax of the head's logits at the masks of TEXT, straight from `stages`."""
    logits = model.stages(model.mask(TEXT, positions))["logits"][0].astype("float64")
    weights = np.exp(logits - logits.max(-1, keepdims=True))  # (masks, vocab)
    return weights / weights.sum(-1, keepdims=True)


def test_same_vocabulary_divergences_equal_a_direct_computation(tiny_models):
    model_a, model_b = tiny_models
    assert model_a.vocabulary == model_b.vocabulary
    result = compare.compare_masks(model_a, model_b, TEXT, positions=(2,), targets=("dog",))
    assert result["same_vocabulary"]
    p, q = _direct_probabilities(model_a, (2,)), _direct_probabilities(model_b, (2,))
    for i, mask in enumerate(result["masks"]):
        assert mask["kl_ab"] == pytest.approx(_brute_kl(p[i], q[i]), rel=1e-5)
        assert mask["kl_ba"] == pytest.approx(_brute_kl(q[i], p[i]), rel=1e-5)
        assert mask["js"] == pytest.approx(_brute_js(p[i], q[i]), rel=1e-5)
        assert mask["kl_ab"] > 0.1, "different weights must give different predictions"


def test_rows_and_targets_agree_with_each_models_fill_mask(tiny_models):
    model_a, model_b = tiny_models
    result = compare.compare_masks(model_a, model_b, TEXT, top_k=4, targets=("dog", "park"))
    (mask,) = result["masks"]
    fills = [m.fill_mask(TEXT, top_k=4, targets=("dog", "park"))["masks"][0] for m in tiny_models]
    assert [mask["a"], mask["b"]] == fills
    rows = {row["token"]: row for row in mask["rows"]}
    for side, fill in zip("ab", fills):
        for prediction in fill["predictions"]:
            # rows come from the eager head, fill_mask from the compiled graph
            assert rows[prediction["token"]][f"probability_{side}"] == pytest.approx(
                prediction["probability"], rel=1e-5)
    tokens_a, tokens_b = ({p["token"] for p in fill["predictions"]} for fill in fills)
    assert mask["overlap"]["count"] == len(tokens_a & tokens_b)


def test_different_vocabularies_compare_top_k_by_token_string(default_model, tiny_models):
    tiny = tiny_models[0]
    result = compare.compare_masks(default_model, tiny, TEXT, top_k=5)
    assert not result["same_vocabulary"]
    (mask,) = result["masks"]
    assert (mask["kl_ab"], mask["kl_ba"], mask["js"]) == (None, None, None)
    tokens_a = [p["token"] for p in mask["a"]["predictions"]]
    tokens_b = [p["token"] for p in mask["b"]["predictions"]]
    assert mask["overlap"] == compare.overlap(tokens_a, tokens_b)
    rows = {row["token"]: row for row in mask["rows"]}
    assert set(rows) == set(tokens_a) | set(tokens_b)
    missing = [t for t in tokens_a if t not in tiny.vocabulary]
    assert missing, "the default model's guesses should include words the tiny vocabulary lacks"
    assert all(rows[t]["probability_b"] is None for t in missing)


def test_texts_tokenized_differently_are_refused(default_model, tiny_models):
    with pytest.raises(ValueError, match="different tokens"):
        compare.compare_masks(default_model, tiny_models[0], "he opened the [MASK] slowly.")


@pytest.mark.parametrize("text, message", [("", "empty"), ("the cat sat", "Nothing is masked")])
def test_bad_input_raises_the_models_message(default_model, text, message):
    with pytest.raises(ValueError, match=message):
        compare.compare_masks(default_model, default_model, text)


# Layer by layer: the logit lens of both models, following one word


@pytest.fixture(scope="module")
def deeper_model(tmp_path_factory):
    """A tiny BERT with three layers, the vocabulary of `tiny_models`."""
    return mlmviz.load(make_checkpoint("bert", tmp_path_factory.mktemp("deep") / "three",
                                       seed=3, layers=3))


def _direct_lens(model, word, mask_index=0, positions=()):
    """(probability, rank) per layer of `word`, from `lens_logits` in float64."""
    logits = lens_logits(model, model.mask(TEXT, positions))[:, mask_index]  # (layers + 1, vocab)
    logits = logits.astype("float64")
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)  # (layers + 1, vocab)
    (token_id,) = model.tokenizer.encode_words([word])[0]
    return [(float(row[token_id]), int((row > row[token_id]).sum()) + 1) for row in p]


def test_the_lens_of_both_models_equals_a_direct_computation(tiny_models):
    model_a, model_b = tiny_models
    table = compare.compare_lens(model_a, model_b, TEXT, (2,), 6, "dog")
    assert list(table.columns) == ["model", "layer", "depth", "probability", "rank"]
    for name, model in zip("AB", tiny_models):
        rows = table[table["model"] == name]
        assert list(rows["layer"]) == ["embeddings", "layer 1", "layer 2"]
        direct = _direct_lens(model, "dog", mask_index=1, positions=(2,))  # position 6
        assert list(rows["probability"]) == pytest.approx([p for p, _ in direct], rel=1e-5)
        assert list(rows["rank"]) == [r for _, r in direct]
    a, b = (table[table["model"] == name]["probability"].tolist() for name in "AB")
    assert a != pytest.approx(b, rel=1e-3), "different weights must give different courses"


def test_the_last_layer_is_each_models_own_prediction(tiny_models):
    table = compare.compare_lens(*tiny_models, TEXT, (), 6, "park")
    for name, model in zip("AB", tiny_models):
        (target,) = model.fill_mask(TEXT, targets=("park",))["masks"][0]["targets"]
        last = table[table["model"] == name].iloc[-1]
        assert last["probability"] == pytest.approx(target["probability"], rel=1e-5)
        assert last["rank"] == target["rank"]


def test_the_lens_follows_the_final_prediction_as_the_lens_table_does(default_model):
    masked = default_model.mask(TEXT)
    course = logit_lens.lens_table(lens_logits(default_model, masked), 0,
                                   default_model.vocabulary)
    table = compare.compare_lens(default_model, default_model, TEXT, (), 6, course["final"])
    for name in "AB":
        rows = table[table["model"] == name]
        assert list(rows["probability"]) == [r["final_probability"] for r in course["layers"]]
        assert list(rows["rank"]) == [r["final_rank"] for r in course["layers"]]
    assert compare.settled_layer(table, "A") == compare.settled_layer(table, "B")


def test_models_of_different_depths_keep_their_own_layers(tiny_models, deeper_model):
    table = compare.compare_lens(tiny_models[0], deeper_model, TEXT, (), 6, "dog")
    assert list(table[table["model"] == "A"]["depth"]) == [0, 1, 2]
    assert list(table[table["model"] == "B"]["layer"]) == [
        "embeddings", "layer 1", "layer 2", "layer 3"]
    direct = _direct_lens(deeper_model, "dog")
    assert list(table[table["model"] == "B"]["rank"]) == [r for _, r in direct]


def test_a_vocabulary_piece_is_followed_as_that_token(default_model):
    piece = default_model.vocabulary.index("##s")
    assert compare.word_ids(default_model, default_model, "##s") == (piece, piece)
    assert compare.word_ids(default_model, default_model, " Dog ") == (
        default_model.vocabulary.index("dog"),) * 2


@pytest.mark.parametrize("word, message", [
    ("", "Choose a word"),
    ("yesterday", r"is 9 tokens for model B \(y \+ ##e"),  # one token in A's vocabulary
    ("snowman", r"is 2 tokens for model A"),  # one token in B's vocabulary
    ("€", r"Model B's vocabulary lacks “€” \(it reads as \[UNK\]\)"),
])
def test_a_word_that_is_not_one_token_in_both_gets_a_message(default_model, tiny_models, word,
                                                             message):
    with pytest.raises(ValueError, match=message):
        compare.compare_lens(default_model, tiny_models[0], TEXT, (), 6, word)


def test_a_position_that_is_not_a_mask_is_refused(default_model):
    with pytest.raises(ValueError, match="Position 3 is not a mask"):
        compare.compare_lens(default_model, default_model, TEXT, (), 3, "dog")


def test_the_settled_layer_is_where_rank_one_holds_to_the_top():
    table = pd.DataFrame({
        "model": ["A"] * 4 + ["B"] * 3, "layer": ["e", "1", "2", "3", "e", "1", "2"],
        "depth": [0, 1, 2, 3, 0, 1, 2], "probability": [0.0] * 7,
        "rank": [1, 3, 1, 1, 1, 1, 2],
    })
    assert compare.settled_layer(table, "A") == "2"  # rank 1 at "e" did not hold
    assert compare.settled_layer(table, "B") is None  # lost at the last layer


# Attention at the mask, side by side


def test_the_masks_attention_rows_are_each_models_own(tiny_models, deeper_model):
    for model_b in (tiny_models[1], deeper_model):
        result = compare.compare_attention(tiny_models[0], model_b, TEXT, (2,), 6)
        assert result["tokens"][6] == "[MASK]" and result["tokens"][2] == "cat"  # as typed
        assert result["special"] == [0, len(result["tokens"]) - 1]
        for side, model in (("a", tiny_models[0]), ("b", model_b)):
            weights = attention.attention(model, model.mask(TEXT, (2,)))  # (l, h, seq, seq)
            np.testing.assert_array_equal(result[side], weights[:, :, 6])
            assert np.allclose(result[side].sum(-1), 1, atol=1e-5)
    assert result["b"].shape[0] == 3 and result["a"].shape[0] == 2  # depths of their own
    same = compare.compare_attention(*tiny_models, TEXT, (), 6)
    assert not np.allclose(same["a"], same["b"], atol=1e-3), "different weights, other rows"


def test_attention_is_not_compared_across_tokenizers(default_model, tiny_models):
    with pytest.raises(ValueError, match=r"different tokenizers \(vocabularies of 30,522 and"):
        compare.compare_attention(default_model, tiny_models[0], TEXT, (), 6)
    with pytest.raises(ValueError, match="Position 2 is not a mask"):
        compare.compare_attention(default_model, default_model, TEXT, (), 2)
