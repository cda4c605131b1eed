"""mlmviz.notebook headless: the explorer's callbacks, the show_* figures, and the tour
notebook executed top to bottom in a real kernel."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from ipykernel.kernelspec import write_kernel_spec
from nbclient import NotebookClient

import mlmviz
from mlmviz import notebook
from mlmviz.analysis import anatomy, logit_lens
from mlmviz.analysis.attention import attention

ROOT = Path(__file__).resolve().parents[1]
TOUR = ROOT / "examples" / "tour.ipynb"
TEXT = "he opened the [MASK] ."


@pytest.fixture
def explorer(default_model):
    return notebook.explore(default_model, TEXT)


PLOTLY = "application/vnd.plotly.v1+json"


def drawn(chart):
    """The plotly figure (a JSON dict) that `chart`, an `Output`, shows."""
    (output,) = chart.outputs
    return output["data"][PLOTLY]


def assert_shows(chart, mask):
    """`chart` draws the top-k of `mask`, one mask of a `fill_mask` result."""
    (bars,) = drawn(chart)["data"]
    assert bars["y"] == [p["token"] for p in mask["predictions"]]
    assert bars["x"] == pytest.approx([p["probability"] for p in mask["predictions"]])


def button(explorer, token):
    return next(b for b in explorer.tokens.children if b.description == token)


def test_the_explorer_starts_with_a_button_per_word_and_the_typed_mask_pressed(
        explorer, default_model):
    tokens = [b.description for b in explorer.tokens.children]
    assert tokens == ["he", "opened", "the", "[MASK]", "."]  # no [CLS], [SEP]
    assert [b.value for b in explorer.tokens.children] == [False, False, False, True, False]
    assert button(explorer, "[MASK]").disabled and explorer.picked == []
    (chart,) = explorer.charts.children
    assert_shows(chart, default_model.fill_mask(TEXT)["masks"][0])
    assert drawn(chart)["data"][0]["y"][0] == "door"
    assert drawn(chart) == {**json.loads(explorer.figures[0].to_json()), "config": {}}
    assert explorer.message.value == ""
    assert explorer.filled.value == "With the top guesses: he opened the <b>door</b> ."


def test_toggling_a_token_masks_it_and_redraws_the_same_charts(explorer, default_model):
    first = explorer.charts.children[0]
    button(explorer, "opened").value = True
    assert explorer.picked == [2]
    result = default_model.fill_mask(TEXT, positions=[2])
    assert explorer.charts.children[0] is first  # redrawn in place
    assert len(explorer.charts.children) == len(result["masks"]) == 2
    for chart, mask in zip(explorer.charts.children, result["masks"]):
        assert_shows(chart, mask)
    assert drawn(first)["layout"]["title"]["text"] == "Position 2: opened"
    button(explorer, "opened").value = False
    assert len(explorer.charts.children) == 1 and explorer.picked == []


def test_top_k_changes_the_number_of_bars(explorer, default_model):
    explorer.top_k.value = 3
    (chart,) = explorer.charts.children
    assert len(drawn(chart)["data"][0]["y"]) == 3
    assert_shows(chart, default_model.fill_mask(TEXT, top_k=3)["masks"][0])


def test_temperature_changes_the_probabilities_as_fill_mask_does(explorer, default_model):
    (chart,) = explorer.charts.children
    before = drawn(chart)["data"][0]["x"][0]
    explorer.temperature.value = 2.0
    assert drawn(chart)["data"][0]["x"][0] < before  # a higher temperature spreads it
    assert_shows(chart, default_model.fill_mask(TEXT, temperature=2.0)["masks"][0])


def test_editing_the_text_rebuilds_the_buttons_and_keeps_masks_on_the_same_token(explorer):
    button(explorer, "the").value = True  # position 3
    explorer.text.value = "she opened the [MASK] quickly ."
    assert [b.description for b in explorer.tokens.children] == [
        "she", "opened", "the", "[MASK]", "quickly", "."]
    assert explorer.picked == [3]
    assert [drawn(c)["layout"]["title"]["text"] for c in explorer.charts.children] == [
        "Position 3: the", "Position 4: [MASK]"]
    explorer.text.value = "the door was [MASK] ."  # position 3 is "was" now
    assert explorer.picked == []


def test_bad_input_gives_a_message_and_the_widgets_keep_working(explorer, default_model):
    explorer.text.value = "   "
    assert "The text is empty" in explorer.message.value
    assert explorer.charts.children == () and explorer.figures == [] and explorer.result is None
    explorer.text.value = "he opened the door ."
    assert "Nothing is masked" in explorer.message.value
    button(explorer, "door").value = True
    assert explorer.message.value == ""
    (chart,) = explorer.charts.children
    assert_shows(chart, default_model.fill_mask("he opened the door .", positions=[4])["masks"][0])


def test_a_long_text_says_where_it_was_cut(explorer):
    explorer.text.value = "he said " * 300 + "[MASK] ."
    assert "lies in the part that was cut off" in explorer.message.value
    assert explorer.charts.children == ()
    explorer.text.value = "[MASK] said " + "he said " * 300
    assert "reads at most 512 tokens" in explorer.message.value
    assert len(explorer.charts.children) == 1


def test_show_anatomy_draws_the_anatomy_numbers(default_model):
    masked = default_model.mask(TEXT)
    stages = default_model.stages(masked)
    table = anatomy.anatomy_table(stages, 0, default_model.vocabulary, top_k=4, temperature=0.5)
    vectors, split, softmax = notebook.show_anatomy(default_model, TEXT, top_k=4, temperature=0.5)
    normed = np.array(vectors.data[0].z[3], dtype=float)
    np.testing.assert_allclose(normed[:stages["normed"].shape[-1]], stages["normed"][0, 0], rtol=1e-6)
    assert list(split.data[0].y) == [row["token"] for row in table]
    np.testing.assert_allclose(split.data[0].x, [row["context"] for row in table], rtol=1e-6)
    np.testing.assert_allclose(split.data[1].x, [row["bias"] for row in table], rtol=1e-6)
    np.testing.assert_allclose(softmax.data[0].x, [row["probability"] for row in table], rtol=1e-6)
    np.testing.assert_allclose(softmax.data[1].x, [row["bias_only_probability"] for row in table],
                               rtol=1e-6)


def test_show_lens_draws_the_lens_of_the_chosen_mask(default_model):
    text = "the [MASK] sat on the [MASK] ."
    masked = default_model.mask(text)
    table = logit_lens.lens_table(logit_lens.lens_logits(default_model, masked), 1,
                                  default_model.vocabulary)
    (figure,) = notebook.show_lens(default_model, text, mask=1)
    np.testing.assert_allclose(figure.data[0].y, [r["final_probability"] for r in table["layers"]],
                               rtol=1e-6)
    assert list(figure.data[1].y) == [r["final_rank"] for r in table["layers"]]
    assert table["final"] in figure.layout.title.text
    with pytest.raises(ValueError, match="mask must be 0 to 1"):
        notebook.show_lens(default_model, text, mask=2)


def test_show_attention_draws_the_mask_rows_and_one_head(default_model):
    masked = default_model.mask(TEXT)
    weights = attention(default_model, masked)  # (layers, heads, seq, seq)
    grid, average, matrix = notebook.show_attention(default_model, TEXT, layer=2, head=1)
    query = masked.positions[0]
    np.testing.assert_allclose(grid.data[0].z, weights[:, :, query].reshape(-1, weights.shape[-1]),
                               rtol=1e-6)
    np.testing.assert_allclose(average.data[0].z, weights[:, :, query].mean(axis=1), rtol=1e-5)
    np.testing.assert_allclose(matrix.data[0].z, weights[1, 0], rtol=1e-6)
    with pytest.raises(ValueError, match="layer must be 1 to 2 and head 1 to 2"):
        notebook.show_attention(default_model, TEXT, layer=3)


def test_show_attention_says_clearly_when_the_model_has_no_attention(default_model, monkeypatch):
    monkeypatch.setattr(mlmviz.inspection, "encoder_calls", lambda backbone: [])
    with pytest.raises(ValueError, match="no TransformerEncoder layers.*show_lens still work"):
        notebook.show_attention(default_model, TEXT)


def test_without_ipywidgets_the_import_error_says_what_to_install():
    code = "import sys; sys.modules['ipywidgets'] = None; import mlmviz.notebook"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode != 0
    assert 'pip install "mlmviz[notebook]"' in result.stderr


def test_the_committed_tour_has_no_outputs():
    tour = nbformat.read(TOUR, as_version=4)
    nbformat.validate(tour)
    code = [cell for cell in tour.cells if cell.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


@pytest.fixture(scope="module")
def executed_tour(tmp_path_factory):
    """examples/tour.ipynb run top to bottom, raising on any error, in a kernel of this
    python (a kernelspec written to a fresh JUPYTER_PATH, so no user-level "python3"
    kernel of another python is picked up), plus a last cell printing that python."""
    kernels = tmp_path_factory.mktemp("jupyter")
    write_kernel_spec(kernels / "kernels" / "mlmviz-tour")
    tour = nbformat.read(TOUR, as_version=4)
    tour.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.executable)"))
    client = NotebookClient(tour, timeout=600, kernel_name="mlmviz-tour",
                            resources={"metadata": {"path": str(TOUR.parent)}})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(kernels))
        client.execute(env={**os.environ, "PYTHONPATH": str(ROOT)})
    return [cell for cell in tour.cells if cell.cell_type == "code"]


def _outputs(cell, kind):
    return [o for o in cell.outputs if o.output_type == kind]


def test_the_tour_runs_and_fills_the_mask_with_door(executed_tour):
    fill = next(c for c in executed_tour if "fill_mask" in c.source)
    text = "".join(o.text for o in _outputs(fill, "stream") if o.name == "stdout")
    assert text.splitlines()[0].split()[:2] == ["1.", "door"]
    assert not any(_outputs(c, "error") for c in executed_tour)
    (python,) = _outputs(executed_tour[-1], "stream")
    assert python.text.strip() == sys.executable


def test_the_tour_draws_the_figures_and_the_explorer(executed_tour):
    plotly = "application/vnd.plotly.v1+json"
    anatomy_cell = next(c for c in executed_tour if "show_anatomy(" in c.source)
    figures = [o.data[plotly] for o in _outputs(anatomy_cell, "display_data") if plotly in o.data]
    assert len(figures) == 3
    assert figures[1]["data"][0]["y"][0] == "door"  # the logit split's top token
    explorer = executed_tour[-2]
    (result,) = _outputs(explorer, "execute_result")
    assert "application/vnd.jupyter.widget-view+json" in result.data


def test_the_docs_notebook_section_runs_as_written():
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "notebooks.md").read_text(), re.S)
    code = next(block for block in blocks if "mlmviz.notebook import" in block)
    namespace = {}
    exec(code, namespace)  # noqa: S102
    explorer = namespace["explore"](namespace["model"], "he opened the [MASK] .")
    assert drawn(explorer.charts.children[0])["data"][0]["y"][0] == "door"
