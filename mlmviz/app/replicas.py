"""N Streamlit replicas of the app behind nginx, with sticky sessions.

`mlmviz serve --replicas N` (and a checkout's `deploy/serve.py`) start N
servers of the app on free loopback ports, wait until each answers
/_stcore/health, fill in `assets/nginx.conf.template` as RUN_DIR/nginx.conf,
run nginx in the foreground on HOST:PORT and wait until it answers too. Then
RUN_DIR/replicas.json ({"url", "replicas": [{"port", "pid"}], "nginx_pid"})
is written. Logs: RUN_DIR/replica-I.log, error.log, access.log.

A signal that ends `serve` (SIGTERM, Ctrl-C) stops nginx and every replica.
A child that dies at startup is named (`StartupError`). A replica that dies
later is reported and nginx moves its browsers to the others; when nginx or
the last replica dies, everything stops. Nothing here imports Streamlit.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from mlmviz.app import ENTRY, OPTIONS

NGINX = "/usr/sbin/nginx"  # Debian's: apt-get install nginx
TEMPLATE = Path(__file__).parent / "assets" / "nginx.conf.template"


class StartupError(RuntimeError):
    """A child process did not come up; the message names it and its log."""


def free_port():
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def streamlit_command(port, host="127.0.0.1", options=None):
    """The command line of one app server on `host`:`port`, with the app's
    Streamlit `OPTIONS` and then `options` ({name: value})."""
    merged = {**OPTIONS, **(options or {}), "server.port": port, "server.address": host}
    return [sys.executable, "-m", "streamlit", "run", str(ENTRY),
            *[f"--{name}={str(value).lower() if isinstance(value, bool) else value}"
              for name, value in merged.items()]]


def wait_healthy(url, process, timeout=180):
    """Poll `url`/_stcore/health every 50 ms until it answers `ok`.

    Raises:
        RuntimeError: when `process` exits or nothing answers in `timeout` s.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url}/_stcore/health did not answer in {timeout} s")


def stop_server(process):
    """Terminate `process` (kill it if it does not stop within 30 s)."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def address(host, port):
    """"HOST:PORT", with an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def local_url(host, port):
    """The URL this machine reaches a server listening on `host`:`port` by."""
    near = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://{address(near, port)}"


def nginx_config(port, replica_ports, run_dir, host="127.0.0.1"):
    """The template filled in: nginx on `host`:`port` in front of `replica_ports`."""
    addresses = [f"127.0.0.1:{p}" for p in replica_ports]
    server = "        server {} max_fails=1 fail_timeout=10s{};"
    groups = ["    upstream any {", *(server.format(a, "") for a in addresses), "    }"]
    for index, replica in enumerate(addresses):
        backups = [server.format(a, " backup") for a in addresses if a != replica]
        groups += [f"    upstream replica{index} {{", server.format(replica, ""), *backups, "    }"]
    routes = "".join(f'        "{a}" replica{i};\n' for i, a in enumerate(addresses))
    return (TEMPLATE.read_text()
            .replace("@UPSTREAMS@", "\n".join(groups))
            .replace("@ROUTES@", routes)
            .replace("@RUN_DIR@", str(run_dir))
            .replace("@LISTEN@", address(host, port)))


def start_replica(index, port, run_dir, core=None, env=None, options=None):
    """Launch replica `index` on 127.0.0.1:`port`, logging to RUN_DIR/replica-INDEX.log,
    pinned to CPU `core` with taskset when one is given, with `env` added to
    this process's environment; returns the Popen."""
    command = streamlit_command(port, options=options)
    if core is not None:
        command = ["taskset", "--cpu-list", str(core), *command]
    with open(run_dir / f"replica-{index}.log", "w") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})})


def wait_replicas(replicas, ports, run_dir, timeout):
    """Wait for every replica's health; raise StartupError naming the first that fails."""
    for index, (process, port) in enumerate(zip(replicas, ports)):
        try:
            wait_healthy(f"http://127.0.0.1:{port}", process, timeout=timeout)
        except RuntimeError as error:
            raise StartupError(f"replica {index} (port {port}) did not start: {error}; "
                               f"see {run_dir / f'replica-{index}.log'}") from None


def start_nginx(port, replica_ports, run_dir, timeout=30, host="127.0.0.1"):
    """Write RUN_DIR/nginx.conf, run nginx in the foreground and wait until it
    proxies /_stcore/health; returns the Popen. Raises StartupError with nginx's
    own message (a taken port, a bad config) when it exits."""
    config = run_dir / "nginx.conf"
    config.write_text(nginx_config(port, replica_ports, run_dir, host))
    error_log = run_dir / "error.log"
    process = subprocess.Popen(
        [NGINX, "-p", str(run_dir), "-e", str(error_log), "-c", str(config),
         "-g", "daemon off;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_healthy(local_url(host, port), process, timeout=timeout)
    except RuntimeError:
        stop_server(process)
        said = error_log.read_text().splitlines() if error_log.exists() else []
        first = next((line for line in said if "[emerg]" in line), said[-1] if said else "")
        raise StartupError(f"nginx did not start (exit code {process.returncode}): {first}; "
                           f"see {error_log}") from None
    return process


def watch(replicas, ports, nginx):
    """Block while nginx and at least one replica run; report each replica that
    dies. Returns the exit status (1: nginx or every replica died)."""
    reported = set()
    while True:
        if nginx.poll() is not None:
            print(f"nginx exited with code {nginx.returncode}; stopping", flush=True)
            return 1
        for index, process in enumerate(replicas):
            if process.poll() is not None and index not in reported:
                reported.add(index)
                print(f"replica {index} (port {ports[index]}) exited with code "
                      f"{process.returncode}; nginx sends its browsers to the others",
                      flush=True)
        if len(reported) == len(replicas):
            print("every replica has exited; stopping", flush=True)
            return 1
        time.sleep(0.5)


def serve(count, port, run_dir, pin=False, timeout=300, host="127.0.0.1", env=None,
          options=None):
    """Start `count` replicas (with `env` and Streamlit `options`) and nginx on
    `host`:`port`, serve until a signal or a fatal death, then stop them all.
    Returns the exit status (1 after a `StartupError`, printed)."""
    cores = sorted(os.sched_getaffinity(0))  # callers allow no more pinned replicas than these
    ports = [free_port() for _ in range(count)]
    replicas, nginx = [], None
    try:
        for index, replica_port in enumerate(ports):
            core = cores[index] if pin else None
            replicas.append(start_replica(index, replica_port, run_dir, core, env, options))
        wait_replicas(replicas, ports, run_dir, timeout)
        nginx = start_nginx(port, ports, run_dir, host=host)
        url = local_url(host, port)
        state = {"url": url, "nginx_pid": nginx.pid,
                 "replicas": [{"port": p, "pid": r.pid} for p, r in zip(ports, replicas)]}
        (run_dir / "replicas.json").write_text(json.dumps(state, indent=1))
        print(f"serving {count} replicas on {url} (run directory {run_dir})", flush=True)
        return watch(replicas, ports, nginx)
    except StartupError as error:
        print(error, file=sys.stderr, flush=True)
        return 1
    finally:
        for process in [nginx, *replicas]:
            if process is not None:
                stop_server(process)
