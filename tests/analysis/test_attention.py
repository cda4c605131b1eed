"""Attention weights from the compiled inspection path, against transformers' own."""

import numpy as np
import pytest
import torch
from transformers import AutoModelForMaskedLM

import mlmviz
from hf_checkpoints import ARCHITECTURES, make_checkpoint
from mlmviz.analysis.attention import attention, share_of, strongest_keys

pytestmark = pytest.mark.backends

SENTENCES = ("the cat sat on the mat .", "we walked to the shop to buy bread and milk .")


@pytest.fixture(scope="module", params=ARCHITECTURES)
def checkpoint(request, tmp_path_factory):
    """(directory, mlmviz model) of a tiny random checkpoint of each architecture."""
    directory = make_checkpoint(request.param, tmp_path_factory.mktemp(request.param) / "hf")
    return directory, mlmviz.load(directory)


def _reference_attention(directory, ids, padding):
    """transformers' attentions `(batch, layers, heads, seq, seq)` (eager attention)."""
    reference = AutoModelForMaskedLM.from_pretrained(directory, attn_implementation="eager").eval()
    with torch.no_grad():
        output = reference(
            input_ids=torch.as_tensor(ids, dtype=torch.long),
            attention_mask=torch.as_tensor(padding, dtype=torch.long),
            output_attentions=True,
        )
    return torch.stack(output.attentions, dim=1).numpy()


def test_each_sentence_matches_transformers_output_attentions(checkpoint):
    directory, model = checkpoint
    for text in SENTENCES:
        masked = model.mask(text, (2,))
        weights = attention(model, masked)
        ids = np.array([masked.ids])
        expected = _reference_attention(directory, ids, np.ones_like(ids))[0]
        seq = len(masked.ids)
        assert weights.shape == expected.shape == (model.metadata["num_layers"], 4, seq, seq)
        assert weights.dtype == np.float32
        np.testing.assert_allclose(weights, expected, rtol=0, atol=1e-5)


def test_attention_of_a_masked_text_is_the_unpadded_sequence(checkpoint):
    directory, model = checkpoint
    masked = model.mask(f"the cat sat on the {model.tokenizer.mask_token} .")
    weights = attention(model, masked)
    seq = len(masked.ids)
    assert weights.shape == (model.metadata["num_layers"], 4, seq, seq)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-5)
    ids = np.array([masked.ids])
    expected = _reference_attention(directory, ids, np.ones_like(ids))[0]
    np.testing.assert_allclose(weights, expected, rtol=0, atol=1e-5)


def test_strongest_keys_averages_over_heads():
    weights = np.zeros((2, 2, 3, 3), dtype="float32")  # (layers, heads, seq, seq)
    weights[0, :, 1] = [[0.6, 0.4, 0.0], [0.0, 0.4, 0.6]]  # means 0.3, 0.4, 0.3
    weights[1, :, 1] = [[0.0, 0.0, 1.0], [0.0, 0.2, 0.8]]  # means 0, 0.1, 0.9
    keys = strongest_keys(weights, 1)
    assert [key for key, _ in keys] == [1, 2]
    assert keys[0][1] == pytest.approx(0.4) and keys[1][1] == pytest.approx(0.9)


def test_share_of_sums_what_the_query_gives_those_keys_per_layer_and_head():
    weights = np.zeros((2, 2, 3, 3), dtype="float32")  # (layers, heads, seq, seq)
    weights[0, :, 1] = [[0.6, 0.4, 0.0], [0.1, 0.3, 0.6]]
    weights[1, :, 1] = [[0.0, 0.0, 1.0], [0.5, 0.2, 0.3]]
    weights[:, :, 0] = 1.0  # another query's row: not counted
    np.testing.assert_allclose(share_of(weights, 1, [0, 2]), [[0.6, 0.7], [1.0, 0.8]])
    np.testing.assert_array_equal(share_of(weights, 1, []), np.zeros((2, 2)))


def test_a_saved_keras_file_gives_the_same_attention(checkpoint, tmp_path):
    _, model = checkpoint
    if model.metadata["architecture"] not in ("bert", "albert", "electra", "modernbert"):
        pytest.skip("mlmviz.save refuses this architecture (its embedding is nested)")
    mlmviz.save(model, tmp_path / "model.keras")
    restored = mlmviz.load(tmp_path / "model.keras")
    text = f"the {model.tokenizer.mask_token} sat on the mat ."
    np.testing.assert_array_equal(attention(restored, restored.mask(text)),
                                  attention(model, model.mask(text)))
