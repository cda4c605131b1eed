"""The Streamlit app: `mlmviz app [SOURCE]` serves it (the `[app]` extra
installs Streamlit).

Its modules import Streamlit; the rest of mlmviz never imports this package.
`router` is the script Streamlit runs: navigation and the sidebar; `view`
holds what a link restores; `session` the model the sidebar chose and the
text every page works on; `downloads` the files a page offers; `app_pages/`
one script per page; `assets/` the CSS, HTML and glossary the router shows.
This module itself imports nothing, so the command line can name the entry
script without Streamlit.
"""

from pathlib import Path

ENTRY = Path(__file__).with_name("router.py")
PAGE_DIR = Path(__file__).with_name("app_pages")
# `mlmviz app SOURCE` tells the server the model a new session opens with.
SOURCE_ENV = "MLMVIZ_SOURCE"
# The name of the thread that warms up each model the app loads (session.load_model).
WARM_UP_THREAD = "mlmviz-warm-up"
# The Streamlit options `mlmviz app` runs with; a checkout's .streamlit/config.toml
# (read by `make run` and `streamlit run app.py`) holds the same, with the reasons.
OPTIONS = {
    "server.headless": True,
    "server.maxUploadSize": 200,  # MB
    "server.fileWatcherType": "none",
    "browser.gatherUsageStats": False,
    "client.toolbarMode": "viewer",
    "runner.postScriptGC": False,
}


def page_path(name):
    """The script of page `name` ("predict", "lens", …): what st.Page,
    st.switch_page and st.page_link are given."""
    return str(PAGE_DIR / f"{name}.py")
