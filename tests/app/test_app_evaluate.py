"""The Evaluate page on the default model and the shipped held-out sample, through AppTest."""

import hashlib
import html
import json
import re

import numpy as np
import pytest
from hf_checkpoints import make_checkpoint, noisy_default
from markdown_it import MarkdownIt
from nested import close
from safetensors.numpy import load_file, save_file
from streamlit.testing.v1 import AppTest

import mlmviz
from mlmviz.app import ENTRY, session
from mlmviz.analysis.evaluation import evaluate
from mlmviz.analysis.line_scores import line_scores, worst_lines
from mlmviz.figures.evaluation import short_count
from mlmviz.samples import HELDOUT_SAMPLE

APP = ENTRY
SAMPLE = HELDOUT_SAMPLE
LINES = 24  # lines evaluated: a few seconds


@pytest.fixture
def page():
    app = AppTest.from_file(str(APP), default_timeout=180)
    app.run()
    app.switch_page("app_pages/evaluate.py").run()
    assert not app.exception, app.exception
    app.number_input(key="elines").set_value(LINES).run()
    return app


def _run(app):
    next(b for b in app.button if b.label == "Run the evaluation").click().run()
    assert not app.exception, app.exception
    return app


def _metrics(app):
    return {metric.label: metric.value for metric in app.metric}


@pytest.fixture
def page_model(page):
    """The model object the page runs (the app's cached load of the default model).

    References are computed with it, not with a separate load: two loads trace
    their graphs for different batch shapes and may round float32 sums apart,
    enough to flip a near tie of the top two tokens (a random failure once).
    """
    return session.load_model("default")


def _close(a, b):
    """Equal through lists and dicts, floats to 1e-5 (1e-6 absolute): the float32
    rounding a graph traced for another batch shape may change (the ranks and
    top-1 tokens compared exactly come from the same model object)."""
    return close(a, b, rel=1e-5, abs_=1e-6)


def _reference(model):
    """The summary and the detail records of the page's run, computed directly."""
    records = []
    with open(SAMPLE, encoding="utf-8") as corpus:
        summary = evaluate(model, corpus, rate=0.15, seed=0, max_lines=LINES,
                           on_details=records.extend)
    return summary, records


def test_a_run_shows_the_progress_bar_and_the_summarys_numbers(page, made, page_model):
    assert not page.metric and not page.get("progress")  # nothing runs before the click
    _run(page)
    bar = page.get("progress")[0].proto
    assert bar.value == 100 and f"Evaluated {LINES} lines" in bar.text
    summary, records = _reference(page_model)
    assert _metrics(page) == {
        "Top-1 accuracy": f"{summary['top1_accuracy']:.1%}",
        "Top-5 accuracy": f"{summary['top5_accuracy']:.1%}",
        "Loss (nats)": f"{summary['loss']:.3f}",
        "Perplexity": f"{summary['perplexity']:.1f}",
        "ECE": f"{summary['ece']:.3f}",
        "Best temperature": f"{summary['best_temperature']['temperature']:.2f}",
        "Lines": str(LINES),
        "Masked tokens": str(summary["masked_tokens"]),
        "Cut lines": "0",
    }
    charts = [json.loads(chart.proto.spec) for chart in page.get("plotly_chart")]
    counts = next(t for t in charts[0]["data"] if t["name"] == "masks per bin")
    assert counts["text"] == [short_count(b["count"]) for b in summary["reliability"]]
    assert charts[1]["data"][0]["y"] == [b["accuracy"] or 0 for b in summary["by_frequency"]]
    downloaded = json.loads(made["mlmviz-evaluation.json"]())
    origin = downloaded.pop("provenance")
    assert _close(downloaded, {**summary, "model": "default"})
    first, *lines = made["mlmviz-evaluation-details.jsonl"]().splitlines()
    details = [json.loads(line) for line in lines]
    assert _close(sorted(details, key=lambda r: (r["line"], r["position"])),
                  sorted(records, key=lambda r: (r["line"], r["position"])))
    # Both files say where the numbers came from: the model, the corpus and its settings.
    assert json.loads(first)["provenance"] == origin
    assert (origin["model"], origin["weight_hash"]) == ("default", page_model.metadata["weight_hash"])
    run = origin["run"]
    assert (run["corpus"], run["rate"], run["seed"], run["max_lines"]) == (
        "heldout-sample.txt", 15, 0, LINES)
    assert run["digest"] == hashlib.sha256(SAMPLE.read_bytes()).hexdigest()
    assert "/evaluate?" in origin["link"] and f"elines={LINES}" in origin["link"]


def test_the_result_survives_reruns_and_a_new_setting_marks_it_stale(page):
    _run(page)
    shown = _metrics(page)
    page.switch_page("app_pages/predict.py").run()
    page.switch_page("app_pages/evaluate.py").run()
    assert not page.exception
    assert _metrics(page) == shown
    assert not page.get("progress")  # not evaluated again
    page.number_input(key="eseed").set_value(3).run()
    assert not page.metric
    assert any("The last run was on" in info.value and "seed 0" in info.value
               for info in page.info)
    page.number_input(key="eseed").set_value(0).run()  # back to the settings of the run
    assert _metrics(page) == shown


def test_a_worst_line_opens_on_predict_with_its_text_and_masks(page, page_model):
    _run(page)
    _, records = _reference(page_model)
    worst = worst_lines(line_scores(records), 10).iloc[0]
    text = SAMPLE.read_text(encoding="utf-8").splitlines()[worst["line"]]
    page.button(key=f"eval_open_{worst['line']}").click().run()
    assert not page.exception, page.exception
    assert page.text_area(key="text").value == text
    assert tuple(page.session_state["_view"]["picked"]) == worst["positions"]
    titles = [json.loads(chart.proto.spec)["layout"]["title"]["text"]
              for chart in page.get("plotly_chart")]
    assert [title.split(":")[0] for title in titles] == [
        f"Position {p}" for p in worst["positions"]]


@pytest.mark.parametrize("data, message", [
    ("un café noir\n".encode("latin-1"), "latin.txt is not UTF-8 text: byte 0xe9 on line 1"),
    (b"\n \n", "latin.txt holds no text"),
])
def test_an_unreadable_upload_says_why_and_the_page_keeps_working(page, data, message):
    page.radio(key="ecorpus").set_value("Upload a .txt").run()
    assert any("Upload a .txt file" in info.value for info in page.info)
    page.file_uploader[0].upload("latin.txt", data, "text/plain").run()
    assert not page.exception, page.exception
    assert [error.value for error in page.error if message in error.value]
    assert not [b for b in page.button if b.label == "Run the evaluation"]
    page.file_uploader[0].upload("good.txt", b"she opened the door and walked in.\n"
                                 b"the cat sat on the mat.\n", "text/plain").run()
    assert not page.error
    _run(page)
    assert _metrics(page)["Lines"] == "2"
    page.radio(key="ecorpus").set_value("Held-out sample").run()
    _run(page)
    assert _metrics(page)["Lines"] == str(LINES)


def test_a_link_restores_the_settings_and_notes_a_bad_one():
    app = AppTest.from_file(str(APP), default_timeout=180)
    app.query_params.update({"ecorpus": "Upload a .txt", "eseed": "4", "elines": "50",
                             "erate": "0", "ecompare": "1", "compare_kind": "Checkpoint path",
                             "compare_path": "no/such/model"})
    app.run()
    app.switch_page("app_pages/evaluate.py").run()
    assert not app.exception, app.exception
    assert app.radio(key="ecorpus").value == "Upload a .txt"
    assert app.number_input(key="eseed").value == 4
    assert app.number_input(key="elines").value == 50
    assert app.slider(key="erate").value == 15  # the default: 0 % masks nothing
    assert app.toggle(key="ecompare").value
    assert app.text_input(key="compare_path").value == "no/such/model"
    assert [e.value for e in app.error if e.value.startswith("Model B could not be loaded")]
    notes = " ".join(c.value for c in app.caption if c.value.startswith("Ignored from the link"))
    assert "`erate=0`" in notes
    app.slider(key="erate").set_value(30).run()
    assert app.query_params["erate"] == "30" and app.query_params["eseed"] == "4"


@pytest.fixture(scope="module")
def other_checkpoint(tmp_path_factory):
    """The default model with noise in its last layer: same tokenizer, other predictions."""
    return str(noisy_default(tmp_path_factory.mktemp("noisy") / "model"))


def _with_second_model(page, path):
    page.toggle(key="ecompare").set_value(True).run()
    page.radio(key="compare_kind").set_value("Checkpoint path").run()
    page.text_input(key="compare_path").set_value(path).run()
    assert not page.exception, page.exception
    return page


def _signed(value):
    shown = f"{value:+.1f}"
    return "0.0" if shown[1:] == "0.0" else shown.replace("-", "−")


def test_a_second_model_shows_the_paired_comparison_of_evaluate(
        page, made, page_model, other_checkpoint):
    _run(_with_second_model(page, other_checkpoint))
    assert len(page.get("progress")) == 1  # one pass, one bar
    with open(SAMPLE, encoding="utf-8") as corpus:
        summary = evaluate(page_model, corpus, rate=0.15, seed=0, max_lines=LINES,
                           compare=session.load_model(other_checkpoint))
    compared, paired = summary["compare"], summary["compare"]["paired"]
    assert paired["gains"] or paired["losses"]  # the noise changes some answers
    cards = [(m.label, m.value, m.proto.delta) for m in page.metric]
    assert cards[9:12] == [
        ("Top-1 accuracy", f"{compared['top1_accuracy']:.1%}",
         f"{(compared['top1_accuracy'] - summary['top1_accuracy']) * 100:+.1f} pt"),
        ("Top-5 accuracy", f"{compared['top5_accuracy']:.1%}",
         f"{(compared['top5_accuracy'] - summary['top5_accuracy']) * 100:+.1f} pt"),
        ("Loss (nats)", f"{compared['loss']:.3f}", f"{compared['loss'] - summary['loss']:+.3f}"),
    ]
    low, high = paired["interval"]
    difference = paired["accuracy_difference"] * 100
    verdict = "not a clear difference" if low <= 0 <= high else "B is clearly"
    sentence = next(m.value for m in page.markdown if m.value.startswith("B is right on"))
    assert sentence.startswith(
        f"B is right on {abs(difference):.1f} points {'more' if difference >= 0 else 'fewer'} "
        f"of the masks (95 % interval {_signed(low * 100)} to {_signed(high * 100)}): {verdict}")
    headings = [m.value.split("  \n")[0] for m in page.markdown if "— B right on" in m.value]
    assert headings == [f"**Line {r['line'] + 1}** — B right on {r['correct_b']}, A on "
                        f"{r['correct_a']} of {r['masked_tokens']}"
                        for r in paired["gains"] + paired["losses"]]
    downloaded = json.loads(made["mlmviz-evaluation.json"]())
    assert _close(downloaded["compare"], compared) and downloaded["top1_accuracy"] == summary[
        "top1_accuracy"]

    first = (paired["gains"] + paired["losses"])[0]
    page.button(key=f"eval_pair_{first['line']}").click().run()
    assert page.text_area(key="text").value == SAMPLE.read_text(
        encoding="utf-8").splitlines()[first["line"]]
    assert list(page.session_state["_view"]["picked"]) == first["positions"]


def test_a_new_model_b_marks_the_result_stale(page, other_checkpoint):
    _run(_with_second_model(page, other_checkpoint))
    shown = _metrics(page)
    page.radio(key="compare_kind").set_value("Embedded default").run()
    assert not page.metric
    assert any("The last run was on" in info.value and other_checkpoint in info.value
               for info in page.info)
    page.radio(key="compare_kind").set_value("Checkpoint path").run()
    assert _metrics(page) == shown
    page.toggle(key="ecompare").set_value(False).run()  # A alone is another run
    assert not page.metric


def test_a_model_b_with_another_tokenizer_says_why_and_a_still_evaluates(
        page, tmp_path_factory):
    other = make_checkpoint("bert", tmp_path_factory.mktemp("tokenizer") / "tiny-bert")
    _with_second_model(page, str(other))
    assert [e.value for e in page.error if "different vocabularies" in e.value
            and "Model A is evaluated alone" in e.value]
    _run(page)
    assert _metrics(page)["Lines"] == str(LINES) and len(page.metric) == 9  # A's cards only
    assert not [m for m in page.markdown if m.value.startswith("B is right on")]
    assert _not_evaluated(page) == ["Model B was not evaluated (its tokenizer differs from "
                                    "model A's): these are model A's numbers alone."]


def _not_evaluated(page):
    return [w.value for w in page.warning if w.value.startswith("Model B was not evaluated")]


def test_a_model_b_that_fails_to_load_is_not_passed_off_as_a_comparison(page):
    """Compare on, B unloadable: A's run says B was not evaluated, here and in the hint."""
    _with_second_model(page, "no/such/model")
    hint = next(c.value for c in page.caption if c.value.startswith("The same run"))
    assert "--compare" not in hint and hint.endswith("(model A alone: model B is not evaluated)")
    _run(page)
    assert _not_evaluated(page) == ["Model B was not evaluated (it is not loaded): these are "
                                    "model A's numbers alone."]
    assert any("alone (model B was not evaluated)" in c.value for c in page.caption)
    assert len(page.metric) == 9 and not [m for m in page.markdown if m.value.startswith("**B**")]


def test_the_masked_words_of_a_listed_line_are_bold_even_next_to_a_word(page, page_model):
    """CommonMark leaves `Barnabas**,**` unbolded; the page must bold every masked word."""
    _run(page)
    _, records = _reference(page_model)
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    shown = {m.value.split("  \n")[0]: m.value.split("  \n")[1] for m in page.markdown
             if m.value.startswith("**Line")}
    for row in worst_lines(line_scores(records), 10).itertuples():
        text, offsets = lines[row.line], page_model.tokenizer.encode(lines[row.line]).offsets
        body = next(b for h, b in shown.items() if h.startswith(f"**Line {row.line + 1}**"))
        rendered = MarkdownIt().renderInline(body)
        bold = map(html.unescape, re.findall(r"<strong>(.*?)</strong>", rendered))
        assert "".join(bold) == "".join(text[slice(*offsets[p])] for p in row.positions), body


def test_a_model_b_with_nan_weights_says_so_and_a_evaluates_alone(page, tmp_path):
    directory = noisy_default(tmp_path / "nan")
    tensors = load_file(directory / "model.safetensors")
    tensors["bert.encoder.layer.1.output.dense.weight"][0, 0] = np.nan
    save_file(tensors, directory / "model.safetensors")
    _with_second_model(page, str(directory))
    assert [w.value for w in page.warning if "Model B's weights hold NaN" in w.value]
    _run(page)
    assert len(page.metric) == 9  # A's cards only
    assert not [m for m in page.markdown if m.value.startswith("B is right on")]
    assert _not_evaluated(page)
