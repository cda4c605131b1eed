"""Start the app on a loopback port and wait for it: shared by the browser
tests, the benchmarks and the screenshot script."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlmviz.app.replicas import free_port, stop_server, wait_healthy  # noqa: E402, F401


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
