"""Hidden states: the vectors the head reads, in two dimensions."""

import numpy as np
import pandas as pd
import streamlit as st

import downloads
import view
from mlmviz.analysis import gathered
from mlmviz.analysis.projection import pca_2d
from mlmviz.figures.vectors import scatter_2d, vector_heatmap
from shared import (
    chart, chart_columns, current_model, current_source, examples, explain, load_model, table,
    text_and_masks,
)

st.title("Gathered hidden states")
st.write(
    "Each mask gives the head one vector from the encoder (**gathered**), which the head "
    "transforms (dense → activation → LayerNorm) into the vector it compares with every "
    "token embedding (**after the head's transform**). PCA flattens them to two dimensions: "
    "masks the model fills with similar words should land close together, more so after "
    "the transform."
)
model, source = current_model(), current_source()


@st.cache_data(max_entries=32, show_spinner=False)
def collect(source, texts, positions):
    return gathered.collect(load_model(source), list(texts), [tuple(p) for p in positions])


def points(result, vectors, stage):
    """The scatter's DataFrame for one set of vectors."""
    coordinates, explained = pca_2d(vectors)
    names = gathered.labels(result)
    frame = pd.DataFrame({
        "x": coordinates[:, 0], "y": coordinates[:, 1], "label": names,
        "group": [f"→ {p}" for p in result.predicted],
        "hover": [f"{n} → {p} ({stage})" for n, p in zip(names, result.predicted)],
    })
    return frame, explained


@st.fragment
def show(result, key, heatmap):
    """PCA before/after the head's transform, a heatmap and the norms."""
    if len(result.token) < 2:
        st.info("PCA needs at least two masks: mask another token or add sentences.")
        return
    columns = chart_columns(2)
    for column, stage, vectors in zip(columns, view.STAGES, [result.gathered, result.normed]):
        frame, explained = points(result, vectors, stage)
        title = f"{stage.capitalize()} (PCA explains {explained.sum():.0%})"
        with column:
            chart(scatter_2d(frame, title), key=f"{key}-{stage}")
    explain("Each point is one mask's vector, flattened to two dimensions by PCA; its "
            "colour is the word the head predicts there.")
    names = gathered.labels(result)
    shown = view.widget(st.radio, heatmap, "Heatmap of", options=view.STAGES, horizontal=True)
    vectors = result.gathered if shown == view.STAGES[0] else result.normed
    chart(vector_heatmap(vectors, names, f"The vectors ({shown})"), key=f"{key}-heatmap")
    explain("One row per mask, one cell per dimension: blue above zero, red below.")
    table(pd.DataFrame({
        "mask": names, "predicted": result.predicted,
        "norm gathered": np.linalg.norm(result.gathered, axis=1),
        "norm after transform": np.linalg.norm(result.normed, axis=1),
    }))
    downloads.states(result, key)


@view.fragment
def current_text():
    """The masks of the current text: an edit reruns only this part."""
    text, encoding, picked = text_and_masks(model)
    current = collect(source, (text,), ((*picked,),))
    for _, message in current.skipped:
        st.info(message)
    show(current, "current", "heat")


@view.fragment
def across_sentences():
    """The sentences typed here: an edit reruns only this part."""
    mask_token = model.tokenizer.mask_token
    view.setdefault("batch", "\n".join(e for e in examples(source) if mask_token in e))
    batch = view.widget(st.text_area, "batch",
                        "Sentences, one per line (type the mask token in each)")
    lines = tuple(line for line in batch.splitlines() if line.strip())
    if not lines:
        st.info("Type at least one sentence with a mask token.")
        return
    result = collect(source, lines, ((),) * len(lines))
    for number, message in result.skipped:
        st.warning(f"Line {number} skipped: {message}")
    show(result, "batch", "bheat")


st.subheader("The masks of the current text")
current_text()
st.subheader("Across sentences")
across_sentences()
downloads.image_format()
