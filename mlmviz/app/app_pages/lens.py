"""Logit lens: the trained head applied to every encoder layer."""

import pandas as pd
import streamlit as st

from mlmviz.app import downloads, view
from mlmviz.analysis import logit_lens
from mlmviz.figures.logits import lens_lines
from mlmviz.app.session import (
    chart, choose_mask, current_model, current_ref, explain, load_model, masked_view, table,
)

st.title("Logit lens")
st.write(
    "The head was trained to read the encoder's **last** layer. Applying the same head to "
    "the output of the embeddings and of every earlier layer shows where, going up the "
    "encoder, the final answer appears: its rank drops to 1 and its probability rises. "
    "The last row is exactly the Predict page's result."
)
model, ref = current_model(), current_ref()


@st.cache_data(max_entries=32, show_spinner=False)
def lens(ref, text, positions):
    model = load_model(*ref)
    return logit_lens.lens_logits(model, model.mask(text, positions))


def show_mask(masked, encoding, logits):
    """The views of the chosen mask."""
    index = choose_mask(masked, encoding)
    top_k = view.widget(st.slider, "lens_k", "Tokens per layer", min_value=1, max_value=10)
    lens_result = logit_lens.lens_table(logits, index, model.vocabulary, top_k)
    rows = lens_result["layers"]
    chart(
        lens_lines(
            [r["layer"] for r in rows], [r["final_probability"] for r in rows],
            [r["final_rank"] for r in rows], lens_result["final"],
            f"The final prediction “{lens_result['final']}” layer by layer",
        ),
        key="lens_lines",
    )
    frame = pd.DataFrame(
        [[r["layer"], *r["top"], r["final_rank"], r["final_probability"]] for r in rows],
        columns=["layer", *[f"#{i + 1}" for i in range(top_k)], "final rank", "final probability"],
    )
    explain("Top: the probability of the final answer when the head reads each layer. "
            "Bottom: its rank there (1 = the head's top guess).")
    table(frame, "Each layer's top tokens")
    downloads.lens(lens_result)


masked_view(model, lambda text, positions: lens(ref, text, positions), show_mask)
downloads.image_format()
