"""XLM-RoBERTa, CamemBERT, ELECTRA generators and ModernBERT on every Keras backend:
probabilities and top tokens at several masks equal transformers' `*ForMaskedLM`,
on a text longer than the tiny ModernBERT's local window (4 tokens each side)."""

import numpy as np
import pytest

import mlmviz
from hf_checkpoints import make_checkpoint, reference_logits
from mlmviz.distributions import softmax

pytestmark = pytest.mark.backends

NEWER = ("xlm-roberta", "camembert", "electra", "modernbert")
# Within the tiny models' 40 positions, whatever the tokenizer, and longer than 9 tokens.
TEXT = "the cat sat on the {mask} and the dog ran to the {mask} in the {mask} ."


@pytest.fixture(scope="module", params=NEWER)
def checkpoint(request, tmp_path_factory):
    directory = make_checkpoint(request.param, tmp_path_factory.mktemp(request.param) / "hf")
    return directory, mlmviz.load(directory)


def test_fill_mask_equals_transformers_at_every_mask(checkpoint):
    directory, model = checkpoint
    text = TEXT.format(mask=model.tokenizer.mask_token)
    masked = model.mask(text)
    assert len(masked.positions) == 3 and len(masked.ids) > 12
    expected = softmax(reference_logits(directory, np.array([masked.ids]))[0])  # (seq, vocab)
    result = model.fill_mask(text, top_k=5)
    assert [mask["position"] for mask in result["masks"]] == list(masked.positions)
    for mask in result["masks"]:
        row = expected[mask["position"]]
        ids = [p["token_id"] for p in mask["predictions"]]
        assert ids == list(np.argsort(-row, kind="stable")[:5])
        np.testing.assert_allclose([p["probability"] for p in mask["predictions"]], row[ids],
                                   atol=1e-4)


def test_logits_of_texts_of_several_lengths_in_one_batch(checkpoint):
    """The batched path (padding, JAX's buckets) gives each text its own logits."""
    directory, model = checkpoint
    mask = model.tokenizer.mask_token
    texts = [f"the {mask} sat .", TEXT.format(mask=mask)]
    for text in texts:
        masked = model.mask(text)
        ours = model.stages(masked)["logits"][0]  # (masks, vocab)
        theirs = reference_logits(directory, np.array([masked.ids]))[0][list(masked.positions)]
        np.testing.assert_allclose(ours, theirs, atol=1e-4)
