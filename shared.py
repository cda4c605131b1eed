"""Streamlit glue shared by app.py and the pages: the model the sidebar chose."""

import tempfile
from pathlib import Path

import streamlit as st

import mlmviz

UPLOADS = Path(tempfile.gettempdir()) / "mlmviz-uploads"


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def load_model(source):
    """One `MaskedLM` per source, shared by all sessions and never mutated."""
    return mlmviz.load(source)


def current_model():
    """The model of the sidebar's current (last successfully loaded) source."""
    return load_model(st.session_state.get("model_source", "default"))
