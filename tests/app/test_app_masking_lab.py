"""The Masking lab page on the default model, run headless through AppTest."""

import json

import pytest
from streamlit.testing.v1 import AppTest

from mlmviz.app import ENTRY

APP = ENTRY
TEXT = "the children played football in the park after school on a sunny afternoon."


@pytest.fixture
def page():
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.run()
    app.switch_page("app_pages/masking_lab.py").run()
    return app


def _charts(app):
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def _model_reads(app):
    """The corrupted tokens of the lab's strip (its second row)."""
    return _charts(app)[0]["data"][0]["text"][1]


def test_the_page_shows_the_corruption_and_the_surprise_strip(page):
    assert not page.exception
    strip, surprise = _charts(page)
    assert strip["data"][0]["text"][0][0] == "[CLS]"
    assert surprise["data"][0]["text"][0][:2] == ["he", "opened"]
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["Tokens scored"] == "9"
    assert any("Pseudo-perplexity" in label for label in metrics)
    assert any("nats" in value for value in metrics.values())
    assert any("typed `[MASK]`" in c.value for c in page.caption)


def test_seed_and_rate_change_the_corruption(page):
    page.text_area(key="text").set_value(TEXT).run()
    before = _model_reads(page)
    rows = len(page.dataframe[0].value)
    seed = page.number_input(key="seed").value
    page.number_input(key="seed").set_value(seed + 1).run()
    assert not page.exception
    assert _model_reads(page) != before
    page.slider(key="rate").set_value(60).run()
    assert not page.exception
    assert len(page.dataframe[0].value) > rows


@pytest.mark.parametrize("text", [None, "she drank a cup of hot tea.", "my dog likes long walks."])
def test_a_short_sentence_opens_with_a_token_hidden_as_mask(text):
    """A new view's seed is the first whose draw hides a token as [MASK]:
    with one or two tokens selected, seed 0 may show only a replacement."""
    app = AppTest.from_file(str(APP), default_timeout=120)
    if text:
        app.query_params["text"] = text
    app.run()
    app.switch_page("app_pages/masking_lab.py").run()
    assert not app.exception
    actions = list(app.dataframe[0].value["action"])
    assert "mask" in actions, actions
    seed = app.number_input(key="seed").value
    assert app.query_params["seed"] == str(seed)  # the link keeps the draw shown
    if seed:
        assert any(c.value.startswith(f"Seed {seed} is the first") for c in app.caption)


def test_whole_word_masking_keeps_word_pieces_together(page):
    page.text_area(key="text").set_value("the unbelievably playful kittens chased them.").run()
    page.slider(key="rate").set_value(40).run()
    words = [{2, 3, 4, 5, 6}, {8, 9}]  # un ##bel ##ie ##va ##bly, kitten ##s

    def split():
        chosen = set(page.dataframe[0].value["position"])
        return [word for word in words if word & chosen and not word <= chosen]

    assert split(), "seed 0 splits a word at token level"
    page.toggle(key="ww").set_value(True).run()
    assert not page.exception
    assert not split()


@pytest.mark.parametrize(
    "change, message",
    [(("text_area", "text", "hello"), "at least two tokens"),
     (("text_area", "text", ""), "Type a sentence"),
     (("slider", "rrate", 30), "<= 1"),
     (("slider", "rate", 0), "Nothing is selected")],
)
def test_bad_input_shows_a_message_not_an_error(page, change, message):
    kind, key, value = change
    getattr(page, kind)(key=key).set_value(value).run()
    assert not page.exception
    messages = [m.value for m in page.info] + [m.value for m in page.warning]
    assert any(message in m for m in messages), messages


def test_the_lab_shows_no_token_pills_and_keeps_the_clicked_ones_for_other_pages():
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.run()
    app.text_area(key="text").set_value(TEXT).run()
    app.pills(key="picked").select(2).run()  # "children", on Predict
    app.switch_page("app_pages/masking_lab.py").run()
    assert not app.exception
    assert len(app.get("button_group")) == 0  # the lab selects its own tokens
    assert app.query_params["picked"] == "2"
    app.switch_page("app_pages/predict.py").run()
    assert app.pills(key="picked").value == [2]


LONG = "the old man walked his dog in the park every morning. " * 11  # 134 tokens with [CLS] and [SEP]


def test_a_long_text_is_shown_and_scored_a_window_at_a_time(page):
    page.text_area(key="text").set_value(LONG).run()
    assert not page.exception
    strip, surprise = _charts(page)
    assert len(strip["data"][0]["text"][0]) == 24 and len(surprise["data"][0]["text"][0]) == 23
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["Tokens scored"] == "23 of 132"  # [CLS] and [SEP] are not scored
    page.select_slider(key="span").set_value(96).run()
    strip, surprise = _charts(page)
    assert strip["data"][0]["x"][0] == 96 and len(strip["data"][0]["text"][0]) == 24
    assert page.query_params["span"] == "96"
    window = {m.label: m.value for m in page.metric}["Pseudo-log-likelihood"]

    page.toggle(key="pll_all").set_value(True).run()
    assert not page.exception
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["Tokens scored"] == "132" and metrics["Pseudo-log-likelihood"] != window
    assert len(_charts(page)[1]["data"][0]["text"][0]) == 24  # the strip still shows one window


def test_the_whole_text_scored_in_windows_equals_one_pass(default_model):
    from mlmviz.analysis.pseudo_likelihood import pseudo_log_likelihood

    app = AppTest.from_file(str(APP), default_timeout=120)
    app.query_params.update({"text": LONG, "pll_all": "1"})
    app.switch_page("app_pages/masking_lab.py").run()
    shown = {m.label: m.value for m in app.metric}["Pseudo-log-likelihood"]
    assert shown == f"{pseudo_log_likelihood(default_model, LONG).total:.2f} nats"
