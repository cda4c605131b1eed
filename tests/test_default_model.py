"""The embedded default model: a real, trained BERT that users see first."""

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import BertForMaskedLM

import mlmviz
from mlmviz.analysis.attention import attention
from mlmviz.sources.load import DEFAULT_MODEL

APP_ASSETS = Path(mlmviz.__file__).parent / "app" / "assets"
pytestmark = pytest.mark.backends


@pytest.fixture(scope="module")
def model():
    return mlmviz.load("default")


def test_assets_fit_the_size_budget():
    """The shipped model and the app's static files stay under 25 MiB together."""
    files = [*DEFAULT_MODEL.rglob("*"), *APP_ASSETS.rglob("*")]
    size = sum(f.stat().st_size for f in files if f.is_file())
    assert size <= 25 * 2**20
    assert (DEFAULT_MODEL / "MODEL_CARD.md").is_file()


def test_it_is_the_documented_model_with_a_trained_head(model):
    meta = model.metadata
    assert (meta["architecture"], meta["num_layers"], meta["hidden_dim"]) == ("bert", 2, 128)
    assert meta["vocabulary_size"] == 30522 and meta["tied"]
    assert model.head_check.trained
    card = (DEFAULT_MODEL / "MODEL_CARD.md").read_text()
    assert meta["weight_hash"] in card


def test_logits_match_transformers_on_the_real_checkpoint(model):
    reference = BertForMaskedLM.from_pretrained(DEFAULT_MODEL).eval()
    masked = model.mask("the children played in the [MASK] after [MASK] .")
    with torch.no_grad():
        logits = reference(torch.tensor([masked.ids])).logits[0, list(masked.positions)].numpy()
    assert np.abs(model.stages(masked)["logits"][0] - logits).max() <= 1e-4


def test_attention_matches_transformers_on_the_real_checkpoint(model):
    reference = BertForMaskedLM.from_pretrained(DEFAULT_MODEL, attn_implementation="eager").eval()
    masked = model.mask("the children played in the [MASK] after [MASK] .")
    with torch.no_grad():
        output = reference(torch.tensor([masked.ids]), output_attentions=True)
    expected = torch.stack(output.attentions)[:, 0].numpy()  # (layers, heads, seq, seq)
    weights = attention(model, masked)
    assert weights.shape == expected.shape == (2, 2, len(masked.ids), len(masked.ids))
    assert np.abs(weights - expected).max() <= 1e-5


@pytest.mark.parametrize(
    "text, expected",
    [
        ("he opened the [MASK] and walked into the room.", "door"),
        ("there are seven days in a [MASK].", "week"),
        ("we ate dinner at the kitchen [MASK].", "table"),
        ("birds can [MASK] high in the sky.", "fly"),
    ],
)
def test_everyday_sentences_get_sensible_answers(model, text, expected):
    top = [p["token"] for p in model.fill_mask(text, top_k=5)["masks"][0]["predictions"]]
    assert expected in top, top


def test_saved_as_keras_it_keeps_its_exact_gelu_and_predictions(model, tmp_path):
    mlmviz.save(model, tmp_path / "default.keras")
    restored = mlmviz.load(tmp_path / "default.keras")
    masked = model.mask("he opened the [MASK] and walked into the room.")
    np.testing.assert_array_equal(restored.stages(masked)["logits"], model.stages(masked)["logits"])
