"""Saving a Predict view: predictions as CSV, and a JSON bundle to reload.

The bundle holds what reproduces the view (text, chosen positions, top-k,
temperature, the model's source and weight hash) plus the predictions, so a
reader without mlmviz can use it too.
"""

import csv
import io
import json

BUNDLE_VERSION = 1
_SETTINGS = {"text": str, "positions": list, "top_k": int, "temperature": (int, float)}


def predictions_csv(result):
    """One CSV row per (mask, prediction) of a `fill_mask` result."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["position", "original", "rank", "token", "token_id", "probability", "logit"])
    for mask in result["masks"]:
        for rank, p in enumerate(mask["predictions"], start=1):
            writer.writerow([
                mask["position"], mask["original"], rank, p["token"], p["token_id"],
                f"{p['probability']:.6g}", f"{p['logit']:.6g}",
            ])
    return out.getvalue()


def view_bundle(result, metadata, text, positions, top_k, temperature):
    """The JSON text of a view: settings to reproduce it, and its predictions."""
    return json.dumps({
        "mlmviz_view": BUNDLE_VERSION,
        "model": metadata["source"],
        "weight_hash": metadata["weight_hash"],
        "text": text,
        "positions": [int(p) for p in positions],
        "top_k": int(top_k),
        "temperature": float(temperature),
        "tokens": result["tokens"],
        "masks": result["masks"],
    }, indent=2)


def read_bundle(data):
    """Parse a bundle written by `view_bundle`.

    Returns:
        the bundle as a dict.

    Raises:
        ValueError: when `data` is not such a bundle, with the reason.
    """
    try:
        bundle = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"This file is not JSON: {error}") from None
    if not isinstance(bundle, dict) or bundle.get("mlmviz_view") != BUNDLE_VERSION:
        raise ValueError("This file is not an mlmviz view (no \"mlmviz_view\": 1).")
    for key, kind in _SETTINGS.items():
        if not isinstance(bundle.get(key), kind) or isinstance(bundle.get(key), bool):
            raise ValueError(f"The view's {key!r} is missing or has the wrong type.")
    if not all(isinstance(p, int) and not isinstance(p, bool) for p in bundle["positions"]):
        raise ValueError("The view's positions must be integers.")
    return bundle
