"""mlmviz app: router and the sidebar shared by every page."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import streamlit as st  # noqa: E402

import mlmviz.device  # noqa: E402
from shared import current_model  # noqa: E402

st.set_page_config(page_title="mlmviz", page_icon="🎭", layout="wide")


@st.cache_resource(show_spinner="Finding the compute device…")
def device_name():
    return mlmviz.device.describe()


def sidebar(model):
    meta = model.metadata
    st.subheader("Model")
    st.markdown(
        f"**{meta['source']}**: {meta['architecture']}, {meta['num_layers']} layers, "
        f"hidden size {meta['hidden_dim']}, vocabulary {meta['vocabulary_size']:,}, "
        f"{meta['parameters'] / 1e6:.1f} M parameters, "
        f"{'tied' if meta['tied'] else 'untied'} output embedding."
    )
    if model.head_check.trained:
        st.caption(model.head_check.message)
    else:
        st.warning(model.head_check.message)
    st.caption(f"Weights `{meta['weight_hash']}` · head runs on **{device_name()}**")


device_name()  # before the first model is built: enables GPU memory growth
with st.sidebar:
    sidebar(current_model())

page = st.navigation([st.Page("pages/predict.py", title="Predict", icon="🎯", default=True)])
page.run()
