"""Streamlit glue shared by app.py and the pages: the model the sidebar chose,
and the text and masks every page works on."""

import collections
import tempfile
import threading
from pathlib import Path

import streamlit as st

import mlmviz

UPLOADS = Path(tempfile.gettempdir()) / "mlmviz-uploads"
# Widget values that follow the user from page to page. Streamlit forgets a
# widget's value when another page runs, so each is also kept under
# "_<key>" (updated by the widget's on_change, before the script runs) and
# written back before the widget is drawn.
SHARED_KEYS = ("text", "picked", "top_k")


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def load_model(source):
    """One `MaskedLM` per source, shared by all sessions and never mutated.

    Its prediction path is compiled for a second shape in the background,
    after the first page has drawn, so later lengths do not wait for tracing.
    """
    model = mlmviz.load(source)
    # Not a daemon (a thread started from Streamlit's script thread would inherit
    # daemon=True): TensorFlow aborts the process if it is killed mid-call at exit.
    threading.Thread(target=model.warm_up, daemon=False).start()
    return model


def current_source():
    """The sidebar's current (last successfully loaded) model source."""
    return st.session_state.get("model_source", "default")


def current_model():
    """The model of the sidebar's current source."""
    return load_model(current_source())


def examples(mask_token):
    """Example sentences written with the model's mask token."""
    return [
        f"he opened the {mask_token} and walked into the room.",
        f"she drank a glass of {mask_token} with her breakfast.",
        f"there are seven days in a {mask_token}.",
        "the children played in the park after school.",
        f"the {mask_token} barked at the {mask_token} all night.",
    ]


def restore_shared_state():
    """Put the shared widget values back before this page draws its widgets."""
    for key in SHARED_KEYS:
        if f"_{key}" in st.session_state:
            st.session_state[key] = st.session_state[f"_{key}"]


def set_shared(key, value):
    """Set a shared widget's value (from a callback) on every page."""
    st.session_state[key] = st.session_state[f"_{key}"] = value


def keep(key, value=None):
    """Remember a shared widget's value for the next page; returns it.

    Used as the widget's on_change (no value: read the widget's state)
    and after drawing it (its first value, e.g. from the URL).
    """
    value = st.session_state.get(key) if value is None else value
    st.session_state[f"_{key}"] = value
    return value


def text_and_masks(model):
    """The text box and the token pills, shared by every page.

    Returns:
        `(text, encoding, picked)`: the text, its `Encoding`, and the
        positions the user clicked. Stops the page with a hint when the text
        is empty.
    """
    if model.warnings:
        st.warning(
            "This model's weights hold NaN or infinity, so its predictions are not "
            "numbers. Choose another model in the sidebar."
        )
        st.stop()
    restore_shared_state()
    st.session_state.setdefault("text", examples(model.tokenizer.mask_token)[0])
    text = keep("text", st.text_input(
        "Text", key="text", bind="query-params", on_change=keep, args=("text",)
    ))
    if not text.strip():
        st.info("Type a sentence to start.")
        st.stop()
    encoding = model.tokenizer.encode(text)
    options = model.maskable_positions(encoding)
    # Positions of an earlier text that this one lacks are dropped.
    st.session_state.picked = [p for p in st.session_state.get("picked") or [] if p in options]
    picked = st.pills(
        "Click tokens to mask them (click again to unmask)",
        options=options,
        selection_mode="multi",
        format_func=pill_labels(encoding.tokens).__getitem__,
        key="picked",
        bind="query-params",
        on_change=keep,
        args=("picked",),
    )
    return text, encoding, keep("picked", picked)


def pill_labels(tokens):
    """A unique label per token: a repeated token gets its position as a subscript.

    Streamlit identifies pills by their labels, so two pills labelled "the"
    would be one pill (and the URL would not tell them apart).
    """
    counts = collections.Counter(tokens)
    digits = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
    return [
        token if counts[token] == 1 else f"{token}{str(i).translate(digits)}"
        for i, token in enumerate(tokens)
    ]


def masked_or_stop(model, text, picked):
    """`model.mask(text, picked)`, or an info message and stop on bad input."""
    try:
        return model.mask(text, picked)
    except ValueError as error:
        st.info(str(error))
        st.stop()


@st.cache_data(max_entries=32, show_spinner=False)
def head_stages(source, text, positions):
    """`model.stages` of the masked text, cached per (model, text, masks)."""
    model = load_model(source)
    return model.stages(model.mask(text, positions))


def choose_mask(masked, encoding, key):
    """A select box over the masks of `masked`; returns the chosen index."""
    return st.selectbox(
        "Mask", range(len(masked.positions)), key=key,
        format_func=lambda i: f"position {masked.positions[i]}: {encoding.tokens[masked.positions[i]]}",
    )
