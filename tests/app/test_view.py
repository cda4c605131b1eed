"""The view state and the URL: round trips, bad link values, every page."""


import pytest
from hypothesis import given
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from mlmviz.app import ENTRY, view

APP = ENTRY
PAGES = ["predict", "anatomy", "states", "embeddings", "lens", "attention", "masking_lab",
         "compare"]
TEXT = "the old man walked his [MASK] in the [MASK]."  # masks at 6 and 9


def _tenths(low, high):
    return st.integers(round(low * 10), round(high * 10)).map(lambda n: round(n / 10, 1))


VALUES = {
    "model_kind": st.sampled_from(view.MODEL_KINDS),
    "model_path": st.text(max_size=30),
    "hub_model": st.sampled_from(("", *view.HUB_MODELS)),
    "server_model": st.text(max_size=30),
    "precision": st.sampled_from(view.PRECISIONS),
    "text": st.none() | st.text(max_size=60),
    "picked": st.lists(st.integers(0, 600), max_size=5).map(lambda p: tuple(sorted(set(p)))),
    "top_k": st.integers(1, 20),
    "temperature": _tenths(0.1, 3.0),
    "words": st.text(max_size=30),
    "mask": st.none() | st.integers(0, 600),
    "hist": st.none() | st.text(max_size=20),
    "heat": st.sampled_from(view.STAGES),
    "batch": st.none() | st.text(max_size=60),
    "bheat": st.sampled_from(view.STAGES),
    "nbrs": st.integers(5, 30),
    "lens_k": st.integers(1, 10),
    "rate": st.integers(0, 100),
    "mrate": st.integers(0, 100),
    "rrate": st.integers(0, 100),
    "seed": st.integers(0, 1_000_000),
    "ww": st.booleans(),
    "span": st.integers(0, 100_000),
    "pll_all": st.booleans(),
    "layer": st.none() | st.integers(1, 1000),
    "head": st.none() | st.integers(1, 1000),
    "hide_special": st.booleans(),
    "ecorpus": st.sampled_from(view.CORPORA),
    "erate": st.integers(1, 100),
    "eseed": st.integers(0, 1_000_000),
    "elines": st.integers(1, view.MOST_EVALUATED_LINES),
    "ecompare": st.booleans(),
    "compare_kind": st.sampled_from(view.COMPARE_KINDS),
    "compare_path": st.text(max_size=30),
    "compare_model": st.text(max_size=30),
    "lens_word": st.text(max_size=30),
    "compare_hide": st.booleans(),
    "tlr": st.sampled_from(view.LEARNING_RATES),
    "tbatch": st.sampled_from(view.BATCH_SIZES),
    "tuntied": st.booleans(),
    "tact": st.sampled_from(view.ACTIVATIONS),
    "tembed": st.booleans(),
    "tsec": st.sampled_from(view.TRAIN_SECONDS),
    "tpos": st.sampled_from(view.CACHED_POSITIONS),
    "present": st.booleans(),
}


def test_every_field_has_a_strategy():
    assert set(VALUES) == set(view.FIELDS)


@given(st.fixed_dictionaries(VALUES))
def test_a_view_survives_the_url(state):
    restored, notes = view.from_query(view.to_query(state))
    assert notes == []
    assert restored == state


@pytest.mark.parametrize("source, fields", [
    ("/data/my-checkpoint", {"model_kind": "Checkpoint path", "model_path": "/data/my-checkpoint"}),
    ("hf:google-bert/bert-base-uncased",
     {"model_kind": "Well-known model", "hub_model": "google-bert/bert-base-uncased"}),
])
def test_a_server_serving_a_source_opens_with_it_and_links_keep_the_embedded_default(
        monkeypatch, source, fields):
    """`mlmviz app SOURCE`: a link naming no model opens SOURCE; a view of the
    embedded default says so in its link, so that it still restores."""
    monkeypatch.setenv(view.SOURCE_ENV, source)
    opened, notes = view.from_query({"top_k": "7"})
    assert notes == [] and {name: opened[name] for name in fields} == fields
    assert view.to_query(opened) == {**fields, "top_k": "7"}
    embedded, _ = view.from_query({"model_kind": "Embedded default"})
    assert embedded["model_kind"] == "Embedded default"
    assert view.to_query(embedded) == {"model_kind": "Embedded default"}


def test_bad_values_are_ignored_one_by_one():
    state, notes = view.from_query({
        "top_k": "999", "temperature": "abc", "seed": "-1", "ww": "yes", "picked": "2,x",
        "heat": "nope", "zoom": "3", "text": "a [MASK] b", "lens_k": "7", "embed": "true",
        "nbrs": "²", "mask": " 3",
    })
    assert len(notes) == 9, notes
    assert state["text"] == "a [MASK] b" and state["lens_k"] == 7  # the valid ones are kept
    assert state["top_k"] == 5 and state["temperature"] == 1.0 and state["picked"] == ()
    assert any("zoom" in note for note in notes)
    assert all("\n" not in note for note in notes)


def _open(page, query):
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.query_params.update(query)
    app.switch_page(f"app_pages/{page}.py")
    app.run()
    assert not app.exception, app.exception
    return app


def _notes(app):
    return " ".join(c.value for c in app.caption if c.value.startswith("Ignored from the link"))


@pytest.mark.parametrize("page", PAGES)
def test_a_link_with_bad_values_opens_every_page_with_a_note(page):
    app = _open(page, {
        "text": TEXT, "picked": "2,99", "top_k": "999", "temperature": "abc", "mask": "3",
        "lens_k": "70", "rate": "x", "nbrs": "1", "hist": "nowhere", "heat": "?", "zoom": "2",
    })
    notes = _notes(app)
    for name in ("top_k", "temperature", "lens_k", "rate", "nbrs", "heat", "zoom"):
        assert f"`{name}" in notes, (name, notes)
    assert app.text_area(key="text").value == TEXT  # the valid values stay
    if page != "masking_lab":  # the lab draws no token pills' positions into the URL check
        assert "99" in notes
        assert app.pills(key="picked").value == [2, 6, 9]  # the clicked word and the typed masks
    if page in ("anatomy", "embeddings", "lens", "attention"):
        assert "`mask`" in notes and app.selectbox(key="mask").value == 2  # the first mask
    assert app.query_params["text"] == TEXT
    assert "top_k" not in app.query_params and "zoom" not in app.query_params


@pytest.mark.parametrize("page", PAGES)
def test_a_link_restores_the_view_on_every_page(page):
    query = {"text": TEXT, "picked": "2", "top_k": "7", "temperature": "2.5",
             "words": "dog, park", "mask": "9", "lens_k": "3", "nbrs": "12", "rate": "40",
             "seed": "5", "ww": "1", "hist": "After the activation", "heat": view.STAGES[1]}
    app = _open(page, query)
    assert _notes(app) == ""
    assert app.text_area(key="text").value == TEXT
    if page != "masking_lab":
        assert app.pills(key="picked").value == [2, 6, 9]  # the clicked word and the typed masks
    shown = {"predict": ["top_k", "temperature", "words"], "anatomy": ["top_k", "temperature",
             "mask", "hist"], "states": ["heat"], "embeddings": ["mask", "nbrs"],
             "lens": ["mask", "lens_k"], "attention": ["mask"], "masking_lab": ["rate", "seed", "ww"],
             "compare": ["top_k", "words", "mask"]}[page]
    values = {widget.key: widget.value for kind in ("slider", "text_input", "selectbox",
              "radio", "number_input", "toggle") for widget in getattr(app, kind)}
    for name in shown:
        assert values[name] == view.FIELDS[name].parse(query[name]), (name, values[name])
    for name, value in query.items():
        assert app.query_params[name] == value, name  # the URL still holds the whole view


def test_changing_a_setting_writes_the_url_and_clears_the_notes():
    app = _open("predict", {"text": TEXT, "top_k": "0"})
    assert _notes(app)
    app.slider(key="top_k").set_value(9).run()
    assert app.query_params["top_k"] == "9"
    assert _notes(app) == ""
