"""`python -m mlmviz evaluate --compare ... --pll`, and Ctrl-C in evaluate."""

import json

import pytest

import mlmviz
from hf_checkpoints import CORPUS, make_checkpoint
from mlmviz import cli
from mlmviz.analysis.paired import RESAMPLES
from mlmviz.cli import main
from test_cli import _close, _recompute


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """Two tiny BERTs with the same tokenizer and other weights."""
    root = tmp_path_factory.mktemp("cli-compare")
    return [make_checkpoint("bert", root / f"seed{seed}", seed=seed) for seed in (1, 2)]


@pytest.fixture()
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(CORPUS[:12]) + "\n")
    return path


def _argv(checkpoints, corpus, *extra):
    return ["evaluate", "--model", str(checkpoints[0]), "--corpus", str(corpus),
            "--rate", "0.5", "--batch-size", "4", *extra]


def test_compare_json_holds_both_summaries_and_the_paired_figures(checkpoints, corpus, tmp_path,
                                                                  capsys):
    details = tmp_path / "details.jsonl"
    status = main(_argv(checkpoints, corpus, "--compare", str(checkpoints[1]), "--pll", "--json",
                        "--details", str(details)))
    assert status == 0
    summary = json.loads(capsys.readouterr().out)
    records = [json.loads(line) for line in details.read_text().splitlines()]
    compared = summary["compare"]
    assert summary["model"] == str(checkpoints[0]) and compared["model"] == str(checkpoints[1])
    lines = [line.rstrip("\n") for line in corpus.open()]
    model = mlmviz.load(checkpoints[0])
    for side, label in ((summary, "A"), (compared, "B")):
        mine = [{k: v for k, v in r.items() if k != "model"} for r in records
                if r["model"] == label]
        expected = _recompute(mine, lines, model.tokenizer, model.maskable_positions)
        for key, value in expected.items():
            assert _close(side[key], value), (label, key)
        assert side["pll_lines"] == 12 and side["pll_tokens"] > 0
        side["correct"] = sum(r["predicted_id"] == r["label_id"] for r in mine)
    paired = compared["paired"]
    difference = (compared["correct"] - summary["correct"]) / summary["masked_tokens"]
    assert paired["accuracy_difference"] == pytest.approx(difference, abs=1e-12)
    low, high = paired["interval"]
    assert low <= difference <= high
    assert paired["bootstrap"]["resamples"] == RESAMPLES


def test_compare_prints_both_models_and_the_difference(checkpoints, corpus, capsys):
    argv = _argv(checkpoints, corpus, "--compare", str(checkpoints[1]), "--pll", "--max-lines", "4")
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("top1_accuracy") == 2 and out.count("pll_per_token") == 2
    assert "compared with" in out and "accuracy_difference" in out
    assert f"{RESAMPLES} bootstrap resamples of lines" in out


def test_compare_with_another_tokenizer_is_one_line_and_status_2(checkpoints, corpus, capsys):
    assert main(_argv(checkpoints, corpus, "--compare", "default")) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert "different vocabularies" in captured.err


def test_help_says_what_compare_writes(capsys):
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert '"model" field, "A" or "B"' in out and "accuracy_difference" in out
    assert f"{RESAMPLES} bootstrap resamples of lines" in out and "pll_per_token" in out


def _main_catching_ctrl_c(argv):
    """`main(argv)`, failing the test (not stopping pytest) when a Ctrl-C escapes it."""
    try:
        return main(argv)
    except KeyboardInterrupt:
        pytest.fail("the KeyboardInterrupt escaped main")


class _InterruptingBar:
    """A progress bar whose second update is a Ctrl-C."""

    def __init__(self, *args):
        self.updates = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, lines):
        self.updates += 1
        if self.updates == 2:
            raise KeyboardInterrupt


def test_ctrl_c_prints_the_partial_result_and_exits_130(checkpoints, corpus, monkeypatch, capsys):
    monkeypatch.setattr(cli, "_progress", _InterruptingBar)
    status = _main_catching_ctrl_c(_argv(checkpoints, corpus, "--json"))
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert status == 130 and summary["interrupted"] and summary["lines"] == 8  # two batches
    assert captured.err == "mlmviz: interrupted\n"


def test_ctrl_c_while_loading_is_one_line_and_exits_130(checkpoints, corpus, monkeypatch, capsys):
    def load(source, precision):
        raise KeyboardInterrupt

    monkeypatch.setattr(mlmviz, "load", load)
    assert _main_catching_ctrl_c(_argv(checkpoints, corpus)) == 130
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "mlmviz: interrupted\n"
