"""Start the app on a loopback port and wait for it: shared by the browser
tests, the benchmarks and the screenshot script."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port():
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_command(port):
    """The `streamlit run app.py` command line for `port` (loopback only)."""
    return [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.headless", "true",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]


def start_server(port, log, root=ROOT):
    """Launch the app of the checkout `root` (this repository by default), output to
    the file `log`; returns the `Popen`."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.Popen(
        server_command(port), cwd=root, stdout=log, stderr=subprocess.STDOUT, env=env
    )


def wait_healthy(url, process, timeout=180):
    """Poll /_stcore/health every 50 ms until it answers `ok`.

    Raises:
        RuntimeError: when the server exits or does not answer in `timeout` s.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url}/_stcore/health did not answer in {timeout} s")


def stop_server(process):
    """Terminate the server (kill it if it does not stop within 30 s)."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
