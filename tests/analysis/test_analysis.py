"""The analysis behind the anatomy, hidden-state, embedding and logit-lens pages,
checked against direct numpy computations on real models."""

import json

import numpy as np
import pandas as pd
import pytest

import mlmviz
from hf_checkpoints import make_checkpoint, set_output_bias, untie_bert
from mlmviz.analysis import anatomy, gathered, logit_lens, neighbours
from mlmviz.analysis.projection import pca
from mlmviz.distributions import softmax
from mlmviz.figures.logits import lens_lines, logit_split_bars, norm_bias_scatter
from mlmviz.figures.vectors import scatter_2d, vector_heatmap

pytestmark = pytest.mark.backends

TEXT = "the [MASK] barked at the [MASK] all night."


@pytest.fixture(scope="module")
def masked(default_model):
    return default_model.mask(TEXT, positions=(7,))  # "night" hidden too


@pytest.fixture(scope="module")
def stages(default_model, masked):
    return default_model.stages(masked)


@pytest.fixture(scope="module")
def untied(tmp_path_factory):
    directory = make_checkpoint("bert", tmp_path_factory.mktemp("untied") / "bert")
    return mlmviz.load(untie_bert(directory))


# Head anatomy


def test_context_plus_bias_is_the_logit(stages):
    ids = np.arange(0, 30522, 7)
    for index in range(3):
        parts = anatomy.decompose(stages, index, ids)
        np.testing.assert_allclose(parts["context"] + parts["bias"], parts["logit"], atol=1e-5)


def test_context_term_is_the_normed_vector_times_the_embedding(default_model, stages):
    direct = stages["normed"][0].astype("float64") @ default_model.embedding_matrix.T.astype("float64")
    np.testing.assert_allclose(stages["context_logits"][0], direct, atol=1e-4)


def test_layer_norm_stage_matches_the_formula(default_model, stages):
    gamma, beta = (np.asarray(w) for w in default_model.head._intermediate_layer_norm.weights)
    x = stages["activated"][0].astype("float64")  # (masks, feature)
    eps = default_model.head.layer_norm_epsilon
    direct = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps) * gamma + beta
    np.testing.assert_allclose(stages["normed"][0], direct, atol=1e-4)
    summary = anatomy.vector_summary(stages, 0)
    assert [row["stage"] for row in summary][0] == "Gathered hidden state"
    assert summary[3]["norm"] == pytest.approx(np.linalg.norm(stages["normed"][0, 0]), rel=1e-6)


def test_anatomy_table_agrees_with_fill_mask(default_model, stages):
    table = anatomy.anatomy_table(stages, 1, default_model.vocabulary, top_k=8)
    predictions = default_model.fill_mask(TEXT, top_k=8, positions=(7,))["masks"][1]["predictions"]
    assert [row["token"] for row in table] == [p["token"] for p in predictions]
    for row, prediction in zip(table, predictions):
        assert row["probability"] == pytest.approx(prediction["probability"], abs=1e-6)
        assert row["context"] + row["bias"] == pytest.approx(row["logit"], abs=1e-5)


def test_the_default_models_bias_is_negligible(default_model, stages):
    for mask in range(3):
        weight = anatomy.bias_weight(stages, mask, top_k=5)
        context = stages["context_logits"][0, mask]
        assert weight["negligible"] and weight["ratio"] < 0.2
        assert weight["bias_lift"] == pytest.approx(
            default_model.output_bias.max() - np.median(default_model.output_bias), rel=1e-6)
        assert weight["context_lift"] == pytest.approx(context.max() - np.median(context),
                                                       rel=1e-5)
        assert weight["bias_range"] == pytest.approx(
            (default_model.output_bias.min(), default_model.output_bias.max()))
        assert weight["prior_top"] < 6 * weight["uniform"]  # flat on its own (5.5x here)


@pytest.fixture(scope="module")
def frequency_prior(tmp_path_factory):
    """A tiny BERT whose bias favours "the" and "." by 6 (a frequency prior)."""
    directory = make_checkpoint("bert", tmp_path_factory.mktemp("prior") / "bert")

    def prior(vocabulary):
        bias = np.zeros(len(vocabulary))
        bias[[vocabulary["the"], vocabulary["."]]] = 6.0
        return bias

    return mlmviz.load(set_output_bias(directory, prior))


def test_a_real_bias_is_not_negligible(frequency_prior):
    stages = frequency_prior.stages(frequency_prior.mask("a [MASK] sat on the [MASK] mat ."))
    for mask in range(2):
        weight = anatomy.bias_weight(stages, mask)
        assert not weight["negligible"] and weight["ratio"] > 0.5
        assert weight["bias_lift"] == pytest.approx(6.0)
    prior = anatomy.bias_only_top(stages["bias"], frequency_prior.vocabulary, 2)
    assert {row["token"] for row in prior} == {"the", "."}


def test_bias_only_distribution_is_softmax_of_the_bias(default_model, stages):
    prior = softmax(default_model.output_bias)
    top = anatomy.bias_only_top(stages["bias"], default_model.vocabulary, top_k=5)
    assert [row["token"] for row in top] == [default_model.vocabulary[i] for i in np.argsort(-prior)[:5]]
    assert top[0]["probability"] == pytest.approx(prior.max(), rel=1e-5)
    table = anatomy.anatomy_table(stages, 0, default_model.vocabulary, top_k=3)
    token_id = default_model.vocabulary.index(table[0]["token"])
    assert table[0]["bias_only_probability"] == pytest.approx(prior[token_id], rel=1e-5)


# PCA


def test_pca_matches_the_covariance_eigenvectors():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 6)) * [5, 3, 1, 0.5, 0.2, 0.1]
    coordinates, explained = pca(x)
    centred = x - x.mean(0)
    values, vectors = np.linalg.eigh(np.cov(centred.T))
    top = vectors[:, ::-1][:, :2]  # (6, 2)
    reference = centred @ top
    for i in range(2):  # the sign of a component is a convention
        assert np.allclose(coordinates[:, i], reference[:, i], atol=1e-8) or np.allclose(
            coordinates[:, i], -reference[:, i], atol=1e-8)
    np.testing.assert_allclose(explained, values[::-1][:2] / values.sum(), rtol=1e-8)


def test_pca_is_deterministic_and_handles_degenerate_input():
    x = np.random.default_rng(1).normal(size=(5, 3))
    assert np.array_equal(pca(x)[0], pca(x.copy())[0])
    line = np.outer(np.arange(4.0), [1.0, 2.0, 0.0])
    coordinates, explained = pca(line)
    assert coordinates.shape == (4, 1)
    np.testing.assert_allclose(explained, [1.0], atol=1e-12)
    assert pca(np.ones((3, 4)))[0].shape == (3, 0) and pca(np.ones((3, 4)))[1].size == 0
    with pytest.raises(ValueError, match="at least two vectors"):
        pca(np.ones((1, 4)))


def test_pca_draws_no_axis_of_float_noise(default_model):
    result = gathered.collect(default_model, [TEXT])  # two masks: two vectors
    for vectors in (result.gathered, result.normed):
        coordinates, explained = pca(vectors)
        assert coordinates.shape == (2, 1) and explained.tolist() == pytest.approx([1.0])
    twice = gathered.collect(default_model, [TEXT, TEXT])
    assert len(twice.token) == 4 and pca(twice.normed)[0].shape == (4, 1)  # 2 distinct
    three = gathered.collect(default_model, [TEXT, "he opened the [MASK] ."])
    assert pca(three.normed)[0].shape == (3, 2)
    x = np.random.default_rng(2).normal(size=(1, 64)).astype("float32")  # (1, 64)
    rounded = np.concatenate([x, x * np.float32(1 + 2e-7), x * np.float32(1 - 2e-7)])
    assert len(np.unique(rounded, axis=0)) == 3  # distinct, but only by rounding
    assert pca(rounded)[0].shape == (3, 0)


# Nearest rows and the tie


def test_dot_product_neighbours_are_the_logit_order_without_the_bias(default_model, stages):
    vector = stages["normed"][0, 0]
    ids, scores = neighbours.nearest_rows(default_model.output_matrix, vector, 20, "dot")
    context = stages["logits"][0, 0] - stages["bias"]
    assert ids.tolist() == np.argsort(-context, kind="stable")[:20].tolist()
    np.testing.assert_allclose(scores, context[ids], atol=1e-4)


def test_cosine_neighbours_match_a_brute_force_loop(default_model, stages):
    matrix = default_model.output_matrix
    vector = stages["normed"][0, 2]
    ids, scores = neighbours.nearest_rows(matrix, vector, 10, "cosine", neighbours.row_norms(matrix))
    brute = [float(row @ vector / (np.linalg.norm(row) * np.linalg.norm(vector))) for row in matrix]
    assert ids.tolist() == np.argsort(-np.array(brute), kind="stable")[:10].tolist()
    np.testing.assert_allclose(scores, np.array(brute)[ids], atol=1e-5)
    with pytest.raises(ValueError, match="zero vector"):
        neighbours.nearest_rows(matrix, np.zeros_like(vector), 3, "cosine")
    with pytest.raises(ValueError, match="metric"):
        neighbours.nearest_rows(matrix, vector, 3, "euclid")


def test_cosine_matrix_is_symmetric_with_a_unit_diagonal(default_model):
    rows = default_model.output_matrix[[1000, 2000, 3000, 4000]]
    similarity = neighbours.cosine_matrix(rows)
    np.testing.assert_allclose(similarity, similarity.T, atol=1e-12)
    np.testing.assert_allclose(np.diag(similarity), 1, atol=1e-12)
    direct = rows[0] @ rows[1] / (np.linalg.norm(rows[0]) * np.linalg.norm(rows[1]))
    assert similarity[0, 1] == pytest.approx(direct, abs=1e-6)


def test_tie_report_tells_tied_from_untied(default_model, untied):
    report = neighbours.tie_report(default_model.output_matrix, default_model.embedding_matrix)
    assert report["tied"] and report["max_abs_difference"] == 0.0
    report = neighbours.tie_report(untied.output_matrix, untied.embedding_matrix)
    assert not report["tied"] and report["same_shape"] and report["max_abs_difference"] > 0.1
    assert not neighbours.tie_report(np.ones((3, 2)), np.ones((3, 4)))["same_shape"]


def test_untied_output_matrix_reproduces_the_logits(untied):
    stages = untied.stages(untied.mask("the [MASK] sat ."))
    direct = stages["normed"][0] @ untied.output_matrix.T + untied.output_bias
    np.testing.assert_allclose(stages["logits"][0], direct, atol=1e-4)


# Logit lens


def test_logit_lens_last_layer_is_the_prediction(default_model, masked, stages):
    logits = logit_lens.lens_logits(default_model, masked)
    assert logits.shape == (default_model.metadata["num_layers"] + 1, 3, 30522)
    np.testing.assert_allclose(logits[-1], stages["logits"][0], atol=1e-5)
    table = logit_lens.lens_table(logits, 0, default_model.vocabulary, top_k=4)
    top = default_model.fill_mask(TEXT, top_k=4, positions=(7,))["masks"][0]["predictions"]
    assert table["final"] == top[0]["token"]
    assert table["layers"][-1]["top"] == [p["token"] for p in top]
    assert table["layers"][-1]["final_rank"] == 1
    assert [row["layer"] for row in table["layers"]] == ["embeddings", "layer 1", "layer 2"]


def test_logit_lens_early_layers_apply_the_head_to_those_states(default_model, masked):
    logits = logit_lens.lens_logits(default_model, masked)
    states = default_model.layer_states(masked)  # (layers + 1, masks, hidden)
    for layer in range(len(states)):
        direct = default_model.head.stages(states[layer][None], np.array([[0, 1, 2]]))["logits"][0]
        np.testing.assert_allclose(logits[layer], direct, rtol=1e-6, atol=1e-5)  # float32


def test_logit_lens_works_on_an_untied_checkpoint(untied):
    masked = untied.mask("the [MASK] sat .")
    logits = logit_lens.lens_logits(untied, masked)
    np.testing.assert_allclose(logits[-1], untied.stages(masked)["logits"][0], atol=1e-5)


# Gathered vectors across sentences


def test_collect_keeps_every_mask_and_skips_bad_lines(default_model):
    texts = ["he opened the [MASK] .", "no mask here", "", "the [MASK] barked at the [MASK] ."]
    result = gathered.collect(default_model, texts)
    assert result.sentence == (0, 3, 3)
    assert [line for line, _ in result.skipped] == [2, 3]
    assert "Nothing is masked" in result.skipped[0][1] and "empty" in result.skipped[1][1]
    masked = default_model.mask(texts[3])
    stages = default_model.stages(masked)
    np.testing.assert_allclose(result.gathered[1:], stages["gathered"][0], atol=1e-6)
    np.testing.assert_allclose(result.normed[1:], stages["normed"][0], atol=1e-6)
    first = default_model.fill_mask(texts[0], top_k=1)["masks"][0]["predictions"][0]["token"]
    assert result.predicted[0] == first
    assert result.text == (texts[0], texts[3], texts[3])
    assert gathered.labels(result) == ["he opened the [MASK]₄", "the [MASK]₂",
                                       "the [MASK] barked … [MASK]₆"]


def test_labels_are_unique_and_name_the_sentence_and_position(default_model):
    texts = ["the old man feeds the [MASK] in the garden .",
             "the old man feeds the [MASK] every day .", "[MASK] ran away .",
             "unbelievably extraordinary circumstances [MASK] ."]
    result = gathered.collect(default_model, texts, [(), (), (), ()])
    assert gathered.labels(result) == [
        "the old man … [MASK]₆ (line 1)", "the old man … [MASK]₆ (line 2)", "[MASK]₁",
        "unbelievably extraordin … [MASK]₈"]  # position counts word pieces
    assert [result.text[n][result.start[n]:][:6] for n in range(4)] == ["[MASK]"] * 4


def test_collect_of_nothing_is_empty(default_model):
    result = gathered.collect(default_model, ["no mask"])
    assert result.token == () and result.gathered.shape[0] == 0


# Figure builders


def _spec(figure):
    return json.loads(figure.to_json())


def test_figures_carry_their_data_as_plain_lists(default_model, stages):
    table = pd.DataFrame(anatomy.anatomy_table(stages, 0, default_model.vocabulary, top_k=4))
    split = _spec(logit_split_bars(table))
    assert [trace["y"] for trace in split["data"]] == [table["token"].tolist()] * 2
    assert split["data"][1]["x"] == pytest.approx(table["bias"].tolist())
    heat = _spec(vector_heatmap(stages["normed"][0], ["a", "b", "c"]))
    assert len(heat["data"][0]["z"]) == 3 and len(heat["data"][0]["z"][0]) == 128
    points = pd.DataFrame({"x": [0.0, 1.0], "y": [1.0, 0.0], "label": ["a", "b"],
                           "group": ["→ x", "→ y"], "hover": ["a", "b"]})
    assert len(_spec(scatter_2d(points))["data"]) == 2
    scatter = _spec(norm_bias_scatter(np.ones(5), np.arange(5.0), list("abcde"), [4]))
    assert scatter["data"][1]["text"] == ["e"] and scatter["data"][1]["y"] == [4.0]
    lines = _spec(lens_lines(["embeddings", "layer 1"], [0.1, 0.5], [40, 1], "door"))
    assert lines["data"][1]["y"] == [40, 1]


@pytest.mark.parametrize("architecture", ["distilbert", "roberta", "albert"])
def test_the_analyses_hold_for_every_architecture(architecture, tmp_path):
    model = mlmviz.load(make_checkpoint(architecture, tmp_path / architecture))
    mask = model.tokenizer.mask_token
    masked = model.mask(f"the {mask} sat on the {mask} .")
    stages = model.stages(masked)
    ids = np.arange(model.head.vocabulary_size)
    parts = anatomy.decompose(stages, 1, ids)
    np.testing.assert_allclose(parts["context"] + parts["bias"], parts["logit"], atol=1e-5)
    direct = stages["normed"][0] @ model.output_matrix.T + model.output_bias
    np.testing.assert_allclose(stages["logits"][0], direct, atol=1e-4)
    lens = logit_lens.lens_logits(model, masked)
    assert lens.shape[0] == model.metadata["num_layers"] + 1
    np.testing.assert_allclose(lens[-1], stages["logits"][0], atol=1e-5)
    result = gathered.collect(model, [f"a {mask} b .", f"{mask} c ."])
    assert pca(result.normed)[0].shape == (2, 1)  # two vectors make a line


def test_median_standing_is_the_fraction_of_the_vocabulary_below():
    values = np.array([5.0, 1.0, 3.0, 2.0, 4.0])
    assert neighbours.median_standing(values, [0]) == 0.8  # 4 of 5 are smaller
    assert neighbours.median_standing(values, [1]) == 0.0
    assert neighbours.median_standing(values, [0, 1, 2]) == 0.4
