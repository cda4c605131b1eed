"""`mlmviz serve` in a real Chromium: shared mode behind nginx, and a visitor's
uploads kept to the disk budget and deleted when the session ends. Loopback
only; needs Debian's nginx and chromium (`make test` installs them)."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect

from hf_checkpoints import make_checkpoint
from tools.appserver import free_port, wait_healthy

IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"


def _settle(page: Page):
    page.wait_for_selector(IDLE, timeout=120_000)
    expect(page.locator("[data-testid=stSkeleton]")).to_have_count(0, timeout=60_000)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("served") / "models"
    make_checkpoint("bert", folder / "tiny-bert")
    return folder


@contextlib.contextmanager
def serving(arguments, log, env=None):
    """`mlmviz serve ARGUMENTS` until the block ends (then SIGTERM); yields the Popen."""
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "mlmviz", "serve", *arguments],
                                   stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, **(env or {})})
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)


def test_serve_with_two_replicas_behind_nginx_offers_only_its_models_and_stops(
        page: Page, models, tmp_path):
    port, run_dir = free_port(), tmp_path / "run"
    with serving(["--replicas", "2", "--port", str(port), "--models-dir", str(models),
                  "--run-dir", str(run_dir)], tmp_path / "serve.log") as process:
        deadline = time.monotonic() + 400
        while not (run_dir / "replicas.json").exists():
            assert process.poll() is None and time.monotonic() < deadline, \
                (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        state = json.loads((run_dir / "replicas.json").read_text())
        query = urlencode({"model_kind": "Server model", "server_model": "tiny-bert"})
        page.goto(f"{state['url']}/?{query}")
        _settle(page)
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar.get_by_text("server:tiny-bert")).to_be_visible(timeout=60_000)
        expect(page.locator("[data-testid=stPlotlyChart]")).to_have_count(1, timeout=60_000)
        expect(sidebar.get_by_role("radio", name="Checkpoint path")).to_have_count(0)
        expect(sidebar.get_by_role("radio", name="Upload")).to_have_count(0)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    said = (tmp_path / "serve.log").read_text()
    assert "in shared mode; models offered: embedded default, tiny-bert" in said
    assert "Only this machine can open it" in said
    for pid in [state["nginx_pid"], *(r["pid"] for r in state["replicas"])]:
        with pytest.raises(ProcessLookupError):  # SIGTERM stopped them all
            os.kill(pid, 0)


def _zipped(folder, archive):
    with zipfile.ZipFile(archive, "w") as out:
        for file in folder.iterdir():
            out.write(file, f"{folder.name}/{file.name}")
    return archive


def _upload(page: Page, archive):
    page.get_by_test_id("stSidebar").locator("input[type=file]").set_input_files(archive)
    _settle(page)


def test_uploads_keep_to_the_budget_and_go_when_the_session_ends(page: Page, models, tmp_path):
    """A server with uploads on and room for one tiny checkpoint: the first
    upload runs, the second is refused with the budget named, and the
    session's files are deleted soon after its browser leaves."""
    first = make_checkpoint("bert", tmp_path / "first")
    second = make_checkpoint("bert", tmp_path / "second", seed=1)
    size = sum(f.stat().st_size for f in first.iterdir())
    temp = tmp_path / "temp"
    temp.mkdir()
    port = free_port()
    env = {"TMPDIR": str(temp), "STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": "1"}
    arguments = ["--port", str(port), "--models-dir", str(models), "--allow-uploads",
                 "--disk-mb", f"{1.5 * size / 2**20:.3f}"]
    with serving(arguments, tmp_path / "serve.log", env) as process:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, process, timeout=180)
        page.goto(url)
        _settle(page)
        page.get_by_role("radio", name="Upload").check(force=True)
        _settle(page)
        _upload(page, _zipped(first, tmp_path / "first.zip"))
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar.get_by_text("session:uploads/")).to_be_visible(timeout=60_000)
        sessions = temp / "mlmviz-sessions" / str(process.pid)
        assert len(list(sessions.glob("*/uploads/*"))) == 1
        _upload(page, _zipped(second, tmp_path / "second.zip"))
        error = sidebar.get_by_test_id("stAlertContentError")
        expect(error).to_contain_text("full", timeout=60_000)
        expect(error).to_contain_text("MB for all visitors together")
        assert str(temp) not in error.inner_text()
        page.close()  # the visitor leaves
        deadline = time.monotonic() + 60
        while list(sessions.iterdir()):
            assert time.monotonic() < deadline, list(sessions.rglob("*"))
            time.sleep(0.5)
