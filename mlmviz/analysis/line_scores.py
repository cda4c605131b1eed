"""Per-line figures of a corpus evaluation: which lines the model finds hardest.

`mlmviz.analysis.evaluation.evaluate` reports, through `on_details`, one
record per masked token (`line`, `positions`, `label_id`, `predicted_id`,
`label`, `predicted`, `loss`, ...). `line_scores` folds them into one row
per corpus line: its masks, what the model guessed at each, how many it got
right at top-1, and the mean cross-entropy of the labels. `worst_lines`
orders those rows hardest first.
"""

import pandas as pd

COLUMNS = ("line", "positions", "masks", "correct", "accuracy", "mean_loss", "guesses")


def line_scores(records):
    """One row per evaluated line, in line order.

    Args:
        records: `evaluate`'s detail records (dicts with `line`, `positions`,
            `position`, `label_id`, `label`, `predicted_id`, `predicted` and
            `loss`), in any order.

    Returns:
        DataFrame with `COLUMNS`: `line` (0-based line number), `positions`
        (the line's masked positions, a tuple, as `fill_mask` takes them),
        `masks` (their count), `correct` (top-1 hits), `accuracy`
        (correct / masks) and `mean_loss` (mean cross-entropy at the masks,
        nats) and `guesses` (a tuple of `(label, predicted)` token pairs, one
        per mask in position order). Empty (with those columns) for no records.
    """
    frame = pd.DataFrame.from_records(
        [{"line": r["line"], "positions": tuple(r["positions"]), "position": r["position"],
          "correct": int(r["predicted_id"] == r["label_id"]), "loss": float(r["loss"]),
          "guess": (r["label"], r["predicted"])}
         for r in records],
        columns=["line", "positions", "position", "correct", "loss", "guess"],
    ).sort_values(["line", "position"])
    rows = frame.groupby("line", sort=True).agg(
        positions=("positions", "first"), masks=("loss", "size"),
        correct=("correct", "sum"), mean_loss=("loss", "mean"), guesses=("guess", tuple),
    ).reset_index()
    rows["accuracy"] = rows["correct"] / rows["masks"]
    return rows[list(COLUMNS)]


def worst_lines(scores, count):
    """The `count` hardest lines of `line_scores`: highest mean loss first
    (ties: lower accuracy, then the earlier line)."""
    order = scores.sort_values(["mean_loss", "accuracy", "line"], ascending=[False, True, True])
    return order.head(count).reset_index(drop=True)
