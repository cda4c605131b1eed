"""The numbers behind each page as files a user takes away: CSV and JSON text.

Predict: its predictions as CSV, and a JSON bundle to reload. The bundle
holds what reproduces the view (text, chosen positions, top-k, temperature,
the model's source and weight hash) plus the predictions, so a reader
without mlmviz can use it too.

The analysis pages: one function per file, built from the result of the
analysis the page draws (float32 values written at float32 precision, so
they read back equal). A CSV has one header row and one row per layer,
token, position or dimension, as each docstring says.

The app adds to every file where its numbers came from (`with_provenance`):
the model, its weights and precision, mlmviz's version, the page's settings
and the link that restores the view.
"""

import csv
import functools
import importlib.metadata
import io
import json

import numpy as np
import pandas as pd

from mlmviz.analysis import anatomy, gathered, neighbours
from mlmviz.analysis.projection import pca

BUNDLE_VERSION = 1
_SETTINGS = {"text": str, "positions": list, "top_k": int, "temperature": (int, float)}


PROVENANCE_LINE = "# provenance: "  # the first line of a CSV the app writes


def with_provenance(name, content, provenance):
    """`content`, the text of the file `name`, with the dict `provenance` in it.

    A JSON object gains a `provenance` field, keeping its layout (indented or,
    like the whole attention tensor, compact); JSON Lines start with one line
    `{"provenance": ...}`; a CSV starts with one comment line,
    `# provenance: {...}` (JSON), before its header: `read_provenance` reads
    it back, and pandas reads the table with `skiprows=1`.
    """
    if name.endswith(".json"):
        first, _, rest = content.partition("\n")
        indent = len(rest) - len(rest.lstrip(" ")) if first == "{" else None
        return json.dumps({**json.loads(content), "provenance": provenance}, indent=indent)
    if name.endswith(".jsonl"):
        return json.dumps({"provenance": provenance}) + "\n" + content
    if name.endswith(".csv"):
        return PROVENANCE_LINE + json.dumps(provenance) + "\n" + content
    raise ValueError(f"{name}: no place for provenance in this kind of file")


def read_provenance(name, content):
    """The provenance dict `with_provenance` put into the file `name`, or None."""
    try:
        if name.endswith(".json"):
            return json.loads(content).get("provenance")
        first = content.split("\n", 1)[0]
        if name.endswith(".jsonl"):
            return json.loads(first).get("provenance")
        if name.endswith(".csv") and first.startswith(PROVENANCE_LINE):
            return json.loads(first[len(PROVENANCE_LINE):])
    except (json.JSONDecodeError, AttributeError):
        return None
    return None


@functools.cache
def package_version():
    """The installed mlmviz's version ("unknown" when run from a checkout not installed);
    read once (every page's downloads ask on every run)."""
    try:
        return importlib.metadata.version("mlmviz")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


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


def _csv(frame):
    return frame.to_csv(index=False, lineterminator="\n")


def _floats(vector):
    """A float32 vector as a JSON list, each number at float32 precision."""
    return [float(str(value)) for value in np.asarray(vector, dtype=np.float32)]


def stage_vectors_csv(stages, mask_index):
    """Head anatomy: one row per dimension, one column per vector stage.

    Args:
        stages: `MaskedLMHead.stages` for a batch of one.
        mask_index: which mask (0-based, in position order).

    Returns:
        CSV with `dimension` and `anatomy.VECTOR_STAGES` columns; a stage
        shorter than the longest (the gathered state of ALBERT is longer
        than its feature vectors) has empty cells past its end.
    """
    columns = {name: pd.Series(stages[name][0, mask_index]) for name in anatomy.VECTOR_STAGES}
    frame = pd.DataFrame(columns)
    frame.insert(0, "dimension", range(len(frame)))
    return _csv(frame)


def logit_split_csv(stages, mask_index, vocabulary, top_k, temperature):
    """Head anatomy: `anatomy.anatomy_table` as CSV, one row per top token, best first."""
    rows = anatomy.anatomy_table(stages, mask_index, vocabulary, top_k, temperature)
    frame = pd.DataFrame(rows)
    frame.insert(0, "rank", range(1, len(frame) + 1))
    return _csv(frame)


def anatomy_json(stages, mask_index, vocabulary, top_k, temperature, position, token):
    """Head anatomy of one mask as JSON: every vector stage, its summary, the top tokens.

    Args:
        position, token: the mask's token position and the token there, to
            name the mask in the file.

    Returns:
        JSON text of an object with `position`, `token`, `temperature`,
        `vectors` (stage name -> list of numbers), `summary`
        (`anatomy.vector_summary`) and `top_tokens`
        (`anatomy.anatomy_table`).
    """
    return json.dumps({
        "position": int(position),
        "token": token,
        "temperature": float(temperature),
        "vectors": {name: _floats(stages[name][0, mask_index]) for name in anatomy.VECTOR_STAGES},
        "summary": anatomy.vector_summary(stages, mask_index),
        "top_tokens": anatomy.anatomy_table(stages, mask_index, vocabulary, top_k, temperature),
    }, indent=1)


def _mask_columns(result):
    """The columns naming each row of a `gathered.Gathered`."""
    return {
        "label": gathered.labels(result),
        "sentence": [s + 1 for s in result.sentence],  # 1-based, as the labels
        "position": list(result.position),
        "token": list(result.token),
        "predicted": list(result.predicted),
    }


def state_vectors_csv(result):
    """Hidden states: one row per (stage, mask), one column per dimension.

    Args:
        result: a `gathered.Gathered`.

    Returns:
        CSV with `stage` ("gathered", then "normed"), the mask's `label`,
        `sentence` (1-based), `position`, `token` and `predicted`, then
        the dimensions `0` … `d - 1`; rows of the shorter stage end in
        empty cells.
    """
    frames = []
    for stage in ("gathered", "normed"):
        vectors = getattr(result, stage)  # (rows, dim)
        frame = pd.DataFrame({"stage": stage, **_mask_columns(result)})
        frames.append(pd.concat([frame, pd.DataFrame(vectors)], axis=1))
    return _csv(pd.concat(frames, ignore_index=True))


def state_pca_csv(result):
    """Hidden states: the PCA points of both scatters, one row per mask.

    Returns:
        CSV with the mask's `label`, `sentence`, `position`, `token` and
        `predicted`, and `pca` coordinates `gathered_x`, `gathered_y`,
        `normed_x`, `normed_y` (each stage projected on its own
        components, as the charts are); a component PCA leaves out as
        float noise is an empty column.

    Raises:
        ValueError: with fewer than two masks (from `pca`).
    """
    frame = pd.DataFrame(_mask_columns(result))
    for stage in ("gathered", "normed"):
        coordinates, _ = pca(getattr(result, stage))  # (rows, k), k <= 2
        for axis, name in enumerate(("x", "y")):
            frame[f"{stage}_{name}"] = coordinates[:, axis] if axis < coordinates.shape[1] else None
    return _csv(frame)


def neighbours_csv(matrix, vector, k, vocabulary, norms, bias):
    """Embedding similarity: the `k` nearest output rows by dot product, then by cosine.

    Args:
        matrix: `(vocab, dim)` output matrix; vector: `(dim,)`.
        norms: `neighbours.row_norms(matrix)`; bias: `(vocab,)` output bias.

    Returns:
        CSV with one row per (metric, rank): `metric`, `rank`, `token`,
        `token_id`, `score`, `row_norm`, `bias`. A zero vector has no
        cosine, so then only the dot-product rows are written.
    """
    frames = []
    for metric in ("dot", "cosine"):
        try:
            ids, scores = neighbours.nearest_rows(matrix, vector, k, metric, norms)
        except ValueError:
            continue
        frames.append(pd.DataFrame({
            "metric": metric, "rank": range(1, len(ids) + 1),
            "token": [vocabulary[i] for i in ids], "token_id": ids, "score": scores,
            "row_norm": norms[ids], "bias": bias[ids],
        }))
    return _csv(pd.concat(frames, ignore_index=True))


def lens_csv(lens_result):
    """Logit lens: one row per layer of a `logit_lens.lens_table` result.

    Returns:
        CSV with `layer`, the top tokens `top_1` … `top_k`,
        `top_probability` (of `top_1`), and the final prediction's
        `final_token`, `final_rank` and `final_probability` at that layer.
    """
    rows = [
        {"layer": row["layer"],
         **{f"top_{i}": token for i, token in enumerate(row["top"], start=1)},
         "top_probability": row["top_probability"], "final_token": lens_result["final"],
         "final_rank": row["final_rank"], "final_probability": row["final_probability"]}
        for row in lens_result["layers"]
    ]
    return _csv(pd.DataFrame(rows))


def masking_lab_csv(result, vocabulary):
    """Masking lab: one row per token of the sentence, what training did to it.

    Args:
        result: a `masking_lab.LabResult`; vocabulary: id -> token string.

    Returns:
        CSV with `position`, `token` (the original), `model_reads`,
        `action` ("mask", "random", "keep", or empty where not selected),
        and at the selected positions the model's `prediction` (top-1) and
        `loss` (cross-entropy in nats); empty elsewhere.
    """
    selected = result.corruption.positions  # (selected,)
    prediction = [""] * len(result.tokens)
    for position, token_id in zip(selected, result.predictions):
        prediction[position] = vocabulary[token_id]
    loss = np.full(len(result.tokens), np.nan, dtype=np.float32)  # (seq,); NaN: empty cell
    loss[selected] = result.losses
    return _csv(pd.DataFrame({
        "position": range(len(result.tokens)), "token": result.tokens,
        "model_reads": result.shown, "action": result.actions,
        "prediction": prediction, "loss": loss,
    }))


def pseudo_likelihood_csv(pll):
    """Pseudo-log-likelihood: one row per scored token of a `PseudoLikelihood`.

    Returns:
        CSV with `position`, `token`, `log_probability` and `surprise`
        (−log p, the strip's value), in nats.
    """
    return _csv(pd.DataFrame({
        "position": pll.positions, "token": pll.tokens,
        "log_probability": pll.log_probabilities, "surprise": pll.surprise,
    }))


def compare_summary_csv(result):
    """Compare: one row per mask of a `compare.compare_masks` result.

    Returns:
        CSV with `position`, `masked` (the token there), `kl_ab`, `kl_ba`
        and `js` in nats (empty when the vocabularies differ),
        `shared_top_k` (tokens in both top-k lists), `top_k`, `jaccard`,
        and each model's `entropy_a`, `entropy_b`.
    """
    return _csv(pd.DataFrame([
        {"position": m["position"], "masked": m["original"],
         "kl_ab": m["kl_ab"], "kl_ba": m["kl_ba"], "js": m["js"],
         "shared_top_k": m["overlap"]["count"], "top_k": len(m["a"]["predictions"]),
         "jaccard": m["overlap"]["jaccard"],
         "entropy_a": m["a"]["entropy"], "entropy_b": m["b"]["entropy"]}
        for m in result["masks"]
    ]))


def compare_tokens_csv(result):
    """Compare: the paired bars' numbers, one row per (mask, token in either top-k).

    Returns:
        CSV with `position`, `token`, `probability_a` and `probability_b`
        (empty where that model's vocabulary lacks the token).
    """
    rows = [{"position": m["position"], **row} for m in result["masks"] for row in m["rows"]]
    return _csv(pd.DataFrame(rows, columns=["position", "token", "probability_a", "probability_b"]))


def compare_targets_csv(result):
    """Compare: one row per (mask, target word), its probability and rank in each model.

    Returns:
        CSV with `position`, `word`, then for A and B the scored `token_*`
        (the word's first piece when it splits), `probability_*` and
        `rank_*`.
    """
    columns = ["position", "word", "token_a", "probability_a", "rank_a",
               "token_b", "probability_b", "rank_b"]
    rows = [
        [m["position"], a["word"], a["token"], a["probability"], a["rank"],
         b["token"], b["probability"], b["rank"]]
        for m in result["masks"] for a, b in zip(m["a"]["targets"], m["b"]["targets"])
    ]
    return _csv(pd.DataFrame(rows, columns=columns))


def attention_json(tokens, weights):
    """Attention: every layer's weights, as `python -m mlmviz attention --json` prints them.

    Returns:
        JSON `{"tokens": [...], "attention": [layer][head][query][key]}`
        (float32 values, which read back equal as float32).
    """
    return json.dumps({"tokens": list(tokens), "attention": np.asarray(weights).tolist()})


def mask_rows_csv(tokens, weights, query):
    """Attention: one row per (layer, head, key) of what the token at `query` reads.

    Returns:
        CSV with `layer` and `head` (1-based), `key_position`, `key_token`
        and `weight` (how much of the query's attention that key gets).
    """
    weights = np.asarray(weights, dtype=np.float32)[:, :, query]  # (layers, heads, seq)
    layers, heads, seq = weights.shape
    layer, head, key = np.meshgrid(np.arange(layers), np.arange(heads), np.arange(seq),
                                   indexing="ij")  # each (layers, heads, seq)
    return _csv(pd.DataFrame({
        "layer": layer.ravel() + 1, "head": head.ravel() + 1, "key_position": key.ravel(),
        "key_token": [tokens[k] for k in key.ravel()], "weight": weights.ravel(),
    }))


def evaluation_summary_json(summary):
    """Evaluate: the summary, as `python -m mlmviz evaluate --json` prints it (indented)."""
    return json.dumps(summary, indent=2)


def evaluation_details_jsonl(records):
    """Evaluate: one JSON object per masked token, one per line, as `--details` writes them."""
    return "".join(json.dumps(record) + "\n" for record in records)
