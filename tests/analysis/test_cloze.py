"""Cloze sets: reading them, and counting a model's right guesses."""

from pathlib import Path

import pytest

from mlmviz.analysis.cloze import ClozeItem, read_cloze, score_cloze
from mlmviz.sources.load import default_model_cloze

CLOZE = Path(__file__).resolve().parents[2] / "benchmarks" / "cloze"


def test_the_committed_sets_read_with_one_blank_and_answers_each():
    everyday, teacher = read_cloze(CLOZE / "everyday.tsv"), read_cloze(CLOZE / "teacher.tsv")
    assert (len(everyday), len(teacher)) == (48, 10)
    assert all(item.text.count("[MASK]") == 1 and item.answers for item in everyday + teacher)
    assert teacher[-1] == ClozeItem("she drank a cup of hot [MASK].",
                                    frozenset({"tea", "coffee", "chocolate", "milk", "water",
                                               "soup", "cocoa"}))


@pytest.mark.parametrize("line", ["no tab here [MASK].", "no blank\tword",
                                  "two [MASK] [MASK]\tword", "no answers [MASK]\t , "])
def test_a_malformed_line_is_named(tmp_path, line):
    path = tmp_path / "set.tsv"
    path.write_text("fine [MASK].\tword\n" + line + "\n")
    with pytest.raises(ValueError, match=r"set\.tsv:2: expected"):
        read_cloze(path)


def test_hits_count_the_models_own_first_and_top_five_guesses(default_model):
    items = read_cloze(CLOZE / "teacher.tsv")
    score = score_cloze(default_model, items)
    assert score.sentences == 10
    for item, guesses in zip(items, score.guesses):
        top = default_model.fill_mask(item.text, top_k=5)["masks"][0]["predictions"]
        assert guesses == tuple(p["token"] for p in top)
    assert score.top1 == sum(g[0] in i.answers for g, i in zip(score.guesses, items))
    assert score.top5 == sum(bool(i.answers & set(g)) for g, i in zip(score.guesses, items))
    assert score.top1 <= score.top5 <= 10


def test_the_figures_the_sidebar_quotes_are_the_default_models_own(default_model):
    """cloze.json (written by bench_default_model.py --write-summary) matches a fresh count."""
    score = score_cloze(default_model, read_cloze(CLOZE / "everyday.tsv"))
    assert default_model_cloze() == {"sentences": 48, "top1": score.top1, "top5": score.top5}
