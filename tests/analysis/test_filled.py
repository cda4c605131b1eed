"""The text with its masks filled in, on real tokenizers' offsets."""

import pytest

from mlmviz.analysis.filled import filled_segments, readable


def _filled(model, text, fills_by_index):
    """Fill the masks of `text` (by their order) with the given token strings."""
    masked = model.mask(text)
    fills = dict(zip(masked.positions, fills_by_index))
    segments = filled_segments(text, masked.encoding.offsets, fills)
    return "".join(piece for piece, _ in segments), [p for p, filled in segments if filled]


def test_guesses_replace_the_typed_masks_and_keep_the_rest_of_the_text(default_model):
    text, fills = _filled(default_model, "The old man walked his [MASK]  in the [MASK].",
                          ["dog", "park"])
    assert text == "The old man walked his dog  in the park."
    assert fills == ["dog", "park"]


def test_filling_every_token_with_itself_gives_back_the_text(default_model):
    text = "the unbelievably playful kittens were chasing strawberries."
    encoding = default_model.tokenizer.encode(text)
    positions = default_model.maskable_positions(encoding)
    assert any(encoding.tokens[p].startswith("##") for p in positions)  # pieces are joined
    fills = {p: encoding.tokens[p] for p in positions}
    segments = filled_segments(text, encoding.offsets, fills)
    assert "".join(piece for piece, _ in segments) == text


@pytest.mark.parametrize("token, shown", [("##ing", "ing"), ("Ġdog", " dog"), ("▁dog", " dog"),
                                          ("dog", "dog"), ("##", "##")])
def test_tokenizer_marks_are_removed(token, shown):
    assert readable(token) == shown


def test_a_word_start_mark_adds_no_second_space():
    text = "a <mask> b"
    segments = filled_segments(text, [(0, 0), (0, 1), (2, 8), (9, 10), (0, 0)], {2: "Ġcat"})
    assert "".join(p for p, _ in segments) == "a cat b"
