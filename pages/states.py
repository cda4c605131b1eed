"""Hidden states: the vectors the head reads, in two dimensions."""

import numpy as np
import pandas as pd
import streamlit as st

from mlmviz.analysis import gathered
from mlmviz.analysis.projection import pca_2d
from mlmviz.figures.vectors import scatter_2d, vector_heatmap
from shared import current_model, current_source, examples, load_model, text_and_masks

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
def show(result, key):
    """PCA before/after the head's transform, a heatmap and the norms."""
    if len(result.token) < 2:
        st.info("PCA needs at least two masks: mask another token or add sentences.")
        return
    columns = st.columns(2)
    for column, stage, vectors in zip(
        columns, ["gathered", "after the head's transform"], [result.gathered, result.normed]
    ):
        frame, explained = points(result, vectors, stage)
        title = f"{stage.capitalize()} (PCA explains {explained.sum():.0%})"
        column.plotly_chart(scatter_2d(frame, title), key=f"{key}-{stage}")
    names = gathered.labels(result)
    shown = st.radio("Heatmap of", ["gathered", "after the head's transform"],
                     horizontal=True, key=f"{key}-heatmap-choice")
    vectors = result.gathered if shown == "gathered" else result.normed
    st.plotly_chart(vector_heatmap(vectors, names, f"The vectors ({shown})"),
                    key=f"{key}-heatmap")
    st.dataframe(pd.DataFrame({
        "mask": names, "predicted": result.predicted,
        "norm gathered": np.linalg.norm(result.gathered, axis=1),
        "norm after transform": np.linalg.norm(result.normed, axis=1),
    }), hide_index=True)


st.subheader("The masks of the current text")
text, encoding, picked = text_and_masks(model)
current = collect(source, (text,), ((*picked,),))
for _, message in current.skipped:
    st.info(message)
show(current, "current")

st.subheader("Across sentences")
batch = st.text_area(
    "Sentences, one per line (type the mask token in each)",
    "\n".join(e for e in examples(model.tokenizer.mask_token) if model.tokenizer.mask_token in e),
    key="states_batch",
)
lines = tuple(line for line in batch.splitlines() if line.strip())
if not lines:
    st.info("Type at least one sentence with a mask token.")
    st.stop()
result = collect(source, lines, ((),) * len(lines))
for number, message in result.skipped:
    st.warning(f"Line {number} skipped: {message}")
show(result, "batch")
