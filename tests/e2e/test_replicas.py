"""Replicas behind nginx (mlmviz.app.replicas, deploy/serve.py): each browser
sticks to one replica, a dead replica's browsers move to a live one, and their
views come back from the URL. Loopback only; needs Debian's nginx (`make test` installs it)."""

import http.cookiejar
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from deploy import fault_run, serve
from mlmviz.app import replicas
from tools.appserver import free_port, stop_server


@pytest.fixture(autouse=True)
def _nginx_installed():
    if not Path(replicas.NGINX).exists():
        pytest.fail(f"{replicas.NGINX} is missing: `make test` installs Debian's nginx")


BIG = 6 * 2**20  # bytes: larger than Plotly's chart bundle (4.6 MB), which nginx once cut short


class _Health(http.server.BaseHTTPRequestHandler):
    """`ok` on any path; BIG bytes on /big; POST answers the length of its body."""

    def do_GET(self):
        body = bytes(BIG) if self.path == "/big" else b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        answer = str(len(body)).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def _replica_stand_in(port):
    """A tiny HTTP server on 127.0.0.1:`port` answering `ok` (started)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _browser():
    """An opener with its own cookie jar, like a browser."""
    return urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))


def _served_by(browser, url):
    with browser.open(f"{url}/_stcore/health", timeout=10) as reply:
        assert reply.read() == b"ok"
        return reply.headers["X-Replica"]


@pytest.fixture
def stand_ins(tmp_path):
    """Two stand-in replicas behind nginx as serve.py configures it:
    (url, [address, ...], {address: server})."""
    ports = [free_port(), free_port()]
    servers = {f"127.0.0.1:{p}": _replica_stand_in(p) for p in ports}
    port = free_port()
    nginx = replicas.start_nginx(port, ports, tmp_path)
    try:
        yield f"http://127.0.0.1:{port}", list(servers), servers
    finally:
        stop_server(nginx)
        for server in servers.values():
            server.shutdown()
            server.server_close()


def test_nginx_keeps_each_browser_on_one_replica_and_moves_it_when_that_dies(stand_ins):
    url, addresses, servers = stand_ins
    browsers = [_browser() for _ in range(4)]
    first = [_served_by(b, url) for b in browsers]
    assert sorted(first) == sorted(addresses * 2), first  # new browsers spread evenly
    for browser, replica in zip(browsers, first):
        assert [_served_by(browser, url) for _ in range(5)] == [replica] * 5  # sticky

    dead, alive = addresses
    servers[dead].shutdown()
    servers[dead].server_close()
    for browser in browsers:  # every request still answered, now all by the survivor
        assert [_served_by(browser, url) for _ in range(3)] == [alive] * 3

    servers[dead] = _replica_stand_in(int(dead.split(":")[1]))  # it comes back
    for browser in browsers:  # the cookie keeps the moved browsers where they are now
        assert _served_by(browser, url) == alive
    assert {_served_by(_browser(), url) for _ in range(2)} == set(addresses)  # new ones spread


def test_large_downloads_and_uploads_pass_through_whole(stand_ins):
    """A browser that reads slower than its replica sends (the app's 4.6 MB chart
    bundle on a busy machine) and an upload of a checkpoint both pass whole.
    nginx run by root works as `nobody`, which may not write temporary files
    into the run directory: a body it had to spill to disk was cut short (the
    page then showed "Failed to fetch dynamically imported module")."""
    url = stand_ins[0]
    with _browser().open(f"{url}/big", timeout=30) as reply:
        time.sleep(1)  # nginx has read ahead of us by now
        assert len(reply.read()) == BIG
    upload = urllib.request.Request(f"{url}/_stcore/upload_file", data=bytes(3 * 2**20))
    with _browser().open(upload, timeout=30) as reply:
        assert reply.read() == str(3 * 2**20).encode()


def test_serve_says_which_child_failed_and_exits_non_zero(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "deploy/serve.py", "--replicas", "1", "--port", str(port),
             "--run-dir", str(tmp_path)],
            cwd=serve.ROOT, capture_output=True, text=True, timeout=400, check=False)
    assert done.returncode == 1
    assert "nginx did not start" in done.stderr and "Address already in use" in done.stderr
    assert not (tmp_path / "replicas.json").exists()


def test_pinning_more_replicas_than_cpus_is_refused_before_anything_starts(tmp_path, capsys):
    cpus = len(os.sched_getaffinity(0))
    with pytest.raises(SystemExit) as exit_:
        serve.main(["--pin", "--replicas", str(cpus + 1), "--run-dir", str(tmp_path)])
    assert exit_.value.code == 2
    assert f"this process may use {cpus}" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_killed_replica_disturbs_no_other_session_and_its_views_come_back(browser, tmp_path):
    """deploy/fault_run.py's scenario: 4 browser sessions on 2 Streamlit replicas,
    one replica killed with SIGKILL after each session has built its view."""
    with fault_run.serving(tmp_path) as state:
        results = fault_run.run(browser, state, sessions=4)
    print("\n" + fault_run.report(results))
    for pid in [state["nginx_pid"], *(r["pid"] for r in state["replicas"])]:
        with pytest.raises(ProcessLookupError):  # SIGTERM to serve.py stopped them all
            os.kill(pid, 0)
    assert sorted(results["per_replica"].values()) == [2, 2], results["per_replica"]
    assert results["survivor_errors"] == []
    for session in results["sessions"]:
        assert session["errors"] == [], session
        assert session["socket_closed"] == session["killed"], session
        if session["killed"]:
            assert session["restored"], session
            assert session["moved_to"] not in (None, results["killed"]), session
