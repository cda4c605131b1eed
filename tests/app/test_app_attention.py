"""The Attention page in AppTest: the grid of the mask's rows, one head's matrix, the
special tokens hidden, the prediction and the logit lens beside it, links and bad input."""

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import mlmviz.analysis.attention
import mlmviz.inspection
from mlmviz.app import ENTRY
from mlmviz.analysis import logit_lens

APP = ENTRY
TEXT = "the [MASK] barked at the [MASK] all night."  # masks at 2 and 6
TOKENS = ["[CLS]", "the", "[MASK]", "barked", "at", "the", "[MASK]", "all", "night", ".", "[SEP]"]


def _open(query):
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.query_params.update(query)
    app.switch_page("app_pages/attention.py")
    app.run()
    assert not app.exception, app.exception
    return app


def _chart(app, title):
    """The first chart whose title starts with `title`."""
    charts = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    return next(c for c in charts if c["layout"]["title"]["text"].startswith(title))


def _grid(app):
    return _chart(app, "What the mask")


def _matrix(app):
    return _chart(app, "Layer ")


@pytest.fixture(scope="module")
def expected(default_model):
    """The default model's attention `(layers, heads, seq, seq)` and lens table on TEXT."""
    masked = default_model.mask(TEXT)
    weights = mlmviz.analysis.attention.attention(default_model, masked)
    lens = logit_lens.lens_logits(default_model, masked)
    return weights, [logit_lens.lens_table(lens, i, default_model.vocabulary) for i in (0, 1)]


def test_the_grid_has_a_row_per_layer_and_head_with_the_lens_rank_beside_it(expected):
    weights, lens = expected
    app = _open({"text": TEXT})
    grid = _grid(app)
    layers, heads = weights.shape[:2]
    assert grid["data"][0]["y"] == [f"layer {l} · head {h}" for l in range(1, layers + 1)
                                    for h in range(1, heads + 1)]
    np.testing.assert_allclose(grid["data"][0]["z"], weights[:, :, 2].reshape(layers * heads, -1),
                               rtol=1e-6)
    assert grid["layout"]["xaxis"]["ticktext"] == TOKENS
    ranks = [row["final_rank"] for row in lens[0]["layers"]]
    assert grid["data"][1]["text"] == [f"#{rank:,}" for rank in ranks[1:]]
    assert lens[0]["final"] in grid["layout"]["xaxis2"]["title"]["text"]
    average = _chart(app, "The same, averaged")
    np.testing.assert_allclose(average["data"][0]["z"], weights[:, :, 2].mean(axis=1), rtol=1e-6)


def test_the_prediction_is_predicts_top_k(default_model):
    app = _open({"text": TEXT, "top_k": "3", "mask": "6"})
    bars = _chart(app, "The head's prediction")
    result = default_model.fill_mask(TEXT, top_k=3)
    assert bars["data"][0]["y"] == [p["token"] for p in result["masks"][1]["predictions"]]
    assert any("Top 3 at temperature 1.0" in c.value for c in app.caption)


def test_a_chosen_layer_and_head_show_that_matrix(expected):
    weights, _ = expected
    app = _open({"text": TEXT})
    np.testing.assert_allclose(_matrix(app)["data"][0]["z"], weights[0, 0], rtol=1e-6)
    app.selectbox(key="layer").select(2).run()
    app.selectbox(key="head").select(2).run()
    matrix = _matrix(app)
    assert matrix["layout"]["title"]["text"].startswith("Layer 2, head 2")
    np.testing.assert_allclose(matrix["data"][0]["z"], weights[1, 1], rtol=1e-6)
    assert app.query_params["layer"] == "2" and app.query_params["head"] == "2"


def test_hiding_the_special_tokens_removes_their_columns_without_renormalising(expected):
    weights, _ = expected
    app = _open({"text": TEXT})
    assert app.toggle(key="hide_special").label == "Hide `[CLS]`, `[SEP]`"
    app.toggle(key="hide_special").set_value(True).run()
    words = list(range(1, len(TOKENS) - 1))
    grid = _grid(app)
    assert grid["layout"]["xaxis"]["ticktext"] == TOKENS[1:-1]
    np.testing.assert_allclose(grid["data"][0]["z"][0], weights[0, 0, 2, words], rtol=1e-6)
    matrix = _matrix(app)
    assert matrix["layout"]["xaxis"]["ticktext"] == TOKENS[1:-1]
    assert len(matrix["data"][0]["z"]) == len(words)  # rows too
    assert any("not renormalised" in c.value for c in app.caption)
    assert app.query_params["hide_special"] == "1"


def test_a_text_without_a_mask_shows_a_message_and_keeps_the_text():
    app = _open({"text": "the dog barked all night."})
    assert any("Nothing is masked" in info.value for info in app.info)
    assert app.text_area(key="text").value == "the dog barked all night."
    app.text_area(key="text").set_value(TEXT).run()
    assert _grid(app)


def test_a_link_restores_layer_head_and_hidden_specials_and_drops_a_layer_too_many():
    app = _open({"text": TEXT, "mask": "6", "layer": "2", "head": "2", "hide_special": "1"})
    assert app.selectbox(key="mask").value == 6
    assert app.selectbox(key="layer").value == 2 and app.selectbox(key="head").value == 2
    assert app.toggle(key="hide_special").value is True
    assert _matrix(app)["layout"]["title"]["text"].startswith("Layer 2, head 2")
    assert _grid(app)["layout"]["title"]["text"] == "What the mask at position 6 reads, layer by layer"
    app = _open({"text": TEXT, "layer": "9", "head": "2"})
    notes = " ".join(c.value for c in app.caption if c.value.startswith("Ignored from the link"))
    assert "`layer`: 9 is not a layer of this model" in notes
    assert app.selectbox(key="layer").value == 1 and app.selectbox(key="head").value == 2


def test_a_model_without_transformer_encoder_layers_gets_a_message(monkeypatch):
    text = "a [MASK] without encoder layers."  # not cached by the other tests
    monkeypatch.setattr(mlmviz.inspection, "encoder_calls", lambda backbone: [])
    app = _open({"text": text})
    assert any("no TransformerEncoder layers" in w.value for w in app.warning)
    assert not app.get("plotly_chart")
    assert app.text_area(key="text").value == text
    app.switch_page("app_pages/predict.py").run()
    assert not app.exception and app.get("plotly_chart")
