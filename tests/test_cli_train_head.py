"""`python -m mlmviz train-head`: a fresh head on the default model's frozen encoder."""

import json

import numpy as np
import pytest

import mlmviz
from mlmviz.cli import main

PROBE = "he opened the [MASK] and walked in."


@pytest.fixture(scope="module")
def trained_folder(tmp_path_factory):
    """`train-head --json` on 3,000 positions of the shipped sample for 30 steps."""
    out = tmp_path_factory.mktemp("train_head") / "head"
    return out, ["train-head", "--base", "default", "--positions", "3000", "--steps", "30",
                 "--every", "10", "--batch-size", "256", "--out", str(out), "--json"]


@pytest.fixture(scope="module")
def result(trained_folder):
    out, argv = trained_folder
    import contextlib
    import io

    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main(argv) == 0
    return json.loads(stdout.getvalue())


def test_json_gives_the_final_figures_and_the_curve(result, trained_folder):
    out, _ = trained_folder
    assert {"steps", "seconds", "heldout_accuracy", "loss", "curve"} <= set(result)
    assert result["steps"] == 30
    assert [point["step"] for point in result["curve"]] == [0, 10, 20, 30]
    assert result["heldout_accuracy"] == result["curve"][-1]["heldout_accuracy"]
    assert result["heldout_accuracy"] > result["baseline_accuracy"]
    assert result["curve"][-1]["loss"] < result["curve"][0]["loss"]
    report = json.loads((out / "training.json").read_text())
    assert report["curve"] == result["curve"] and report["train_positions"] == 3000


def test_the_folder_loads_and_holds_the_trained_head(result, trained_folder):
    out, _ = trained_folder
    loaded = mlmviz.load(out)
    assert loaded.head_check.trained
    default = mlmviz.load("default")
    assert not np.allclose(loaded.output_bias, default.output_bias)
    np.testing.assert_allclose(loaded.embedding_matrix, default.embedding_matrix)


@pytest.mark.parametrize("args, message", [
    (["--base", "/nonexistent", "--out", "OUT"], "does not exist"),
    (["--base", "default", "--corpus", "/nonexistent.txt", "--out", "OUT"], "No such file"),
    (["--base", "default", "--learning-rate", "0", "--out", "OUT"], "learning rate"),
    (["--base", "default", "--seconds", "-1", "--out", "OUT"], "--seconds"),
    (["--base", "default", "--untied", "--train-embedding", "--out", "OUT"], "tied head only"),
])
def test_bad_input_is_one_line_on_stderr_and_status_2(tmp_path, capsys, args, message):
    args = [str(tmp_path / "out") if a == "OUT" else a for a in args]
    assert main(["train-head", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and message in captured.err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args, message", [
    (["--out", "x"], "--base"),
    (["--base", "default", "--seconds", "5", "--steps", "5", "--out", "x"], "not allowed with"),
    (["--base", "default", "--activation", "tanh", "--out", "x"], "invalid choice: 'tanh'"),
])
def test_usage_errors_name_the_option(capsys, args, message):
    with pytest.raises(SystemExit) as stopped:
        main(["train-head", *args])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error


def test_a_corpus_that_is_not_utf8_is_refused(tmp_path, capsys):
    corpus = tmp_path / "latin1.txt"
    corpus.write_bytes("caf\xe9 au lait\n".encode("latin-1"))
    assert main(["train-head", "--base", "default", "--corpus", str(corpus),
                 "--out", str(tmp_path / "out")]) == 2
    assert "not UTF-8" in capsys.readouterr().err
