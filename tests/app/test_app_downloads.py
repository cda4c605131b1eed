"""Every analysis page offers the numbers behind its charts as files, and the
charts' camera button saves PNG or SVG as the user chooses.

The files are built when a button is clicked (a callable handed to
`st.download_button`); AppTest clicks nothing in a browser, so `made` catches
each callable as Streamlit registers it and the tests call it, as Streamlit's
file endpoint would."""

import io
import json

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from mlmviz import export
from mlmviz.app import ENTRY

APP = ENTRY
SENTENCES = "the [MASK] sat on the mat .\nshe drank a glass of [MASK] .\nthe [MASK] ran away ."
FILES = {
    "predict": {
        "Download predictions (CSV)": "mlmviz-predictions.csv",
        "Download this view (JSON)": "mlmviz-view.json",
    },
    "anatomy": {
        "Stage vectors (CSV)": "mlmviz-anatomy-stages.csv",
        "Context/bias split (CSV)": "mlmviz-anatomy-split.csv",
        "All stages (JSON)": "mlmviz-anatomy-stages.json",
    },
    "embeddings": {"Neighbour tables (CSV)": "mlmviz-embeddings-neighbours.csv"},
    "lens": {"Layer × token table (CSV)": "mlmviz-lens.csv"},
    "attention": {
        "The mask's attention per layer and head (CSV)": "mlmviz-attention-mask.csv",
        "All attention weights (JSON)": "mlmviz-attention.json",
    },
    "masking_lab": {
        "Corruption and loss per token (CSV)": "mlmviz-masking-lab.csv",
        "Pseudo-log-likelihood per token (CSV)": "mlmviz-pll.csv",
    },
    "compare": {
        "Summary per mask (CSV)": "mlmviz-compare-summary.csv",
        "Probabilities of the top tokens (CSV)": "mlmviz-compare-tokens.csv",
    },
    "states": {  # the default text has one mask: only the sentences below have PCA
        "Vectors (CSV)": "mlmviz-states-batch-vectors.csv",
        "PCA coordinates (CSV)": "mlmviz-states-batch-pca.csv",
    },
}


@pytest.fixture
def app():
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    return at


def _open(app, page):
    app.switch_page(f"app_pages/{page}.py").run()
    assert not app.exception, app.exception
    return app


def _csv(made, name):
    """The table of a CSV download (its first line is the provenance comment)."""
    return pd.read_csv(io.StringIO(made[name]()), keep_default_na=False, na_values=[""],
                       skiprows=1)


def _assert_provenance(app, name, content):
    """The file says where its numbers came from: model, weights, precision,
    mlmviz's version, every setting of the view and the link that restores it."""
    found = export.read_provenance(name, content)
    assert found is not None, name
    meta = app.session_state["model_source"] if "model_source" in app.session_state else "default"
    assert found["model"] == meta and len(found["weight_hash"]) == 16, found
    assert found["precision"] == "float32" and found["mlmviz"] == export.package_version()
    assert found["view"]["text"] == app.text_area(key="text").value
    assert found["link"].startswith("/") and "?" in found["link"], found["link"]
    return found


def _charts(app):
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def _chart(app, title):
    """The first chart whose title starts with `title`."""
    return next(c for c in _charts(app) if c["layout"]["title"]["text"].startswith(title))


@pytest.mark.parametrize("page", FILES)
def test_each_page_offers_its_files_with_clear_labels(app, made, page):
    _open(app, page)
    if page == "states":
        app.text_area(key="batch").set_value(SENTENCES).run()
    assert [button.label for button in app.download_button] == list(FILES[page])
    assert all(button.proto.deferred_file_id for button in app.download_button), (
        "each file must be built on click, not on every rerun")
    for name in FILES[page].values():
        content = json.loads(made[name]()) if name.endswith(".json") else _csv(made, name)
        assert len(content) > 0, name
        _assert_provenance(app, name, made[name]())


def test_a_downloaded_view_holds_its_provenance_and_loads_back(app, made):
    _open(app, "predict")
    saved = made["mlmviz-view.json"]()
    found = _assert_provenance(app, "mlmviz-view.json", saved)
    assert found["view"]["text"] == export.read_bundle(saved)["text"]
    assert export.read_bundle(saved)["weight_hash"] == found["weight_hash"]


def test_anatomy_files_hold_the_charts_numbers(app, made):
    _open(app, "anatomy")
    split = _chart(app, "Each top token's logit")
    assert _csv(made, "mlmviz-anatomy-split.csv")["token"].tolist() == split["data"][0]["y"]
    heatmap = _chart(app, "Each stage's vector")
    stages = _csv(made, "mlmviz-anatomy-stages.csv")
    assert len(stages) == len(heatmap["data"][0]["z"][0])  # one row per dimension
    assert json.loads(made["mlmviz-anatomy-stages.json"]())["position"] == 4  # "door"


def test_lens_file_is_the_pages_table(app, made):
    _open(app, "lens")
    shown, saved = app.dataframe[0].value, _csv(made, "mlmviz-lens.csv")
    assert saved["layer"].tolist() == shown["layer"].tolist()
    assert saved["top_1"].tolist() == shown["#1"].tolist()
    assert saved["final_rank"].tolist() == shown["final rank"].tolist()


def test_attention_files_hold_the_grids_numbers_and_the_whole_tensor(app, made):
    _open(app, "attention")
    grid = _chart(app, "What the mask")
    rows = _csv(made, "mlmviz-attention-mask.csv")
    assert len(rows) == len(grid["data"][0]["y"]) * len(grid["data"][0]["x"])
    first = rows[(rows["layer"] == 1) & (rows["head"] == 1)]
    assert first["weight"].tolist() == pytest.approx(grid["data"][0]["z"][0], rel=1e-6)
    whole = json.loads(made["mlmviz-attention.json"]())
    assert whole["tokens"] == first["key_token"].tolist()
    layers, heads = rows["layer"].max(), rows["head"].max()
    assert len(whole["attention"]) == layers and len(whole["attention"][0]) == heads


def test_embeddings_file_holds_both_neighbour_tables(app, made):
    _open(app, "embeddings")
    saved = _csv(made, "mlmviz-embeddings-neighbours.csv")
    for metric, shown in zip(("dot", "cosine"), app.dataframe[:2]):
        rows = saved[saved["metric"] == metric]
        assert rows["token"].tolist() == shown.value["token"].tolist()
        assert rows["score"].tolist() == pytest.approx(shown.value[metric].tolist(), rel=1e-6)


def test_masking_lab_files_follow_the_lab_and_the_strip(app, made):
    _open(app, "masking_lab")
    shown = app.dataframe[0].value
    saved = _csv(made, "mlmviz-masking-lab.csv").dropna(subset=["loss"])
    assert saved["position"].tolist() == shown["position"].tolist()
    assert saved["loss"].tolist() == pytest.approx(shown["loss (nats)"].tolist(), rel=1e-6)
    surprise = _charts(app)[1]
    pll = _csv(made, "mlmviz-pll.csv")
    assert pll["token"].tolist() == surprise["data"][0]["text"][0]


def test_compare_offers_the_target_words_when_some_are_typed(app, made):
    _open(app, "compare")
    assert "Target words (CSV)" not in [b.label for b in app.download_button]
    app.text_input(key="words").set_value("window, box").run()
    assert "Target words (CSV)" in [b.label for b in app.download_button]
    targets = _csv(made, "mlmviz-compare-targets.csv")
    shown = app.dataframe[1].value
    assert targets["word"].tolist() == shown["target"].tolist() == ["window", "box"]
    assert targets["rank_b"].tolist() == shown["rank in B"].tolist()


def test_states_pca_file_has_the_scatters_points(app, made):
    _open(app, "states")
    app.text_area(key="batch").set_value(SENTENCES).run()
    scatter = _chart(app, "Gathered")
    points = {(x, y) for trace in scatter["data"] for x, y in zip(trace["x"], trace["y"])}
    saved = _csv(made, "mlmviz-states-batch-pca.csv")
    assert {(x, y) for x, y in zip(saved["gathered_x"], saved["gathered_y"])} == points
    assert len(_csv(made, "mlmviz-states-batch-vectors.csv")) == 2 * len(saved)


def _image_formats(app):
    return {json.loads(c.proto.config)["toImageButtonOptions"]["format"]
            for c in app.get("plotly_chart")}


def test_charts_save_as_png_or_svg_as_chosen_on_every_page(app):
    assert _image_formats(app) == {"png"}
    app.radio(key="chart_format_choice").set_value("SVG").run()
    assert _image_formats(app) == {"svg"}
    _open(app, "anatomy")
    assert _image_formats(app) == {"svg"}, "the choice must follow the user to another page"
    config = json.loads(app.get("plotly_chart")[0].proto.config)
    assert config["toImageButtonOptions"]["filename"] == "mlmviz-anatomy_vectors"
    app.radio(key="chart_format_choice").set_value("PNG").run()
    assert _image_formats(app) == {"png"}


def test_presentation_mode_folds_the_downloads_away(app):
    app.toggle(key="present").set_value(True).run()
    _open(app, "lens")
    labels = [e.label for e in app.expander]
    assert "Download the numbers" in labels and "Chart images" in labels
    assert app.download_button  # still there, inside the expander
