"""Download buttons for the numbers behind a page, and the format charts save as.

The files are built only when a button is clicked (Streamlit calls `make`
then, on another thread), so drawing the buttons costs a rerun nothing. A
click does not rerun the page. Every file says where its numbers came from
(`provenance`, written in by `export.with_provenance`).

Plotly's camera button saves one image format, and a custom modebar button
would need JavaScript, which `st.plotly_chart`'s JSON config cannot carry:
`image_format()` draws the choice of PNG or SVG, and `session.chart` reads
it (`FORMAT_KEY`) into each chart's `toImageButtonOptions`.
"""

import datetime
from typing import Callable, NamedTuple

import streamlit as st

from mlmviz import export
from mlmviz.app import view
from mlmviz.app.session import current_model, presenting

FORMAT_KEY = "chart_format"  # read by session.chart; kept across pages
FORMATS = ("PNG", "SVG")
MIME = {"csv": "text/csv", "json": "application/json", "jsonl": "application/jsonl"}


class File(NamedTuple):
    """One download: its button `label`, its `name`, and `make()` -> the file's text."""

    label: str
    name: str
    make: Callable[[], str]


def provenance(**settings):
    """Where a download's numbers come from: the sidebar's model (source,
    weight hash, precision), mlmviz's version, every setting of the view, the
    link that restores it, the time, and the page's own `settings` (a second
    model, a corpus's SHA-256 …)."""
    meta = current_model().metadata
    return {
        "mlmviz": export.package_version(),
        "model": meta["source"],
        "weight_hash": meta["weight_hash"],
        "precision": meta.get("precision", "float32"),
        **settings,
        "view": view.settings(),
        "link": view.link(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def offer(files, key, **settings):
    """A row of download buttons, one per `File`; in presentation mode, folded away.

    Args:
        files: `File`s, shown left to right.
        key: a prefix unique on the page, for the buttons' keys.
        settings: what the page adds to each file's provenance.
    """
    origin = provenance(**settings)  # now: the view may change before a click
    place = st.expander("Download the numbers") if presenting() else st.container()
    for column, file in zip(place.columns(len(files)), files):
        column.download_button(
            file.label, lambda file=file: export.with_provenance(file.name, file.make(), origin),
            file_name=file.name, mime=MIME[file.name.rsplit(".", 1)[-1]],
            key=f"{key}-{file.name}", on_click="ignore", icon=":material/download:",
        )


def predict(result, metadata, text, picked, top_k, temperature):
    """Predict: the predictions, and the view as a file "Load a saved view" reads back."""
    offer([
        File("Download predictions (CSV)", "mlmviz-predictions.csv",
             lambda: export.predictions_csv(result)),
        File("Download this view (JSON)", "mlmviz-view.json",
             lambda: export.view_bundle(result, metadata, text, picked, top_k, temperature)),
    ], key="predict")


def anatomy(stages, index, vocabulary, top_k, temperature, position, token):
    """Head anatomy: the stage vectors, the logit split, and both as JSON."""
    offer([
        File("Stage vectors (CSV)", "mlmviz-anatomy-stages.csv",
             lambda: export.stage_vectors_csv(stages, index)),
        File("Context/bias split (CSV)", "mlmviz-anatomy-split.csv",
             lambda: export.logit_split_csv(stages, index, vocabulary, top_k, temperature)),
        File("All stages (JSON)", "mlmviz-anatomy-stages.json",
             lambda: export.anatomy_json(stages, index, vocabulary, top_k, temperature,
                                         position, token)),
    ], key="anatomy")


def states(result, key):
    """Hidden states: the vectors and the PCA points of one set of masks (`key`)."""
    name = "mlmviz-states" if key == "current" else f"mlmviz-states-{key}"
    offer([
        File("Vectors (CSV)", f"{name}-vectors.csv", lambda: export.state_vectors_csv(result)),
        File("PCA coordinates (CSV)", f"{name}-pca.csv", lambda: export.state_pca_csv(result)),
    ], key=key)


def embeddings(matrix, vector, k, vocabulary, norms, bias):
    """Embedding similarity: both neighbour tables in one file."""
    offer([File("Neighbour tables (CSV)", "mlmviz-embeddings-neighbours.csv",
                lambda: export.neighbours_csv(matrix, vector, k, vocabulary, norms, bias))],
          key="embeddings")


def lens(lens_result):
    """Logit lens: the layer × token table."""
    offer([File("Layer × token table (CSV)", "mlmviz-lens.csv",
                lambda: export.lens_csv(lens_result))], key="lens")


def attention(tokens, weights, query):
    """Attention: the mask's rows (CSV) and every layer's whole matrix (JSON, as the CLI's)."""
    offer([
        File("The mask's attention per layer and head (CSV)", "mlmviz-attention-mask.csv",
             lambda: export.mask_rows_csv(tokens, weights, query)),
        File("All attention weights (JSON)", "mlmviz-attention.json",
             lambda: export.attention_json(tokens, weights)),
    ], key="attention")


def masking_lab(result, vocabulary):
    """Masking lab: the corruption and the loss, token by token."""
    offer([File("Corruption and loss per token (CSV)", "mlmviz-masking-lab.csv",
                lambda: export.masking_lab_csv(result, vocabulary))], key="lab")


def pseudo_likelihood(pll):
    """Masking lab: the surprise strip's numbers."""
    offer([File("Pseudo-log-likelihood per token (CSV)", "mlmviz-pll.csv",
                lambda: export.pseudo_likelihood_csv(pll))], key="pll")


def compare(result, model_b):
    """Compare: the summary, the paired bars' numbers and the target words
    (`model_b`: B's metadata, for the provenance)."""
    files = [
        File("Summary per mask (CSV)", "mlmviz-compare-summary.csv",
             lambda: export.compare_summary_csv(result)),
        File("Probabilities of the top tokens (CSV)", "mlmviz-compare-tokens.csv",
             lambda: export.compare_tokens_csv(result)),
    ]
    if any(mask["a"]["targets"] for mask in result["masks"]):
        files.append(File("Target words (CSV)", "mlmviz-compare-targets.csv",
                          lambda: export.compare_targets_csv(result)))
    offer(files, key="compare", model_b=model_b["source"], weight_hash_b=model_b["weight_hash"])


def evaluation(summary, records, run):
    """Evaluate: the summary and the per-mask details (what `mlmviz evaluate`
    writes, with the provenance first); `run`: the corpus, its SHA-256 and
    the settings (the page's `Run`, as a dict)."""
    offer([
        File("Summary (JSON)", "mlmviz-evaluation.json",
             lambda: export.evaluation_summary_json(summary)),
        File("Details, one line per mask (JSON Lines)", "mlmviz-evaluation-details.jsonl",
             lambda: export.evaluation_details_jsonl(records)),
    ], key="evaluation", run=run)


def _remember_format():
    st.session_state[FORMAT_KEY] = st.session_state[f"{FORMAT_KEY}_choice"]


def image_format():
    """The choice of PNG or SVG for the charts' camera button (once per page)."""
    place = st.expander("Chart images") if presenting() else st.container()
    place.radio(
        "The camera button on a chart saves it as", FORMATS, horizontal=True,
        index=FORMATS.index(st.session_state.get(FORMAT_KEY, "PNG")),
        key=f"{FORMAT_KEY}_choice", on_change=_remember_format,
        help="Hover over a chart and click the camera at its top right. PNG is an image; "
        "SVG is a vector drawing that stays sharp at any size (for papers and slides).",
    )
