"""The Streamlit app on the embedded default model, run headless through AppTest."""

import json

import pytest
from streamlit.testing.v1 import AppTest

from mlmviz.app import ENTRY
from mlmviz.examples import CANDIDATES, HIDDEN, UNMASKED
from mlmviz.sources.load import default_model_cloze

APP = ENTRY


@pytest.fixture
def app():
    return AppTest.from_file(str(APP), default_timeout=120)


def _bars(app, index=0):
    spec = json.loads(app.get("plotly_chart")[index].proto.spec)
    return spec["data"][0]["y"], spec["data"][0]["x"]


def test_default_view_predicts_the_typed_mask(app):
    app.run()
    assert not app.exception
    assert len(app.get("plotly_chart")) == 1
    tokens, probabilities = _bars(app)
    assert len(tokens) == 5
    assert probabilities == sorted(probabilities, reverse=True)
    sidebar = " ".join(m.value for m in app.sidebar.markdown)
    assert "default" in sidebar and "bert" in sidebar
    assert not app.sidebar.warning, "the default model's head must look trained"
    cloze = default_model_cloze()  # the sidebar says how big it is and how often it is right
    line = next(c.value for c in app.sidebar.caption if c.value.startswith("A tiny model"))
    assert "4.4 M parameters" in line and "answers better" in line
    assert f"right in {cloze['top1']} of {cloze['sentences']} everyday sentences" in line


def test_clicking_a_token_masks_it_and_clicking_again_unmasks_it(app):
    app.run()
    app.pills(key="picked").select(2).run()
    assert not app.exception
    assert len(app.get("plotly_chart")) == 2
    app.pills(key="picked").unselect(2).run()
    assert len(app.get("plotly_chart")) == 1


def test_the_first_examples_offered_are_answered_by_the_model_and_marked(app):
    app.run()
    hidden = {HIDDEN.sub("[MASK]", c): HIDDEN.findall(c) for c in CANDIDATES}
    labels = app.selectbox(key="example").options
    assert labels[-1] == UNMASKED and "✓" not in labels[-1]
    for label in labels[:3]:
        example, mark = label.split("  ✓ ")
        assert mark == f"the model says “{', '.join(hidden[example])}”"
        app.selectbox(key="example").select(example).run()
        assert not app.exception
        assert app.text_area(key="text").value == example
        assert _bars(app)[0][0] == hidden[example][0]  # the top bar is the hidden word


def test_top_k_controls_the_number_of_bars(app):
    app.run()
    app.slider(key="top_k").set_value(12).run()
    assert len(_bars(app)[0]) == 12


def test_long_text_is_cut_and_says_so(app):
    app.run()
    app.text_area(key="text").set_value("[MASK] " + "word " * 600).run()
    assert not app.exception
    assert any("cut" in w.value for w in app.warning)
    assert len(app.get("plotly_chart")) == 1


@pytest.mark.parametrize(
    "text, message",
    [("", "Type a sentence"), ("   ", "Type a sentence"), ("the cat sat", "Nothing is masked"),
     ("[CLS] [SEP]", "Nothing is masked")],
)
def test_bad_input_shows_a_message_not_an_error(app, text, message):
    app.run()
    app.text_area(key="text").set_value(text).run()
    assert not app.exception
    assert any(message in info.value for info in app.info)
    assert app.text_area(key="text").value == text


def test_hidden_word_and_candidates_are_scored(app):
    app.run()
    app.text_area(key="text").set_value("the cat sat on the mat.").run()
    app.pills(key="picked").select(2).run()
    app.text_input(key="words").set_value("dog, bird").run()
    assert not app.exception
    captions = " ".join(c.value for c in app.caption)
    assert "The hidden word **cat**" in captions
    assert "dog: probability" in captions and "bird: probability" in captions
    assert "Entropy" in captions


def test_fill_one_at_a_time_lists_every_mask(app):
    app.run()
    app.text_area(key="text").set_value("the [MASK] sat on the [MASK].").run()
    app.button(key="sequential").click().run()
    assert not app.exception
    steps = app.dataframe[-1].value
    assert sorted(steps["position"]) == [2, 6]


def test_url_parameters_restore_the_view(app):
    app.query_params["text"] = "paris is the capital of [MASK]."
    app.query_params["top_k"] = "8"
    app.run()
    assert not app.exception
    assert app.text_area(key="text").value == "paris is the capital of [MASK]."
    assert len(_bars(app)[0]) == 8


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    from hf_checkpoints import make_checkpoint

    return make_checkpoint("bert", tmp_path_factory.mktemp("app") / "tiny-bert")


def _choose_path(app, path):
    """Pick "Checkpoint path" in the sidebar and type `path`.

    Set through session state: AppTest drops the state of widgets in an
    st.navigation entrypoint when they are changed after the first run (the
    browser test covers the clicks).
    """
    app.session_state["model_kind"] = "Checkpoint path"
    app.session_state["model_path"] = str(path)
    app.run()


def test_a_broken_checkpoint_keeps_the_previous_model(app, tmp_path):
    (tmp_path / "config.json").write_text("{broken")
    _choose_path(app, tmp_path)
    assert not app.exception
    assert any("not valid JSON" in e.value and "previous model stays" in e.value for e in app.error)
    assert "**default**" in " ".join(m.value for m in app.sidebar.markdown)
    assert len(app.get("plotly_chart")) == 1
    assert app.text_area(key="text").value.startswith("he opened")


def _model_error(app):
    return " ".join(e.value for e in app.sidebar.error)


def test_a_bad_path_stays_in_the_box_while_the_url_names_the_model_that_runs(app, tmp_path):
    typed = tmp_path / "no-such-model"
    _choose_path(app, typed)
    assert not app.exception
    assert app.text_input(key="model_path").value == str(typed)  # nothing typed is lost
    assert app.radio(key="model_kind").value == "Checkpoint path"
    assert "does not exist" in _model_error(app)
    assert "Still running: **Embedded default**" in _model_error(app)
    assert "model_kind" not in app.query_params and "model_path" not in app.query_params
    assert len(app.get("plotly_chart")) == 1


def test_a_link_with_a_bad_path_opens_on_the_default_and_says_so(app, tmp_path):
    typed = str(tmp_path / "gone")
    app.query_params.update({"model_kind": "Checkpoint path", "model_path": typed})
    app.run()
    assert not app.exception
    assert app.text_input(key="model_path").value == typed
    assert "Still running: **Embedded default**" in _model_error(app)
    assert "model_kind" not in app.query_params and "model_path" not in app.query_params


def test_a_bad_path_after_a_good_one_keeps_the_good_one_running_and_in_the_url(
        app, tiny_checkpoint, tmp_path):
    _choose_path(app, tiny_checkpoint)
    assert not app.sidebar.error
    _choose_path(app, tmp_path / "typo")
    assert not app.exception
    assert app.text_input(key="model_path").value == str(tmp_path / "typo")
    assert f"Still running: `{tiny_checkpoint}`" in _model_error(app)
    assert f"**{tiny_checkpoint}**" in " ".join(m.value for m in app.sidebar.markdown)
    assert app.query_params["model_kind"] == "Checkpoint path"
    assert app.query_params["model_path"] == str(tiny_checkpoint)


def test_a_checkpoint_path_switches_the_model(app, tiny_checkpoint):
    _choose_path(app, tiny_checkpoint)
    assert not app.exception
    assert str(tiny_checkpoint) in " ".join(m.value for m in app.sidebar.markdown)
    assert len(app.get("plotly_chart")) == 1


def test_a_repeated_token_masks_the_clicked_position(app):
    app.run()
    app.text_area(key="text").set_value("the cat sat on the mat by the door.").run()
    pills = app.pills(key="picked")
    assert len(set(pills.options)) == len(pills.options), "every pill needs its own label"
    pills.select(5).run()  # the second "the"
    assert not app.exception
    assert app.pills(key="picked").value == [5]
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in app.get("plotly_chart")]
    assert titles == ["Position 5: the"]
