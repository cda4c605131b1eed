"""The "Compare checkpoints" page, run headless through AppTest on real models."""

import json

import pytest
from streamlit.testing.v1 import AppTest

from mlmviz.app import ENTRY

APP = ENTRY
PAGE = "app_pages/compare.py"


@pytest.fixture
def app():
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.run()
    return app.switch_page(PAGE).run()


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    from hf_checkpoints import make_checkpoint

    return make_checkpoint("bert", tmp_path_factory.mktemp("compare-app") / "tiny-bert")


@pytest.fixture(scope="module")
def deeper_checkpoint(tmp_path_factory):
    """A tiny BERT of three layers, with the vocabulary of `tiny_checkpoint`."""
    from hf_checkpoints import make_checkpoint

    return make_checkpoint("bert", tmp_path_factory.mktemp("compare-app") / "deep", layers=3)


def _chart(app, key):
    """The spec of the chart drawn with `key`, or None."""
    return next((json.loads(c.proto.spec) for c in app.get("plotly_chart")
                 if c.proto.id.endswith(f"-{key}")), None)


def _table(app, column):
    """The first table on the page with `column`."""
    return next(d.value for d in app.dataframe if column in d.value.columns)


def _choose_b(app, path):
    app.radio(key="compare_kind").set_value("Checkpoint path").run()
    return app.text_input(key="compare_path").set_value(str(path)).run()


def test_the_default_model_against_itself_shows_zero_divergence(app):
    assert not app.exception
    chart = json.loads(app.get("plotly_chart")[0].proto.spec)
    assert len(chart["data"]) == 2
    assert chart["data"][0]["x"] == chart["data"][1]["x"]
    summary = _table(app, "Jaccard")
    assert list(summary["KL(A‖B)"]) == [0.0] and list(summary["JS"]) == [0.0]
    assert list(summary["Jaccard"]) == [1.0]
    assert "Jensen–Shannon" in " ".join(m.value for m in app.markdown)
    assert [i.value for i in app.info if i.value.startswith("A and B are the same model")]


def test_two_different_models_are_not_called_the_same(app, tiny_checkpoint):
    _choose_b(app, tiny_checkpoint)
    assert not app.exception
    assert not [i.value for i in app.info if i.value.startswith("A and B are the same model")]


def test_two_masks_can_be_drawn_one_at_a_time(app):
    app.pills(key="picked").select(2).run()  # "opened", beside the typed mask at 4
    assert len(_table(app, "Jaccard")) == 2
    app.selectbox(key="mask").select(4).run()  # the mask at position 4
    assert not app.exception
    chart = json.loads(app.get("plotly_chart")[0].proto.spec)
    assert chart["layout"]["title"]["text"].startswith("Position 4")


def test_targets_are_ranked_in_both_models(app):
    app.text_input(key="words").set_value("door, table").run()
    assert not app.exception
    targets = _table(app, "target")
    assert list(targets["target"]) == ["door", "table"]
    assert list(targets["rank in A"]) == list(targets["rank in B"])


def test_a_broken_second_model_shows_the_message(app, tmp_path):
    (tmp_path / "config.json").write_text("{broken")
    _choose_b(app, tmp_path)
    assert not app.exception
    assert any("Model B could not be loaded" in e.value and "not valid JSON" in e.value
               for e in app.error)
    _choose_b(app, tmp_path / "missing")
    assert any("does not exist" in e.value for e in app.error)
    app.radio(key="compare_kind").set_value("Embedded default").run()
    assert not app.exception and not app.error
    assert _chart(app, "compare_bars") and _chart(app, "compare_lens")


def test_a_different_vocabulary_compares_top_k_only(app, tiny_checkpoint):
    _choose_b(app, tiny_checkpoint)
    app.text_area(key="text").set_value("the cat sat on the [MASK].").run()
    assert not app.exception
    assert any("different vocabularies" in w.value for w in app.warning)
    summary = _table(app, "Jaccard")
    assert "KL(A‖B)" not in summary.columns and "Jaccard" in summary.columns
    assert _chart(app, "compare_bars")


def test_a_text_tokenized_differently_stops_with_a_message(app, tiny_checkpoint):
    _choose_b(app, tiny_checkpoint)  # the example text splits "opened" in the tiny vocabulary
    assert not app.exception
    assert any("different tokens" in w.value for w in app.warning)
    assert not app.get("plotly_chart")


@pytest.mark.parametrize(
    "text, message", [("", "Type a sentence"), ("the cat sat", "Nothing is masked")]
)
def test_bad_input_shows_a_message_not_an_error(app, text, message):
    app.text_area(key="text").set_value(text).run()
    assert not app.exception
    assert any(message in info.value for info in app.info)


def test_the_sidebars_model_is_a(tiny_checkpoint):
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.session_state["model_kind"] = "Checkpoint path"  # sidebar widgets: set before the run
    app.session_state["model_path"] = str(tiny_checkpoint)
    app.run()
    app.switch_page(PAGE).run()
    assert any("different tokens" in w.value for w in app.warning)  # B is still the default
    _choose_b(app, tiny_checkpoint)
    assert not app.exception and not app.warning
    assert list(_table(app, "JS")["JS"]) == [0.0]


# Layer by layer


def test_the_lens_of_both_models_follows_as_top_guess_layer_by_layer(app):
    assert not app.exception
    lens = _table(app, "rank in B")
    assert list(lens["layer"]) == ["embeddings", "layer 1", "layer 2"]  # the default's 2 layers
    assert list(lens["rank in A"]) == list(lens["rank in B"])
    assert lens["rank in A"].iloc[-1] == 1  # A's top guess is its last layer's first
    top = _table(app, "probability")["token"][0]
    assert app.selectbox(key="lens_word").value == ""  # follows A's top guess
    spec = _chart(app, "compare_lens")
    assert top in spec["layout"]["title"]["text"]
    assert spec["layout"]["xaxis3"]["title"]["text"].endswith(": 2 layers")
    assert any(f"ranks “{top}” first from layer" in m.value for m in app.markdown)


def test_picking_another_word_follows_it(app):
    before = _table(app, "rank in B")
    options = app.selectbox(key="lens_word").options
    second = _table(app, "probability")["token"][1]  # A's second guess
    app.selectbox(key="lens_word").set_value(second).run()
    assert not app.exception and len(options) > 2
    after = _table(app, "rank in B")
    assert after["rank in A"].iloc[-1] == 2
    assert list(after["P in A"]) != list(before["P in A"])
    assert second in _chart(app, "compare_lens")["layout"]["title"]["text"]
    assert app.query_params["lens_word"] == second  # in the link


def _link(**query):
    """The page opened from a link with `query` (a typed word reaches the box this way:
    AppTest cannot type a new option into a select box)."""
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.query_params.update(query)
    app.switch_page(PAGE)
    return app.run()


def test_a_deeper_model_b_keeps_its_own_layers(deeper_checkpoint):
    app = _link(compare_kind="Checkpoint path", compare_path=str(deeper_checkpoint),
                text="the cat sat on the [MASK].", lens_word="dog")  # one token in both
    assert not app.exception
    lens = _table(app, "rank in B")
    assert list(lens["layer"]) == ["embeddings", "layer 1", "layer 2", "layer 3"]
    assert lens["rank in A"].isna().tolist() == [False, False, False, True]
    spec = _chart(app, "compare_lens")
    assert spec["layout"]["xaxis4"]["title"]["text"].endswith(": 3 layers")
    assert any("A: default has 2 layers: its cells below layer 2 are empty" in c.value
               for c in app.caption)


def test_a_word_missing_from_one_vocabulary_gets_a_message(tiny_checkpoint):
    app = _link(compare_kind="Checkpoint path", compare_path=str(tiny_checkpoint),
                text="the cat sat on the [MASK].", lens_word="€")
    assert not app.exception
    assert any("Model B's vocabulary lacks “€”" in w.value for w in app.warning)
    assert _chart(app, "compare_lens") is None
    assert _chart(app, "compare_bars")  # the rest of the page stays
    assert app.selectbox(key="lens_word").value == "€"  # what the user typed is kept


# Attention at the mask


def test_same_tokenizer_shows_both_models_attention_at_the_mask(app):
    import mlmviz
    from mlmviz.analysis.attention import attention

    model = mlmviz.load("default")
    text = app.text_area(key="text").value
    masked = model.mask(text)
    weights = attention(model, masked)[:, :, masked.positions[0]]  # (layers, heads, seq)
    for side in ("a", "b"):
        spec = _chart(app, f"compare_attention_{side}")
        cells = spec["data"][0]["z"]
        assert len(cells) == 2 * 2  # the default's layers × heads
        assert cells[3] == pytest.approx(weights[1, 1].tolist(), rel=1e-6)
        assert spec["data"][1]["text"] == [  # the lens rank of A's top guess per layer
            f"#{r}" for r in _table(app, "rank in A")["rank in A"][1:]]
    app.toggle(key="compare_hide").set_value(True).run()
    assert not app.exception
    shown = _chart(app, "compare_attention_b")["layout"]["xaxis"]["ticktext"]
    assert "[CLS]" not in shown and "[SEP]" not in shown and len(shown) == len(cells[0]) - 2
    assert app.query_params["compare_hide"] == "1"


def test_different_tokenizers_say_why_attention_is_not_shown(app, tiny_checkpoint):
    import mlmviz

    text = "the cat sat on the [MASK]."  # the same tokens in both vocabularies
    _choose_b(app, tiny_checkpoint)
    app.text_area(key="text").set_value(text).run()
    assert not app.exception
    assert any("different tokenizers" in i.value and "share a tokenizer" in i.value
               for i in app.info)
    assert _chart(app, "compare_attention_a") is None
    # A's top guess is several tokens in the tiny vocabulary: the lens says so
    guess = mlmviz.load("default").fill_mask(text, top_k=1)["masks"][0]["predictions"][0]
    pieces = mlmviz.load(tiny_checkpoint).tokenizer.encode(guess["token"]).tokens[1:-1]
    assert len(pieces) > 1, (guess, pieces)
    split = f"is {len(pieces)} tokens for model B ({pieces[0]} + {pieces[1]}"
    assert any(split in w.value for w in app.warning), [w.value for w in app.warning]
    assert _chart(app, "compare_bars")
