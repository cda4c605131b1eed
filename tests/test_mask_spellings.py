"""A mask typed as "[mask]", "[MASK]", "<mask>" or "<MASK>" is the model's own mask token,
in the API, the CLI and for every kind of tokenizer."""

import json

import pytest

import mlmviz
from hf_checkpoints import make_checkpoint
from mlmviz.cli import main

SPELLINGS = ["[MASK]", "[mask]", "[Mask]", "<mask>", "<MASK>"]


@pytest.fixture(scope="module")
def roberta(tmp_path_factory):
    return mlmviz.load(make_checkpoint("roberta", tmp_path_factory.mktemp("spell") / "roberta"))


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_masks_the_same_position_on_bert(default_model, spelling):
    reference = default_model.mask("the cat sat on the [MASK].")
    masked = default_model.mask(f"the cat sat on the {spelling}.")
    assert masked.positions == reference.positions and masked.ids == reference.ids
    start, end = masked.encoding.offsets[masked.positions[0]]
    assert f"the cat sat on the {spelling}."[start:end] == spelling  # offsets into what was typed


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_masks_the_same_position_on_roberta(roberta, spelling):
    assert roberta.tokenizer.mask_token == "<mask>"
    reference = roberta.mask("The cat sat on the <mask>.")
    assert roberta.mask(f"The cat sat on the {spelling}.").ids == reference.ids


def test_a_word_that_only_looks_like_a_mask_is_left_alone(default_model):
    encoding = default_model.tokenizer.encode("masks and [masked] words")
    assert default_model.tokenizer.mask_id not in encoding.ids


def test_the_cli_accepts_a_lowercase_mask(capsys):
    assert main(["predict", "there are seven days in a [mask].", "--json", "--top-k", "3"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result["masks"]) == 1 and len(result["masks"][0]["predictions"]) == 3
