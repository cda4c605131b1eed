"""Example sentences are picked by the loaded model's own answers."""

from mlmviz.examples import CANDIDATES, rank_examples


def test_the_sentences_the_model_answers_come_first(default_model):
    ranked = rank_examples(default_model)
    answered = [example for example in ranked if example.answered]
    assert len(answered) >= 3 and ranked[:len(answered)] == answered
    for example in answered:  # checked again with fill_mask itself
        masks = default_model.fill_mask(example.text, top_k=1)["masks"]
        assert tuple(m["predictions"][0]["token"] for m in masks) == example.answers
    rest = [example.probability for example in ranked[len(answered):]]
    assert rest == sorted(rest, reverse=True)


def test_the_sentences_the_model_gets_wrong_are_not_offered_early(default_model):
    ranked = rank_examples(default_model)
    wrong = [e for e in ranked if not e.answered]
    assert wrong, "the default model answers every candidate; the test needs one it misses"
    for example in wrong:
        masks = default_model.fill_mask(example.text, top_k=1)["masks"]
        tops = tuple(mask["predictions"][0]["token"] for mask in masks)
        assert tops != example.answers
        assert ranked.index(example) >= sum(e.answered for e in ranked)


def test_every_candidate_is_written_with_the_models_mask_token(default_model):
    ranked = rank_examples(default_model, CANDIDATES[:3])
    assert [e.text.count("[MASK]") for e in ranked] == [1, 1, 1]
    assert "{" not in "".join(e.text for e in ranked)
