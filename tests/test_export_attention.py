"""The Attention page's files: the whole tensor as the CLI prints it, the mask's rows as CSV."""

import io
import json

import numpy as np
import pandas as pd

from mlmviz import export
from mlmviz.analysis.attention import attention
from mlmviz.cli import main

TEXT = "the [MASK] barked at the [MASK] all night."


def test_the_json_is_what_the_cli_prints_and_reads_back_equal(default_model, capsys):
    masked = default_model.mask(TEXT)
    weights = attention(default_model, masked)  # (layers, heads, seq, seq)
    written = export.attention_json(masked.encoding.tokens, weights)
    assert main(["attention", TEXT, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)  # by a model the CLI loads itself
    read = json.loads(written)
    assert printed["tokens"] == read["tokens"]
    np.testing.assert_allclose(printed["attention"], read["attention"], rtol=0, atol=1e-6)
    assert read["tokens"] == list(masked.encoding.tokens)
    np.testing.assert_array_equal(np.array(read["attention"], dtype=np.float32), weights)


def test_the_mask_rows_have_one_row_per_layer_head_and_key(default_model):
    masked = default_model.mask(TEXT)
    weights = attention(default_model, masked)
    layers, heads, seq, _ = weights.shape
    tokens = masked.encoding.tokens
    frame = pd.read_csv(io.StringIO(export.mask_rows_csv(tokens, weights, 6)),
                        dtype={"weight": "float32"}, keep_default_na=False)
    assert list(frame.columns) == ["layer", "head", "key_position", "key_token", "weight"]
    assert len(frame) == layers * heads * seq
    last = frame[(frame["layer"] == layers) & (frame["head"] == heads)]
    assert last["key_position"].tolist() == list(range(seq))
    assert last["key_token"].tolist() == list(tokens)
    np.testing.assert_array_equal(last["weight"].to_numpy(), weights[-1, -1, 6])
