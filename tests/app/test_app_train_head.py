"""The Train-the-head page in AppTest: the fresh head, a growing curve, Stop,
Reset, two sessions sharing the one training queue, and "Explore this head"."""

import json
import time

import pytest
from streamlit.testing.v1 import AppTest

import mlmviz
from mlmviz.app import ENTRY, access, storage, view
from mlmviz.training import head as head_training
from mlmviz.training import jobs

APP = ENTRY
TINY = {"tpos": "2000", "tsec": "300"}  # a few seconds of caching; Stop ends it
POLL_FOR = 180  # s: the most a test waits for the page to get somewhere


@pytest.fixture(autouse=True)
def free_queue():
    """No training of another test is left running, before or after."""
    jobs.QUEUE.stop_all(timeout=30)
    yield
    jobs.QUEUE.stop_all(timeout=30)


def _page(query=TINY):
    app = AppTest.from_file(str(APP), default_timeout=180)
    app.query_params.update(query)
    app.run()
    app.switch_page("app_pages/train_head.py").run()
    assert not app.exception, app.exception
    return app


def _button(app, label):
    return next(b for b in app.button if b.label == label)


def _curve(app):
    spec = json.loads(app.get("plotly_chart")[0].proto.spec)
    return next(trace for trace in spec["data"] if trace["name"] == "held-out accuracy")["x"]


def _texts(app):
    return [e.value for kind in ("info", "success", "warning", "error") for e in getattr(app, kind)]


def _poll(app, until, timeout=POLL_FOR):
    """Rerun `app` (as the page's fragment does every second) until `until(app)`."""
    deadline = time.monotonic() + timeout
    while not until(app):
        assert time.monotonic() < deadline, _texts(app)
        time.sleep(0.5)
        app.run()
        assert not app.exception, app.exception
    return app


def _steps(app):
    return next(m.value for m in app.metric if m.label == "Steps")


def _check(app):
    return next(t for t in _texts(app) if t.startswith("**Head check:**"))


def _fresh(app):
    """The page starts from a fresh head: one calm note, no warning anywhere."""
    notes = [i.value for i in app.info if i.value.startswith("**A fresh head.**")]
    warned = [w.value for w in [*app.warning, *app.sidebar.warning] if "fresh" in w.value]
    return len(notes) == 1 and not warned and not any(
        t.startswith("**Head check:**") for t in _texts(app))


def _sidebar_check(app):
    """The sidebar's head-check line (a caption when trained, a warning when not)."""
    lines = [e.value for e in [*app.sidebar.caption, *app.sidebar.warning]]
    return next(line for line in lines
                if line.startswith(("This page's head:", "The head", "The checkpoint")))


def _guesses(app):
    return [m.value for m in app.markdown if "→" in m.value]


def test_the_page_starts_from_a_fresh_head_with_random_guesses():
    app = _page()
    assert _fresh(app)
    assert _sidebar_check(app) == "The head has trained weights."  # the loaded model's, once
    assert _curve(app) == []
    assert len(_guesses(app)) == 3
    assert _button(app, "Stop").disabled and _button(app, "Reset").disabled
    assert _button(app, "Explore this head").disabled


def test_start_grows_the_curve_stop_stops_and_reset_gives_a_fresh_head():
    app = _page()
    fresh = _guesses(app)
    _button(app, "Start").click().run()
    assert app.select_slider(key="tlr").disabled  # the settings are those it started with
    assert _sidebar_check(app).startswith("This page's head: training now")
    _poll(app, lambda a: len(_curve(a)) >= 3)
    assert "trained weights" in _check(app) and _guesses(app) != fresh
    _button(app, "Stop").click().run()
    _poll(app, lambda a: any(t.startswith("Stopped after") for t in _texts(a)))
    steps = _steps(app)
    time.sleep(2)
    app.run()
    assert _steps(app) == steps and not app.select_slider(key="tlr").disabled
    assert not _button(app, "Explore this head").disabled
    assert _sidebar_check(app) == "This page's head: The head has trained weights."
    _button(app, "Reset").click().run()
    assert _fresh(app) and _curve(app) == []
    assert _sidebar_check(app) == "The head has trained weights."
    assert _guesses(app) == fresh


def test_two_sessions_starting_at_once_one_trains_one_waits_and_can_cancel():
    first, second = _page(), _page()
    _button(first, "Start").click()
    _button(second, "Start").click()
    first.run()
    second.run()
    waiting = [a for a in (first, second) if any("number 1 in the queue" in t for t in _texts(a))]
    assert len(waiting) == 1, [_texts(first), _texts(second)]
    running = first if waiting[0] is second else second
    _poll(running, lambda a: len(_curve(a)) >= 2)
    waiting[0].run()
    assert any("number 1 in the queue" in t for t in _texts(waiting[0]))
    _button(waiting[0], "Cancel").click().run()
    assert any("Cancelled" in t for t in _texts(waiting[0]))
    assert _button(waiting[0], "Start").disabled is False
    _button(running, "Stop").click().run()


def test_a_failing_training_says_why_and_the_page_keeps_working(monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("The corpus has no text lines.")

    monkeypatch.setattr(head_training, "cache_states", broken)
    app = _page()
    _button(app, "Start").click().run()
    _poll(app, lambda a: any(t.startswith("The training failed") for t in _texts(a)))
    assert any("ValueError: The corpus has no text lines." in e.value for e in app.error)
    assert not _button(app, "Start").disabled
    assert not any(t.startswith("**Head check:**") for t in _texts(app))  # still the fresh head
    assert _sidebar_check(app) == "The head has trained weights."  # the loaded model's
    monkeypatch.undo()
    _button(app, "Start").click().run()
    _poll(app, lambda a: len(_curve(a)) >= 2)
    _button(app, "Stop").click().run()


def test_explore_makes_the_trained_head_the_model_of_every_page(made, tmp_path):
    app = _page()
    _button(app, "Start").click().run()
    _poll(app, lambda a: len(_curve(a)) >= 2)
    _button(app, "Stop").click().run()
    _poll(app, lambda a: not _button(a, "Explore this head").disabled)
    downloaded = tmp_path / "downloaded.keras"
    downloaded.write_bytes(made["mlmviz-trained-head.keras"]())
    assert mlmviz.load(str(downloaded)).head_check.trained
    _button(app, "Explore this head").click().run()
    assert not app.exception, app.exception
    path = app.query_params["model_path"]
    assert app.query_params["model_kind"] == "Checkpoint path" and path.endswith(".keras")
    assert app.text_input(key="model_path").value == path
    assert any(path in m.value for m in app.sidebar.markdown)  # the sidebar runs it
    assert any("every page uses it" in s.value for s in app.success)
    app.switch_page("app_pages/predict.py").run()
    assert not app.exception, app.exception
    trained = mlmviz.load(path)
    assert trained.head_check.trained
    text = app.text_area(key="text").value
    top = trained.fill_mask(text, top_k=1)["masks"][0]["predictions"][0]["token"]
    bars = json.loads(app.get("plotly_chart")[0].proto.spec)["data"][0]
    assert bars["y"][0] == top  # the first bar: the trained head's top guess


def test_on_a_shared_server_explore_keeps_the_head_in_the_session(monkeypatch, tmp_path):
    """No server path in the link or on the page; the file lies in the session's
    folder and goes with it."""
    monkeypatch.setenv(access.SHARED_ENV, "1")
    monkeypatch.setattr(storage, "ROOT", tmp_path / "sessions")
    app = _page({**TINY, "tsec": "60"})
    _button(app, "Start").click().run()
    _poll(app, lambda a: len(_curve(a)) >= 2)
    _button(app, "Stop").click().run()
    _poll(app, lambda a: not _button(a, "Explore this head").disabled)
    _button(app, "Explore this head").click().run()
    assert not app.exception, app.exception
    assert app.query_params["model_kind"] == "Trained head" and "model_path" not in app.query_params
    assert app.radio(key="model_kind").value == "Trained head"
    running = next(m.value for m in app.sidebar.markdown if m.value.startswith("**"))
    assert running.startswith("**session:trained/trained-head-")
    assert str(tmp_path) not in running
    saved = list(storage.ROOT.glob("*/*/trained/*.keras"))
    assert len(saved) == 1 and mlmviz.load(str(saved[0])).head_check.trained
    app.switch_page("app_pages/predict.py").run()
    assert not app.exception and len(app.get("plotly_chart")) == 1
    session = saved[0].parent.parent.name
    assert storage.sweep(alive=lambda s: s != session) == [session]  # the session ended
    assert not saved[0].exists()


def test_the_page_opens_with_the_packages_default_settings():
    defaults = head_training.HeadSettings()
    assert (view.FIELDS["tlr"].default, view.FIELDS["tbatch"].default,
            view.FIELDS["tact"].default, view.FIELDS["tuntied"].default,
            view.FIELDS["tembed"].default) == (
        defaults.learning_rate, defaults.batch_size, defaults.activation,
        not defaults.tied, defaults.train_embedding)
