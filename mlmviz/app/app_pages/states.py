"""Hidden states: the vectors the head reads, in two dimensions."""

import numpy as np
import pandas as pd
import streamlit as st

from mlmviz.app import downloads, view
from mlmviz.analysis import gathered
from mlmviz.analysis.projection import pca
from mlmviz.figures.vectors import scatter_1d, scatter_2d, vector_heatmap
from mlmviz.app.session import (
    chart, chart_columns, current_model, current_ref, examples, explain, load_model, table,
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
model, ref = current_model(), current_ref()


@st.cache_data(max_entries=32, show_spinner=False)
def collect(ref, texts, positions):
    return gathered.collect(load_model(*ref), list(texts), [tuple(p) for p in positions])


def points(result, vectors, stage):
    """The scatter's DataFrame for one set of vectors (`x`, and `y` when PCA keeps
    two components) and the variance each kept component explains."""
    coordinates, explained = pca(vectors)
    frame = pd.DataFrame({
        "label": gathered.labels(result),
        "group": [f"→ {p}" for p in result.predicted],
        "hover": [f"{text}\nposition {p}: {token} → {guess} ({stage})"
                  for text, p, token, guess
                  in zip(result.text, result.position, result.token, result.predicted)],
    })
    for axis, values in zip("xy", coordinates.T):
        frame[axis] = values
    return frame, explained


def projection(result, vectors, stage, key):
    """One stage's PCA picture: 2-D, 1-D when the vectors vary along one direction
    only, or a message when they are all the same. Returns how many axes it drew."""
    frame, explained = points(result, vectors, stage)
    if not len(explained):
        st.info(f"{stage.capitalize()}: every mask has the same vector, so PCA has "
                "nothing to spread out.")
        return 0
    title = f"{stage.capitalize()} (PCA explains {explained.sum():.0%})"
    draw = scatter_2d if len(explained) == 2 else scatter_1d
    chart(draw(frame, title), key=key)
    return len(explained)


@st.fragment
def show(result, key, heatmap):
    """PCA before/after the head's transform, a heatmap and the norms."""
    if len(result.token) < 2:
        st.info("PCA needs at least two masks: mask another token or add sentences.")
        return
    columns = chart_columns(2)
    axes = []
    for column, stage, vectors in zip(columns, view.STAGES, [result.gathered, result.normed]):
        with column:
            axes.append(projection(result, vectors, stage, f"{key}-{stage}"))
    if 1 in axes:
        explain("These vectors differ along one direction only (two distinct vectors always "
                "lie on a line), so PCA draws one axis: a second would show rounding noise.")
    explain("Each point is one mask's vector, flattened by PCA; its colour is the word the "
            "head predicts there. Hover over a point for its sentence.")
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
    current = collect(ref, (text,), ((*picked,),))
    for _, message in current.skipped:
        st.info(message)
    show(current, "current", "heat")


@view.fragment
def across_sentences():
    """The sentences typed here: an edit reruns only this part."""
    mask_token = model.tokenizer.mask_token
    view.setdefault("batch", "\n".join(e for e in examples(ref) if mask_token in e))
    batch = view.widget(st.text_area, "batch",
                        "Sentences, one per line (type the mask token in each)")
    lines = tuple(line for line in batch.splitlines() if line.strip())
    if not lines:
        st.info("Type at least one sentence with a mask token.")
        return
    result = collect(ref, lines, ((),) * len(lines))
    for number, message in result.skipped:
        st.warning(f"Line {number} skipped: {message}")
    show(result, "batch", "bheat")


st.subheader("The masks of the current text")
current_text()
st.subheader("Across sentences")
across_sentences()
downloads.image_format()
