"""What keeps the server's CPU per interaction low (BENCHMARKS.md, issue 16):
settings and caches, each checked for what it must not change."""

import os
from pathlib import Path

from streamlit import config

ROOT = Path(__file__).resolve().parents[2]


def test_the_server_skips_streamlits_full_garbage_collection_after_each_run():
    # gc.collect(2) after every run walks every object TensorFlow and Keras hold.
    here = os.getcwd()
    os.chdir(ROOT)  # Streamlit reads ./.streamlit/config.toml
    try:
        config.get_config_options(force_reparse=True)
        assert config.get_option("runner.postScriptGC") is False
    finally:
        os.chdir(here)
        config.get_config_options(force_reparse=True)
