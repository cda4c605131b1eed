"""Serve the app as N Streamlit replicas behind nginx, with sticky sessions.

Run from the repository root (Debian's nginx: `apt-get install nginx`):

    .venv/bin/python deploy/serve.py --replicas 4 --port 8080 [--pin] [--run-dir DIR]

It starts N `streamlit run app.py` replicas on free loopback ports
(tools/appserver.py), waits until each answers /_stcore/health, writes
deploy/nginx.conf.template filled in as RUN_DIR/nginx.conf, starts nginx in
the foreground on 127.0.0.1:PORT and waits until it answers too. Then it
writes RUN_DIR/replicas.json ({"url", "replicas": [{"port", "pid"}], "nginx_pid"})
and prints the URL. Logs: RUN_DIR/replica-I.log, error.log, access.log.

Ctrl-C or SIGTERM stops nginx and every replica. A child that dies at
startup is named and the script exits with status 1. A replica that dies
later is reported and nginx moves its browsers to the others; when nginx or
the last replica dies, the script stops everything and exits with status 1.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.appserver import free_port, server_command, stop_server, wait_healthy

NGINX = "/usr/sbin/nginx"
TEMPLATE = Path(__file__).with_name("nginx.conf.template")


class StartupError(RuntimeError):
    """A child process did not come up; the message names it and its log."""


def nginx_config(port, replica_ports, run_dir):
    """The template filled in: nginx on 127.0.0.1:`port` in front of `replica_ports`."""
    addresses = [f"127.0.0.1:{p}" for p in replica_ports]
    server = "        server {} max_fails=1 fail_timeout=10s{};"
    groups = ["    upstream any {", *(server.format(a, "") for a in addresses), "    }"]
    for index, address in enumerate(addresses):
        backups = [server.format(a, " backup") for a in addresses if a != address]
        groups += [f"    upstream replica{index} {{", server.format(address, ""), *backups, "    }"]
    routes = "".join(f'        "{a}" replica{i};\n' for i, a in enumerate(addresses))
    return (TEMPLATE.read_text()
            .replace("@UPSTREAMS@", "\n".join(groups))
            .replace("@ROUTES@", routes)
            .replace("@RUN_DIR@", str(run_dir))
            .replace("@PORT@", str(port)))


def start_replica(index, port, run_dir, core=None):
    """Launch replica `index` on `port`, logging to RUN_DIR/replica-INDEX.log,
    pinned to CPU `core` with taskset when one is given; returns the Popen."""
    command = server_command(port)
    if core is not None:
        command = ["taskset", "--cpu-list", str(core), *command]
    with open(run_dir / f"replica-{index}.log", "w") as log:
        return subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})


def wait_replicas(replicas, ports, run_dir, timeout):
    """Wait for every replica's health; raise StartupError naming the first that fails."""
    for index, (process, port) in enumerate(zip(replicas, ports)):
        try:
            wait_healthy(f"http://127.0.0.1:{port}", process, timeout=timeout)
        except RuntimeError as error:
            raise StartupError(f"replica {index} (port {port}) did not start: {error}; "
                               f"see {run_dir / f'replica-{index}.log'}") from None


def start_nginx(port, replica_ports, run_dir, timeout=30):
    """Write RUN_DIR/nginx.conf, run nginx in the foreground and wait until it
    proxies /_stcore/health; returns the Popen. Raises StartupError with nginx's
    own message (a taken port, a bad config) when it exits."""
    config = run_dir / "nginx.conf"
    config.write_text(nginx_config(port, replica_ports, run_dir))
    error_log = run_dir / "error.log"
    process = subprocess.Popen(
        [NGINX, "-p", str(run_dir), "-e", str(error_log), "-c", str(config),
         "-g", "daemon off;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process, timeout=timeout)
    except RuntimeError:
        stop_server(process)
        said = error_log.read_text().splitlines() if error_log.exists() else []
        first = next((line for line in said if "[emerg]" in line), said[-1] if said else "")
        raise StartupError(f"nginx did not start (exit code {process.returncode}): {first}; "
                           f"see {error_log}") from None
    return process


def watch(replicas, ports, nginx):
    """Block while nginx and at least one replica run; report each replica that
    dies. Returns the exit status for the script (1: nginx or all replicas died)."""
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


def serve(count, port, run_dir, pin=False, timeout=300):
    """Start `count` replicas and nginx on `port`, serve until a signal or a
    fatal death, then stop them all. Returns the exit status."""
    cores = sorted(os.sched_getaffinity(0))  # main() allows no more pinned replicas than these
    ports = [free_port() for _ in range(count)]
    replicas, nginx = [], None
    try:
        for index, replica_port in enumerate(ports):
            core = cores[index] if pin else None
            replicas.append(start_replica(index, replica_port, run_dir, core))
        wait_replicas(replicas, ports, run_dir, timeout)
        nginx = start_nginx(port, ports, run_dir)
        url = f"http://127.0.0.1:{port}"
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


def _stop(signum, frame):
    sys.exit(0)  # unwinds into serve()'s finally: everything stops


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=2, help="Streamlit processes")
    parser.add_argument("--port", type=int, default=8080, help="nginx's port on 127.0.0.1")
    parser.add_argument("--pin", action="store_true",
                        help="pin replica I to the I-th CPU this process may use (taskset); "
                             "at most one replica per CPU")
    parser.add_argument("--run-dir", type=Path,
                        help="config, logs and replicas.json (default: a new temp folder)")
    args = parser.parse_args(argv)
    if args.replicas < 1:
        parser.error("--replicas must be at least 1")
    cpus = len(os.sched_getaffinity(0))
    if args.pin and args.replicas > cpus:
        parser.error(f"--pin gives each replica its own CPU, and this process may use {cpus}: "
                     f"ask for at most {cpus} replicas, or leave out --pin")
    if not Path(NGINX).exists():
        parser.error(f"{NGINX} is missing: apt-get install nginx")
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="mlmviz-replicas-"))
    run_dir.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _stop)
    try:
        return serve(args.replicas, args.port, run_dir.resolve(), pin=args.pin)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
