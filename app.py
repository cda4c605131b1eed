"""mlmviz app: router and the sidebar shared by every page."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import streamlit as st  # noqa: E402

import mlmviz.device  # noqa: E402
from mlmviz import toy  # noqa: E402

st.set_page_config(page_title="mlmviz", page_icon="🎭", layout="wide")


@st.cache_resource(show_spinner="Finding the compute device…")
def device_name():
    return mlmviz.device.describe()


with st.sidebar:
    st.subheader("Model")
    st.markdown(f"**{toy.NAME}**")
    st.warning(
        "This model's weights are random: its predictions are noise. "
        "It shows how the app and the MaskedLMHead work until a trained "
        "default model is embedded."
    )
    st.caption(f"Head runs on: **{device_name()}**")

page = st.navigation([st.Page("pages/predict.py", title="Predict", icon="🎯", default=True)])
page.run()
