"""Cloze sets: sentences with one blank and the words that fit it, and how
often a model's guesses are among those words.

A cloze file holds one sentence per line, `sentence<TAB>answer, answer, ...`,
the blank typed as `[MASK]` and the answers in lower case (the default model
is uncased). `benchmarks/cloze/` holds the sets the default model is judged
on; its card and the app's sidebar quote the result.
"""

from dataclasses import dataclass
from pathlib import Path

MASK = "[MASK]"


@dataclass(frozen=True)
class ClozeItem:
    """One sentence of a cloze set.

    Attributes:
        text: the sentence, with `[MASK]` at its one blank.
        answers: the words counted as right.
    """

    text: str
    answers: frozenset


@dataclass(frozen=True)
class ClozeScore:
    """A model's answers to a cloze set.

    Attributes:
        top1: sentences whose first guess is a right answer.
        top5: sentences with a right answer among the first five guesses.
        guesses: each sentence's first five guesses, in the set's order.
    """

    top1: int
    top5: int
    guesses: tuple

    @property
    def sentences(self):
        return len(self.guesses)


def read_cloze(path):
    """The `ClozeItem`s of a cloze file; ValueError naming the line when one
    has no tab, not exactly one `[MASK]`, or no answer."""
    items = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        text, _, answers = line.partition("\t")
        words = frozenset(a.strip() for a in answers.split(",") if a.strip())
        if text.count(MASK) != 1 or not words:
            raise ValueError(f"{path}:{number}: expected 'sentence with one {MASK}<TAB>answers', "
                             f"got {line!r}")
        items.append(ClozeItem(text, words))
    return items


def score_cloze(model, items):
    """`model`'s first five guesses at each item's blank, counted (`ClozeScore`).

    The blank is written in the model's own mask token, so a model whose
    mask token is not `[MASK]` is asked the same sentences.
    """
    guesses = []
    for item in items:
        text = item.text.replace(MASK, model.tokenizer.mask_token)
        predictions = model.fill_mask(text, top_k=5)["masks"][0]["predictions"]
        guesses.append(tuple(p["token"] for p in predictions))
    top1 = sum(g[0] in item.answers for g, item in zip(guesses, items))
    top5 = sum(bool(item.answers & set(g)) for g, item in zip(guesses, items))
    return ClozeScore(top1, top5, tuple(guesses))
