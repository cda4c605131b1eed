"""CSV and JSON exports of every page, and reading a Predict view back."""

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest

from mlmviz import export
from mlmviz.analysis import anatomy, compare, gathered, logit_lens, neighbours
from mlmviz.analysis.masking_lab import masking_lab
from mlmviz.analysis.projection import pca
from mlmviz.analysis.pseudo_likelihood import pseudo_log_likelihood

RESULT = {
    "tokens": ["[CLS]", "the", "[MASK]", "sat", "[SEP]"],
    "masks": [{
        "position": 2, "original": "[MASK]",
        "predictions": [
            {"token": "cat", "token_id": 7, "probability": 0.5, "logit": 3.25},
            {"token": "dog", "token_id": 9, "probability": 0.25, "logit": 2.5},
        ],
    }],
}
META = {"source": "default", "weight_hash": "abc123"}


def test_csv_has_one_row_per_prediction():
    rows = list(csv.DictReader(io.StringIO(export.predictions_csv(RESULT))))
    assert [(r["rank"], r["token"], r["probability"]) for r in rows] == [("1", "cat", "0.5"), ("2", "dog", "0.25")]


def test_bundle_round_trip():
    text = export.view_bundle(RESULT, META, "the [MASK] sat", [1], 5, 0.7)
    bundle = export.read_bundle(text.encode())
    assert (bundle["text"], bundle["positions"], bundle["top_k"], bundle["temperature"]) == (
        "the [MASK] sat", [1], 5, 0.7)
    assert bundle["weight_hash"] == "abc123" and bundle["masks"] == RESULT["masks"]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not an mlmviz view"),
        (json.dumps({"mlmviz_view": 1, "text": "a"}).encode(), "'positions' is missing"),
        (json.dumps({"mlmviz_view": 1, "text": "a", "positions": ["x"], "top_k": 5,
                     "temperature": 1}).encode(), "positions must be integers"),
        (json.dumps({"mlmviz_view": 1, "text": "a", "positions": [], "top_k": True,
                     "temperature": 1}).encode(), "'top_k' is missing or has the wrong type"),
    ],
)
def test_bad_bundles_are_refused_with_a_reason(data, message):
    with pytest.raises(ValueError, match=message):
        export.read_bundle(data)


# The analysis pages' files, built from real results of the default model and read back.

TEXT = "the [MASK] barked at the [MASK] all night."


def _read(text, **kwargs):
    return pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""], **kwargs)


@pytest.fixture(scope="module")
def model():
    import mlmviz

    return mlmviz.load("default")


@pytest.fixture(scope="module")
def stages(model):
    return model.stages(model.mask(TEXT))


def test_stage_vectors_have_one_row_per_dimension_and_one_column_per_stage(model, stages):
    frame = _read(export.stage_vectors_csv(stages, 1),
                  dtype={name: "float32" for name in anatomy.VECTOR_STAGES})
    assert list(frame.columns) == ["dimension", *anatomy.VECTOR_STAGES]
    assert frame["dimension"].tolist() == list(range(stages["normed"].shape[-1]))
    for name in anatomy.VECTOR_STAGES:
        np.testing.assert_array_equal(frame[name].to_numpy(), stages[name][0, 1])


def test_stage_vectors_of_unequal_length_leave_empty_cells():
    stages = {"gathered": np.arange(6, dtype="float32").reshape(1, 1, 6),
              **{n: np.ones((1, 1, 2), "float32") for n in anatomy.VECTOR_STAGES[1:]}}
    frame = _read(export.stage_vectors_csv(stages, 0))
    assert frame["gathered"].tolist() == [0, 1, 2, 3, 4, 5]
    assert frame["normed"].isna().tolist() == [False, False, True, True, True, True]


def test_logit_split_is_the_anatomy_table_with_ranks(model, stages):
    rows = anatomy.anatomy_table(stages, 0, model.vocabulary, 7, 0.8)
    frame = _read(export.logit_split_csv(stages, 0, model.vocabulary, 7, 0.8))
    assert list(frame.columns) == ["rank", *rows[0]]
    assert frame["rank"].tolist() == list(range(1, 8))
    assert frame.drop(columns="rank").to_dict("records") == rows


def test_anatomy_json_holds_every_stage_vector_and_the_top_tokens(model, stages):
    data = json.loads(export.anatomy_json(stages, 1, model.vocabulary, 5, 1.0, 6, "[MASK]"))
    assert (data["position"], data["token"], data["temperature"]) == (6, "[MASK]", 1.0)
    assert list(data["vectors"]) == list(anatomy.VECTOR_STAGES)
    for name, vector in data["vectors"].items():
        np.testing.assert_array_equal(np.float32(vector), stages[name][0, 1])
    assert data["summary"] == anatomy.vector_summary(stages, 1)
    assert data["top_tokens"] == anatomy.anatomy_table(stages, 1, model.vocabulary, 5, 1.0)


@pytest.fixture(scope="module")
def states(model):
    return gathered.collect(model, [TEXT, "she drank a [MASK] of tea ."])


def test_state_vectors_have_one_row_per_stage_and_mask(states):
    frame = _read(export.state_vectors_csv(states))
    masks = len(states.token)
    assert masks == 3
    assert frame["stage"].tolist() == ["gathered"] * masks + ["normed"] * masks
    assert frame["label"].tolist() == gathered.labels(states) * 2
    assert frame["sentence"].tolist() == [1, 1, 2] * 2
    assert frame["predicted"].tolist() == list(states.predicted) * 2
    dims = [str(d) for d in range(states.gathered.shape[1])]
    np.testing.assert_array_equal(frame[dims].to_numpy("float32"),
                                  np.concatenate([states.gathered, states.normed]))


def test_state_pca_points_are_the_scatters_points(states):
    frame = _read(export.state_pca_csv(states))
    assert frame["position"].tolist() == list(states.position)
    for stage in ("gathered", "normed"):
        coordinates, _ = pca(getattr(states, stage))
        assert coordinates.shape[1] == 2  # three sentences: a plane
        np.testing.assert_array_equal(frame[[f"{stage}_x", f"{stage}_y"]].to_numpy(), coordinates)


def test_a_pca_axis_at_noise_level_is_an_empty_column(model):
    two = gathered.collect(model, ["the [MASK] barked at the [MASK] all night."])
    frame = _read(export.state_pca_csv(two))
    assert frame["gathered_x"].notna().all() and frame["gathered_y"].isna().all()


def test_neighbours_are_the_nearest_rows_by_dot_then_cosine(model, stages):
    matrix, vector = model.output_matrix, stages["normed"][0, 0]
    norms, bias = neighbours.row_norms(matrix), model.output_bias
    frame = _read(export.neighbours_csv(matrix, vector, 6, model.vocabulary, norms, bias))
    assert frame["metric"].tolist() == ["dot"] * 6 + ["cosine"] * 6
    assert frame["rank"].tolist() == [1, 2, 3, 4, 5, 6] * 2
    for metric, rows in frame.groupby("metric"):
        ids, scores = neighbours.nearest_rows(matrix, vector, 6, metric, norms)
        assert rows["token_id"].tolist() == ids.tolist()
        assert rows["token"].tolist() == [model.vocabulary[i] for i in ids]
        np.testing.assert_array_equal(rows["score"].to_numpy("float32"), scores)
        np.testing.assert_array_equal(rows["bias"].to_numpy("float32"), bias[ids])
    zero = _read(export.neighbours_csv(matrix, np.zeros_like(vector), 3, model.vocabulary,
                                       norms, bias))
    assert zero["metric"].tolist() == ["dot"] * 3  # a zero vector has no cosine


def test_lens_has_one_row_per_layer(model):
    logits = logit_lens.lens_logits(model, model.mask(TEXT))
    result = logit_lens.lens_table(logits, 0, model.vocabulary, 3)
    frame = _read(export.lens_csv(result))
    assert list(frame.columns) == ["layer", "top_1", "top_2", "top_3", "top_probability",
                                   "final_token", "final_rank", "final_probability"]
    assert frame["layer"].tolist() == ["embeddings", "layer 1", "layer 2"]
    for row, layer in zip(frame.to_dict("records"), result["layers"]):
        assert [row["top_1"], row["top_2"], row["top_3"]] == layer["top"]
        assert row["final_rank"] == layer["final_rank"]
        assert row["final_probability"] == layer["final_probability"]
    assert set(frame["final_token"]) == {result["final"]}


def test_masking_lab_has_one_row_per_token_and_a_loss_where_selected(model):
    result = masking_lab(model, "the children played in the park after school.", seed=3,
                         selection_rate=0.4)
    frame = _read(export.masking_lab_csv(result, model.vocabulary), dtype={"loss": "float32"})
    assert frame["position"].tolist() == list(range(len(result.tokens)))
    assert frame["token"].tolist() == list(result.tokens)
    assert frame["model_reads"].tolist() == list(result.shown)
    assert frame["action"].fillna("").tolist() == result.actions
    selected = frame.dropna(subset=["loss"])
    assert selected["position"].tolist() == result.corruption.positions.tolist()
    np.testing.assert_array_equal(selected["loss"].to_numpy(), result.losses)
    assert selected["prediction"].tolist() == [model.vocabulary[i] for i in result.predictions]


def test_pseudo_likelihood_has_one_row_per_scored_token(model):
    pll = pseudo_log_likelihood(model, "the children played in the park.")
    frame = _read(export.pseudo_likelihood_csv(pll), dtype={"log_probability": "float32",
                                                             "surprise": "float32"})
    assert frame["position"].tolist() == pll.positions.tolist()
    assert frame["token"].tolist() == list(pll.tokens)
    np.testing.assert_array_equal(frame["log_probability"].to_numpy(), pll.log_probabilities)
    np.testing.assert_array_equal(frame["surprise"].to_numpy(), pll.surprise)


def test_compare_files_hold_the_summary_the_bars_and_the_targets(model):
    result = compare.compare_masks(model, model, TEXT, top_k=4, targets=("dog", "cat"))
    summary = _read(export.compare_summary_csv(result))
    assert summary["position"].tolist() == [2, 6]
    for row, mask in zip(summary.to_dict("records"), result["masks"]):
        assert (row["kl_ab"], row["kl_ba"], row["js"]) == (mask["kl_ab"], mask["kl_ba"], mask["js"])
        assert (row["shared_top_k"], row["top_k"], row["jaccard"]) == (4, 4, 1.0)
        assert row["entropy_a"] == mask["a"]["entropy"]
    tokens = _read(export.compare_tokens_csv(result))
    assert tokens.to_dict("records") == [
        {"position": m["position"], **row} for m in result["masks"] for row in m["rows"]]
    targets = _read(export.compare_targets_csv(result))
    assert targets[["position", "word"]].values.tolist() == [[2, "dog"], [2, "cat"],
                                                             [6, "dog"], [6, "cat"]]
    first = result["masks"][0]["b"]["targets"][1]
    assert (targets.loc[1, "probability_b"], targets.loc[1, "rank_b"]) == (
        first["probability"], first["rank"])


def test_compare_leaves_divergences_empty_across_vocabularies(model, tmp_path):
    import mlmviz
    from hf_checkpoints import make_checkpoint

    tiny = mlmviz.load(make_checkpoint("bert", tmp_path / "tiny"))
    result = compare.compare_masks(model, tiny, "the [MASK] sat on the mat .", top_k=5)
    summary = _read(export.compare_summary_csv(result))
    assert summary[["kl_ab", "kl_ba", "js"]].isna().all(axis=None)
    tokens = _read(export.compare_tokens_csv(result))
    missing = tokens[~tokens["token"].isin(tiny.vocabulary)]
    assert len(missing) and missing["probability_b"].isna().all()


def test_provenance_keeps_a_json_files_layout_and_reads_back():
    """The whole attention tensor stays compact (indenting it would multiply its size)."""
    compact = export.attention_json(["[CLS]", "a"], np.zeros((1, 1, 2, 2), dtype=np.float32))
    indented = export.evaluation_summary_json({"lines": 3})
    origin = {"model": "default", "weight_hash": "0123456789abcdef"}
    for content in (compact, indented):
        written = export.with_provenance("f.json", content, origin)
        assert written.count("\n") == content.count("\n") + (0 if content == compact else 4)
        assert export.read_provenance("f.json", written) == origin
        assert {k: v for k, v in json.loads(written).items() if k != "provenance"} == json.loads(content)
