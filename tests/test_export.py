"""CSV and JSON exports of a Predict view, and reading a view back."""

import csv
import io
import json

import pytest

from mlmviz import export

RESULT = {
    "tokens": ["[CLS]", "the", "[MASK]", "sat", "[SEP]"],
    "masks": [{
        "position": 2, "original": "[MASK]",
        "predictions": [
            {"token": "cat", "token_id": 7, "probability": 0.5, "logit": 3.25},
            {"token": "dog", "token_id": 9, "probability": 0.25, "logit": 2.5},
        ],
    }],
}
META = {"source": "default", "weight_hash": "abc123"}


def test_csv_has_one_row_per_prediction():
    rows = list(csv.DictReader(io.StringIO(export.predictions_csv(RESULT))))
    assert [(r["rank"], r["token"], r["probability"]) for r in rows] == [("1", "cat", "0.5"), ("2", "dog", "0.25")]


def test_bundle_round_trip():
    text = export.view_bundle(RESULT, META, "the [MASK] sat", [1], 5, 0.7)
    bundle = export.read_bundle(text.encode())
    assert (bundle["text"], bundle["positions"], bundle["top_k"], bundle["temperature"]) == (
        "the [MASK] sat", [1], 5, 0.7)
    assert bundle["weight_hash"] == "abc123" and bundle["masks"] == RESULT["masks"]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not an mlmviz view"),
        (json.dumps({"mlmviz_view": 1, "text": "a"}).encode(), "'positions' is missing"),
        (json.dumps({"mlmviz_view": 1, "text": "a", "positions": ["x"], "top_k": 5,
                     "temperature": 1}).encode(), "positions must be integers"),
        (json.dumps({"mlmviz_view": 1, "text": "a", "positions": [], "top_k": True,
                     "temperature": 1}).encode(), "'top_k' is missing or has the wrong type"),
    ],
)
def test_bad_bundles_are_refused_with_a_reason(data, message):
    with pytest.raises(ValueError, match=message):
        export.read_bundle(data)
