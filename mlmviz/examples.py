"""Example sentences chosen by the loaded model's own answers.

An example that the model gets wrong teaches a newcomer the wrong thing
about masked LMs, and which sentences a model answers well depends on what
it was trained on. So the candidates below are everyday sentences (no world
knowledge) with their hidden words in braces, and `rank_examples` runs the
model on each to put the ones it answers first.
"""

import re
from dataclasses import dataclass

CANDIDATES = (
    "he opened the {door} and walked into the room.",
    "we ate dinner at the kitchen {table}.",
    "birds can {fly} high in the sky.",
    "she read a {book} in the garden.",
    "the {dog} barked at the {cat} all night.",
    "there are seven days in a {week}.",
    "she drank a glass of {water} with her breakfast.",
    "the baby was asleep in her {bed}.",
    "he brushed his {teeth} before going to bed.",
    "he wrote the letter with a {pen}.",
    "they walked to {school} every day.",
    "i need to buy some {bread} at the shop.",
)
# Offered after the ranked ones: a sentence to click tokens of.
UNMASKED = "the children played in the park after school."
HIDDEN = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Example:
    """One candidate as the model answered it.

    Attributes:
        text: the sentence with the model's mask token at each hidden word.
        answers: the hidden words, in order.
        probability: the lowest probability the model gives a hidden word
            at its mask (temperature 1).
        answered: True when every hidden word is the model's top-1 guess.
    """

    text: str
    answers: tuple
    probability: float
    answered: bool


def answer(model, candidate):
    """`candidate` ("… {word} …") run through `model`: an `Example`, or None
    when a hidden word is not one token of the model's vocabulary (its
    probability would be that of a piece)."""
    words = tuple(HIDDEN.findall(candidate))
    text = HIDDEN.sub(model.tokenizer.mask_token, candidate)
    result = model.fill_mask(text, top_k=1, targets=list(words))
    probabilities, answered = [], True
    for mask, word in zip(result["masks"], words):
        target = next(t for t in mask["targets"] if t["word"] == word)
        if target["split"]:
            return None
        probabilities.append(target["probability"])
        answered &= target["rank"] == 1
    return Example(text, words, min(probabilities), answered)


def rank_examples(model, candidates=CANDIDATES):
    """The candidates `model` can be asked, best answered first.

    Those whose every hidden word is the model's top-1 guess come first, in
    the order of `candidates` (a curated order); the others follow, most
    probable lowest answer first. Candidates with a word the vocabulary
    splits into pieces are left out.
    """
    examples = [e for e in (answer(model, c) for c in candidates) if e is not None]
    answered = [e for e in examples if e.answered]
    others = sorted((e for e in examples if not e.answered), key=lambda e: -e.probability)
    return answered + others
