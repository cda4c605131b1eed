"""`python -m mlmviz attention`."""

import json

import numpy as np
import pytest

import mlmviz
from hf_checkpoints import make_checkpoint
from mlmviz.analysis.attention import attention
from mlmviz.cli import main

TEXT = "the [MASK] sat on the mat ."


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    return make_checkpoint("bert", tmp_path_factory.mktemp("cli-attention") / "bert")


@pytest.fixture(scope="module")
def expected(tiny_bert):
    model = mlmviz.load(tiny_bert)
    masked = model.mask(TEXT)
    return list(masked.encoding.tokens), attention(model, masked)


def test_json_holds_the_tokens_and_every_layers_attention(tiny_bert, expected, capsys):
    assert main(["attention", TEXT, "--model", str(tiny_bert), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"tokens", "attention"}
    tokens, weights = expected
    assert result["tokens"] == tokens
    printed = np.array(result["attention"])  # [layer][head][query][key]
    assert printed.shape == weights.shape == (2, 4, len(tokens), len(tokens))
    np.testing.assert_allclose(printed, weights, rtol=0, atol=1e-7)


def test_summary_names_the_most_attended_token_per_layer(tiny_bert, expected, capsys):
    assert main(["attention", TEXT, "--model", str(tiny_bert)]) == 0
    lines = capsys.readouterr().out.splitlines()
    tokens, weights = expected
    assert lines[1] == f"{tokens[0]} (position 0):" and lines[4] == "[MASK] (position 2):"
    mean = weights[:, :, 2].mean(axis=1)  # (layers, seq): the mask's row, averaged over heads
    for layer, line in enumerate(lines[5:7]):
        key = int(mean[layer].argmax())
        assert line == f"  layer {layer + 1}: {tokens[key]} (position {key}) {mean[layer, key]:.3f}"
    assert len(lines) == 7
