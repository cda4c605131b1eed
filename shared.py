"""Streamlit glue shared by app.py and the pages: the cached model."""

import streamlit as st

import mlmviz


@st.cache_resource(show_spinner="Loading the model…")
def load_model(source):
    """One `MaskedLM` per source, shared by all sessions and never mutated."""
    return mlmviz.load(source)


def current_model():
    """The model the sidebar selected (the embedded default for now)."""
    return load_model("default")
