"""`mlmviz.load(source, precision=...)`: bfloat16 weights, float32 read-outs, agreement figures."""

import json

import keras
import numpy as np
import pytest

import mlmviz
from mlmviz.cli import main
from mlmviz.precision import (
    PrecisionError,
    describe_agreement,
    sample_logits,
    weight_dtypes,
)

TEXT = "he opened the [MASK] and walked into the [MASK]."


@pytest.fixture(scope="module")
def bf16_model():
    return mlmviz.load("default", precision="bfloat16")


@pytest.mark.backends
def test_bfloat16_weights_are_stored_in_bfloat16(bf16_model, default_model):
    assert weight_dtypes(bf16_model) == {"bfloat16"}
    assert weight_dtypes(default_model) == {"float32"}
    assert bf16_model.metadata["precision"] == "bfloat16"
    assert bf16_model.head.token_embedding is bf16_model.backbone.token_embedding  # still tied
    assert bf16_model.head.compute_dtype == "bfloat16"


@pytest.mark.backends
def test_bfloat16_probabilities_are_float32_and_sum_to_one(bf16_model):
    stages = bf16_model.stages(bf16_model.mask(TEXT))
    assert stages["logits"].dtype == np.float32
    readout = bf16_model._predictor(bf16_model.mask(TEXT).ids, bf16_model.mask(TEXT).positions,
                                    [[0]] * 2, 1.0)
    for name in ("top_probabilities", "top_logits", "entropy", "query_probabilities"):
        assert readout[name].dtype == np.float32, name
    assert readout["query_ranks"].dtype == np.int32
    # the whole distribution, as the compiled path computes it, sums to 1
    vocab = bf16_model.head.vocabulary_size
    full = bf16_model._predictor(bf16_model.mask(TEXT).ids, bf16_model.mask(TEXT).positions,
                                 [[0]] * 2, 1.0, candidates=vocab)
    np.testing.assert_allclose(full["top_probabilities"].sum(axis=-1), 1.0, atol=1e-6)


@pytest.mark.backends
def test_bfloat16_agrees_with_float32_on_the_sample(bf16_model, default_model):
    figures = bf16_model.metadata["agreement"]
    assert set(figures) == {"masks", "top1", "top5_overlap", "max_dp"}
    assert figures["masks"] == len(sample_logits(default_model)) > 50
    assert 0.97 <= figures["top1"] <= 1
    assert 4.5 <= figures["top5_overlap"] <= 5
    assert 0 < figures["max_dp"] < 0.1  # bfloat16 does change the numbers, a little
    top = bf16_model.fill_mask(TEXT)["masks"][0]["predictions"][0]["token"]
    assert top == default_model.fill_mask(TEXT)["masks"][0]["predictions"][0]["token"]
    line = describe_agreement(bf16_model.metadata)
    assert line.startswith("bfloat16 · same top answer as float32 on ")
    assert f"of {figures['masks']} sample masks" in line


@pytest.mark.backends
def test_float32_is_the_default_and_says_so(default_model):
    model = mlmviz.load("default")
    assert model.metadata["precision"] == "float32"
    assert "agreement" not in model.metadata
    assert weight_dtypes(model) == {"float32"}


@pytest.mark.backends
@pytest.mark.parametrize("precision", ["float16", "int4", "", None, 16])
def test_unknown_precision_is_refused_with_the_choices(precision):
    with pytest.raises(PrecisionError, match="choose one of float32, bfloat16"):
        mlmviz.load("default", precision=precision)
    assert issubclass(PrecisionError, ValueError)


def test_precision_is_checked_before_the_source_is_read(tmp_path):
    with pytest.raises(PrecisionError):
        mlmviz.load(tmp_path / "missing", precision="fp8")


def test_cli_precision_flag(capsys):
    assert main(["predict", TEXT, "--precision", "bfloat16", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["precision"] == "bfloat16"
    assert 0.97 <= record["agreement"]["top1"] <= 1
    assert main(["predict", TEXT, "--precision", "bfloat16"]) == 0
    assert capsys.readouterr().out.startswith("(bfloat16 · same top answer as float32 on ")
    assert main(["predict", TEXT, "--precision", "half"]) == 2
    assert "Unknown precision 'half': choose one of float32, bfloat16" in capsys.readouterr().err


def test_saved_model_converts_too(default_model, tmp_path):
    """An `mlmviz.save` file's encoder is a plain functional model: it converts as well."""
    path = tmp_path / "model.keras"
    mlmviz.save(default_model, path)
    model = mlmviz.load(path, precision="bfloat16")
    assert weight_dtypes(model) == {"bfloat16"}
    assert model.metadata["agreement"]["top1"] >= 0.97
    assert isinstance(model.backbone.token_embedding, keras.layers.ReversibleEmbedding)
