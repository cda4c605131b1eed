"""Fixtures for end-to-end tests: a real Streamlit server and Debian's Chromium."""

from pathlib import Path

import pytest

from tools.appserver import free_port, start_server, stop_server, wait_healthy

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def base_url(tmp_path_factory):
    """URL of a Streamlit server running app.py on loopback, for the session."""
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    with open(log, "w") as out:
        process = start_server(port, out)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, timeout=120)
        yield url
    finally:
        stop_server(process)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Launch Debian's Chromium (installed by `make test`), not a downloaded one."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }
