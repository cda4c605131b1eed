"""`.keras` files written by an earlier mlmviz still load and predict the same.

`tests/fixtures/saved-by-0.1.keras` was written by the flat package of
commit f09e6de (see `tests/fixtures/build_saved_model.py`); it refers to the
registered names `mlmviz>MaskedLMHead`, `mlmviz>TokenizerAssets` and
`mlmviz>gelu_tanh`, and records the modules those classes lived in then.
"""

import json
from pathlib import Path

import keras
import numpy as np

import mlmviz

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_a_file_saved_by_mlmviz_0_1_loads_and_predicts_as_it_did():
    expected = json.loads((FIXTURES / "saved-by-0.1.json").read_text())
    model = mlmviz.load(FIXTURES / "saved-by-0.1.keras")
    masked = model.mask(expected["text"])
    logits = model.stages(masked)["logits"][0, 0]  # (vocab,)
    assert list(masked.positions) == expected["positions"]
    np.testing.assert_allclose(logits, expected["logits"], rtol=0, atol=1e-5)
    assert {k: model.metadata[k] for k in expected["metadata"]} == expected["metadata"]
    assert model.head.token_embedding is not None  # still tied
    activation = keras.saving.get_registered_name(model.head.intermediate_activation)
    assert activation == "mlmviz>gelu_tanh"


def test_the_registered_keras_names_are_unchanged():
    mlmviz.load  # importing the loaders registers mlmviz's Keras objects
    for name in ("mlmviz>MaskedLMHead", "mlmviz>TokenizerAssets", "mlmviz>gelu_tanh"):
        registered = keras.saving.get_registered_object(name)
        assert registered is not None, name
        assert keras.saving.get_registered_name(registered) == name
