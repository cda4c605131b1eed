"""A well-known Hub model chosen in a real Chromium, downloaded from a stand-in Hub.

The app runs in its own Streamlit server with HF_ENDPOINT pointed at the
stand-in (tests/hub_server.py) and HF_HUB_CACHE at a fresh folder.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from hf_checkpoints import make_checkpoint
from hub_server import serve
from test_browser import _choose
from tools.appserver import free_port, start_server, stop_server, wait_healthy

IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"
REPO = "google-bert/bert-base-uncased"


@pytest.fixture
def hub_app(tmp_path, monkeypatch):
    """The app's URL, its Hub serving a tiny BERT as REPO (the last file 4 s late)."""
    checkpoint = make_checkpoint("bert", tmp_path / "tiny-bert")
    with serve({REPO: checkpoint}, slow={"tokenizer_config.json": 4}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        port = free_port()
        with open(tmp_path / "streamlit.log", "w") as log:
            process = start_server(port, log)
        try:
            wait_healthy(f"http://127.0.0.1:{port}", process, timeout=120)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop_server(process)


def test_a_well_known_model_downloads_under_a_progress_bar_and_stays_chosen(
        page: Page, hub_app):
    page.goto(hub_app)
    page.wait_for_selector(IDLE, timeout=120_000)
    sidebar = page.get_by_test_id("stSidebar")
    page.get_by_role("radio", name="Well-known model").check(force=True)
    box = sidebar.get_by_role("combobox", name="Hugging Face Hub model")
    expect(box).to_have_value("Choose a model…", timeout=60_000)
    _choose(page, box, "bert-base-uncased · 440 MB")
    bar = sidebar.get_by_test_id("stProgress")
    expect(bar).to_contain_text(re.compile(r"of 0\.1\d+ MB \([1-9]?\d %\)"), timeout=60_000)
    expect(bar).to_contain_text("(100 %) · downloaded", timeout=60_000)
    expect(sidebar.get_by_text(f"hf:{REPO}")).to_be_visible(timeout=60_000)
    expect(page.locator("[data-testid=stPlotlyChart]")).to_have_count(1, timeout=60_000)
    expect(page).to_have_url(
        re.compile("model_kind=Well-known.model&hub_model=google-bert%2Fbert-base-uncased"),
        timeout=60_000)

    # Two whole runs (the sidebar's toggle; the page's own widgets rerun only their
    # fragment): the label turns to "cached" and the choice stays, though the
    # browser still holds the label it was drawn with.
    toggle = sidebar.get_by_text("Presentation mode")
    toggle.click()
    expect(page).to_have_url(re.compile("present=1"), timeout=60_000)
    _still_chosen(page, sidebar)
    toggle.click()
    expect(page).not_to_have_url(re.compile("present=1"), timeout=60_000)
    _still_chosen(page, sidebar)


def _still_chosen(page, sidebar):
    page.wait_for_selector(IDLE, timeout=120_000)
    box = sidebar.get_by_role("combobox", name="Hugging Face Hub model")
    expect(box).to_have_value("✓ bert-base-uncased · 440 MB", timeout=60_000)
    expect(sidebar.get_by_test_id("stProgress")).to_have_count(0)
    expect(sidebar.get_by_text(f"hf:{REPO}")).to_be_visible()
    expect(sidebar.get_by_test_id("stAlertContentError")).to_have_count(0)
