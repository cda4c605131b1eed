"""Per-line accuracy and loss from evaluation detail records."""

import math

import pytest

from mlmviz.analysis.evaluation import evaluate
from mlmviz.analysis.line_scores import COLUMNS, line_scores, worst_lines


def _record(line, positions, position, label, predicted, loss):
    return {"line": line, "positions": positions, "position": position, "label_id": label,
            "label": f"t{label}", "predicted_id": predicted, "predicted": f"t{predicted}",
            "loss": loss}


RECORDS = [
    _record(4, [1, 3], 3, 7, 7, 0.5),
    _record(0, [2], 2, 5, 9, 3.0),
    _record(4, [1, 3], 1, 8, 2, 2.5),
    _record(2, [1, 2, 5], 1, 1, 1, 0.1),
    _record(2, [1, 2, 5], 2, 1, 1, 0.2),
    _record(2, [1, 2, 5], 5, 6, 0, 0.6),
]


def test_each_line_gets_its_masks_hits_and_mean_loss():
    scores = line_scores(RECORDS)
    assert list(scores.columns) == list(COLUMNS)
    assert scores["line"].tolist() == [0, 2, 4]
    assert scores["positions"].tolist() == [(2,), (1, 2, 5), (1, 3)]
    assert scores["masks"].tolist() == [1, 3, 2]
    assert scores["correct"].tolist() == [0, 2, 1]
    assert scores["accuracy"].tolist() == pytest.approx([0.0, 2 / 3, 0.5])
    assert scores["mean_loss"].tolist() == pytest.approx([3.0, 0.3, 1.5])
    assert scores["guesses"].tolist() == [
        (("t5", "t9"),), (("t1", "t1"), ("t1", "t1"), ("t6", "t0")), (("t8", "t2"), ("t7", "t7"))]


def test_the_worst_lines_come_first_by_mean_loss_then_accuracy_then_line():
    tied = RECORDS + [_record(7, [1], 1, 3, 3, 3.0), _record(9, [1], 1, 3, 4, 3.0)]
    worst = worst_lines(line_scores(tied), 3)
    assert worst["line"].tolist() == [0, 9, 7]  # loss 3.0 each: misses first, then by line
    assert worst_lines(line_scores(RECORDS), 10)["line"].tolist() == [0, 4, 2]


def test_no_records_give_an_empty_table_with_the_columns():
    scores = line_scores([])
    assert scores.empty and list(scores.columns) == list(COLUMNS)
    assert worst_lines(scores, 5).empty


def test_the_lines_add_up_to_the_evaluation_summary(default_model):
    corpus = ["the cat sat on the mat.", "", "she opened the door and walked into the garden.",
              "a man reads a book in the quiet library every evening."]
    records = []
    summary = evaluate(default_model, corpus, rate=0.3, on_details=records.extend)
    scores = line_scores(records)
    assert scores["line"].tolist() == [0, 2, 3]
    assert scores["masks"].sum() == summary["masked_tokens"]
    hits = scores["correct"].sum() / scores["masks"].sum()
    assert hits == pytest.approx(summary["top1_accuracy"])
    total_loss = (scores["mean_loss"] * scores["masks"]).sum() / scores["masks"].sum()
    assert math.isclose(total_loss, summary["loss"], rel_tol=1e-9)
