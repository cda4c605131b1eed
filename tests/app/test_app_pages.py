"""The analysis pages in AppTest: each renders on the default model and on a
loaded checkpoint, shares the Predict page's text and masks, and answers bad
input with a message."""

import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mlmviz.app import ENTRY

APP = ENTRY
PAGES = ["anatomy", "states", "embeddings", "lens", "attention"]


@pytest.fixture
def app():
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    return at


def _open(app, page):
    app.switch_page(f"app_pages/{page}.py").run()
    assert not app.exception, app.exception
    return app


def _charts(app):
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


@pytest.mark.parametrize("page", PAGES)
def test_each_page_draws_its_charts(app, page):
    _open(app, page)
    assert _charts(app), f"{page} drew no chart"


def test_text_and_masks_follow_the_user_between_pages(app):
    app.text_area(key="text").set_value("the dog chased the [MASK] .").run()
    app.pills(key="picked").select(2).run()  # "dog"
    for page in PAGES + ["predict"]:
        _open(app, page)
        assert app.text_area(key="text").value == "the dog chased the [MASK] ."
        assert app.pills(key="picked").value == [2, 5]  # "dog" and the typed mask


def test_anatomy_splits_the_logits_and_shows_the_prior(app):
    _open(app, "anatomy")
    split = next(c for c in _charts(app) if "Each top token's logit" in c["layout"]["title"]["text"])
    assert split["data"][0]["y"][0] == "door"  # the default sentence's best guess
    app.selectbox(key="mask")  # one mask: still a chooser
    app.slider(key="top_k").set_value(4).run()
    split = next(c for c in _charts(app) if "Each top token's logit" in c["layout"]["title"]["text"])
    assert len(split["data"][0]["y"]) == 4


def test_states_page_needs_two_masks_for_pca_and_reports_bad_lines(app):
    _open(app, "states")
    assert any("at least two masks" in info.value for info in app.info)
    app.text_area(key="batch").set_value("the [MASK] sat .\nno mask here\nthe [MASK] ran .").run()
    assert not app.exception
    assert any("Line 2 skipped" in w.value for w in app.warning)
    scatter = [c for c in _charts(app) if "PCA" in c["layout"]["title"]["text"]]
    assert len(scatter) == 2
    app.text_area(key="batch").set_value("   ").run()
    assert any("at least one sentence" in info.value for info in app.info)


def test_lens_ends_with_the_prediction(app):
    _open(app, "lens")
    table = app.dataframe[0].value
    assert table["layer"].tolist() == ["embeddings", "layer 1", "layer 2"]
    assert table["#1"].tolist()[-1] == "door" and table["final rank"].tolist()[-1] == 1


def test_embeddings_page_says_the_head_is_tied(app):
    _open(app, "embeddings")
    assert any("tied" in s.value for s in app.success)
    dot, cosine = app.dataframe[0].value, app.dataframe[1].value
    assert len(dot) == len(cosine) == 10
    assert dot["dot"].is_monotonic_decreasing and cosine["cosine"].is_monotonic_decreasing
    titles = [c["layout"]["title"]["text"] for c in _charts(app)]
    assert any("Cosine similarity among" in t for t in titles)
    assert any("row norm vs output bias" in t for t in titles)


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("text, message", [("the cat sat", "Nothing is masked"), ("", "Type a sentence")])
def test_bad_text_shows_a_message(app, page, text, message):
    app.text_area(key="text").set_value(text).run()
    _open(app, page)
    assert any(message in info.value for info in app.info)


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    from hf_checkpoints import make_checkpoint, untie_bert

    return untie_bert(make_checkpoint("bert", tmp_path_factory.mktemp("pages") / "untied-bert"))


@pytest.mark.parametrize("page", PAGES + ["masking_lab", "compare", "train_head"])
def test_each_page_works_on_a_loaded_untied_checkpoint(page, tiny_checkpoint):
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.session_state["model_kind"] = "Checkpoint path"
    app.session_state["model_path"] = str(tiny_checkpoint)
    app.run()
    app.text_area(key="text").set_value("the [MASK] sat on the [MASK] .").run()
    _open(app, page)
    assert _charts(app)
    if page == "embeddings":
        assert any("untied" in info.value for info in app.info)


def _numbers(values):
    """A chart's numbers as an array: a list, or plotly's binary form
    (`{"dtype": "f4", "bdata": base64}`, which numpy arrays are sent as)."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.asarray(values)


def _scatter_caption_agrees_with_the_scatter(app):
    """The caption under the norm/bias scatter says where its red points are."""
    scatter = next(c for c in _charts(app)
                   if c["layout"]["title"]["text"].startswith("Every token"))
    vocabulary, top = scatter["data"][0], scatter["data"][1]

    def standing(values, chosen):
        values = _numbers(values)
        return float(np.median([np.mean(values < v) for v in chosen]))

    side = "right" if standing(vocabulary["x"], top["x"]) >= 0.5 else "left"
    height = "high" if standing(vocabulary["y"], top["y"]) >= 0.5 else "low"
    caption = next(c.value for c in app.caption if "top predictions (red)" in c.value)
    assert f"sit to the {side} and {height}" in caption, caption
    return side


def _table_columns(app):
    return [column for frame in app.dataframe for column in frame.value.columns]


def test_embedding_similarity_and_head_anatomy_agree_on_the_bias(app):
    """A large bias among tokens, yet negligible next to the context: both pages say so."""
    _open(app, "embeddings")
    caption = next(c.value for c in app.caption if "top predictions (red)" in c.value)
    _open(app, "anatomy")
    note = next(i.value for i in app.info if "bias hardly matters" in i.value)
    ratio = note.split(" as much")[0].rsplit(" ", 1)[1]  # "12%"
    assert f"the bias hardly matters next to what the sentence says: it weighs {ratio} of " \
        "the context, as Head anatomy shows" in caption


def test_the_scatter_caption_says_where_the_winners_are_on_the_default_model(app):
    _open(app, "embeddings")
    assert _scatter_caption_agrees_with_the_scatter(app) == "left"  # short rows win here


def _on_checkpoint(directory, text, page):
    """The app on the checkpoint in `directory`, with `text`, opened on `page`."""
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.session_state["model_kind"] = "Checkpoint path"
    app.session_state["model_path"] = str(directory)
    app.run()
    app.text_area(key="text").set_value(text).run()
    return _open(app, page)


def test_the_scatter_caption_follows_an_untied_checkpoint(tiny_checkpoint):
    app = _on_checkpoint(tiny_checkpoint, "the [MASK] sat on the [MASK] .", "embeddings")
    _scatter_caption_agrees_with_the_scatter(app)


def test_anatomy_says_the_default_models_bias_is_negligible_instead_of_listing_it(app):
    _open(app, "anatomy")
    note = next(i.value for i in app.info if "bias hardly matters" in i.value)
    assert note.startswith("**Here the bias hardly matters: the sentence decides.**")
    assert "an even spread 0.0033%" in note
    numbers = " ".join(m.value for e in app.expander if e.label == "The bias in numbers"
                       for m in e.markdown)
    assert "for this checkpoint" in numbers.lower()
    assert "-9.46 to +0.92 over the vocabulary" in numbers
    assert "probability (bias alone)" in _table_columns(app)
    assert not any("from the bias alone" in m.value for m in app.markdown)
    bars = next(c for c in _charts(app) if c["layout"]["title"]["text"].startswith("Probability"))
    assert bars["layout"]["xaxis"].get("type") != "log"
    assert all(text.endswith("%") for trace in bars["data"] for text in trace["text"])


@pytest.fixture(scope="module")
def frequency_prior(tmp_path_factory):
    from hf_checkpoints import make_checkpoint, set_output_bias

    def prior(vocabulary):
        bias = np.zeros(len(vocabulary))
        bias[[vocabulary["the"], vocabulary["."]]] = 6.0
        return bias

    directory = make_checkpoint("bert", tmp_path_factory.mktemp("prior") / "bert")
    return set_output_bias(directory, prior)


def test_anatomy_lists_a_real_bias_as_the_prior(frequency_prior):
    app = _on_checkpoint(frequency_prior, "a [MASK] sat on the mat .", "anatomy")
    assert not any("negligible" in i.value for i in app.info)
    assert any("from the bias alone" in m.value for m in app.markdown)
    prior = next(d.value for d in app.dataframe if list(d.value.columns) == ["token", "probability"])
    assert set(prior["token"][:2]) == {"the", "."}


def test_states_draws_one_axis_for_two_masks(app):
    app.text_area(key="text").set_value("the [MASK] barked at the [MASK] all night.").run()
    _open(app, "states")
    assert any("differ along one direction only" in c.value for c in app.caption)
    current = _charts(app)[:2]
    assert all(c["layout"]["yaxis"]["visible"] is False for c in current)
    assert [t["text"] for c in current for t in c["data"]] == [
        ["the [MASK]₂", "the [MASK] barked … [MASK]₆"]] * 2
    assert "the [MASK] barked at the [MASK] all night." in current[0]["data"][0]["hovertext"][0]
    heatmap = next(c for c in _charts(app) if c["data"][0]["type"] == "heatmap")
    assert heatmap["data"][0]["y"] == ["the [MASK]₂", "the [MASK] barked … [MASK]₆"]


def test_states_says_why_equal_vectors_have_no_picture(app):
    _open(app, "states")
    app.text_area(key="batch").set_value("the [MASK] sat .\nthe [MASK] sat .").run()
    assert not app.exception
    assert sum("every mask has the same vector" in i.value for i in app.info) == 2


def test_the_sidebar_checks_the_loaded_head_and_train_the_head_its_own(tmp_path):
    from hf_checkpoints import make_checkpoint

    headless = make_checkpoint("bert", tmp_path / "headless", with_head=False)
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.session_state["model_kind"] = "Checkpoint path"
    app.session_state["model_path"] = str(headless)
    app.run()

    def sidebar_warnings():
        return " ".join(w.value for w in app.sidebar.warning)

    assert "no masked-LM head weights" in sidebar_warnings()
    _open(app, "train_head")  # a fresh head, described once on the page: the sidebar keeps the model's
    assert "no masked-LM head weights" in sidebar_warnings()
    assert "This page's head" not in sidebar_warnings()
    assert any(i.value.startswith("**A fresh head.**") for i in app.info)
    _open(app, "predict")
    assert "no masked-LM head weights" in sidebar_warnings()
    assert "This page's head" not in sidebar_warnings()


@pytest.fixture(scope="module")
def new_architectures(tmp_path_factory):
    from hf_checkpoints import make_checkpoint

    root = tmp_path_factory.mktemp("architectures")
    return {arch: make_checkpoint(arch, root / arch)
            for arch in ("modernbert", "electra", "xlm-roberta", "camembert")}


@pytest.mark.parametrize("arch, page", [
    *[("modernbert", page) for page in PAGES + ["predict", "masking_lab", "compare", "train_head",
                                                "evaluate"]],
    *[("electra", page) for page in ("attention", "lens", "train_head")],
    *[("xlm-roberta", page) for page in ("predict", "attention")],
    *[("camembert", page) for page in ("predict", "lens")],
])
def test_each_page_works_on_the_newer_architectures(arch, page, new_architectures):
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.session_state["model_kind"] = "Checkpoint path"
    app.session_state["model_path"] = str(new_architectures[arch])
    app.run()
    app.text_area(key="text").set_value("the [MASK] sat on the mat and the dog ran to the <mask> .").run()
    _open(app, page)
    if page == "evaluate":  # a short run on the built-in corpus
        app.number_input(key="elines").set_value(24).run()
        next(b for b in app.button if b.label == "Run the evaluation").click().run()
        assert not app.exception and not app.error, app.exception
        assert {metric.label for metric in app.metric} and _charts(app)
        return
    if page == "compare":  # model B, the default, has another tokenizer: no charts, a reason
        assert any("split this text into different tokens" in m.value
                   for m in (*app.info, *app.warning))
        return
    assert _charts(app) and not app.error
    if arch == "modernbert" and page == "attention":
        # Layer 2 is local (4 tokens each side): its cells beyond that are left empty.
        assert any("Layer 2 is local" in caption.value for caption in app.caption)
        matrix = next(c for c in _charts(app) if "who reads whom" in c["layout"]["title"]["text"])
        assert not any(v is None for row in matrix["data"][0]["z"] for v in row)  # layer 1: global
