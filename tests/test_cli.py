"""`python -m mlmviz predict` and `python -m mlmviz train`."""

import json

import numpy as np
import pytest
from safetensors.numpy import load_file

import mlmviz
from hf_checkpoints import CORPUS, make_checkpoint, reference_logits
from mlmviz.cli import main


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    return make_checkpoint("bert", tmp_path_factory.mktemp("cli") / "bert")


def test_predict_json_has_the_documented_shape(tiny_bert, capsys):
    status = main(["predict", "the [MASK] sat on the [MASK] .", "--model", str(tiny_bert),
                   "--top-k", "3", "--json"])
    assert status == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"model", "tokens", "masks"}
    assert result["model"] == str(tiny_bert)
    assert [m["position"] for m in result["masks"]] == [2, 6]
    for mask in result["masks"]:
        assert set(mask) == {"position", "predictions"}
        assert len(mask["predictions"]) == 3
        assert all(set(p) == {"token", "token_id", "probability"} for p in mask["predictions"])
        probabilities = [p["probability"] for p in mask["predictions"]]
        assert probabilities == sorted(probabilities, reverse=True)
    expected = mlmviz.load(tiny_bert).fill_mask("the [MASK] sat on the [MASK] .", top_k=3)
    assert result["masks"][0]["predictions"][0]["token"] == expected["masks"][0]["predictions"][0]["token"]


def test_predict_prints_a_table(tiny_bert, capsys):
    assert main(["predict", "the [MASK] sat .", "--model", str(tiny_bert), "--top-k", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "position 2 ([MASK]):"
    assert len(lines) == 3


@pytest.mark.parametrize(
    "args, message",
    [
        (["predict", "no mask here"], "Nothing is masked"),
        (["predict", "a [MASK] b", "--top-k", "0"], "top_k"),
        (["predict", "a [MASK] b", "--temperature", "-1"], "temperature"),
        (["predict", "a [MASK] b", "--model", "/nonexistent"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_status_2(tiny_bert, capsys, args, message):
    if "--model" not in args:
        args = [*args, "--model", str(tiny_bert)]
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and message in captured.err


def test_usage_errors_are_one_line_too(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", "a [MASK] b", "--top-k", "many"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_train_smoke_run_writes_a_loadable_checkpoint(tiny_bert, tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(CORPUS[:32]) + "\n")
    heldout = tmp_path / "heldout.txt"
    heldout.write_text("\n".join(CORPUS[32:]) + "\n")
    out = tmp_path / "trained"
    status = main([
        "train", "--base", str(tiny_bert), "--corpus", str(corpus), "--heldout", str(heldout),
        "--out", str(out), "--steps", "4", "--batch-size", "4", "--sequence-length", "16",
        "--warmup-steps", "1", "--log-every", "2",
    ])
    assert status == 0
    report = json.loads((out / "training.json").read_text())
    assert len(report["loss"]) == 2 and all(np.isfinite(report["loss"]))
    assert 0 <= report["heldout_accuracy_after"] <= 1
    before = load_file(tiny_bert / "model.safetensors")
    after = load_file(out / "model.safetensors")
    assert after.keys() == before.keys()
    assert not np.array_equal(after["cls.predictions.bias"], before["cls.predictions.bias"])
    model = mlmviz.load(out)
    masked = model.mask("the [MASK] sat .")
    reference = reference_logits(out, np.array([masked.ids]))[0, list(masked.positions)]
    assert np.abs(model.stages(masked)["logits"][0] - reference).max() <= 1e-4
