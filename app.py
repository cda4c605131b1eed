"""`streamlit run app.py` from a checkout: the app lives in `mlmviz.app`
(`mlmviz app` runs the same)."""

from mlmviz.app.router import run

run()
