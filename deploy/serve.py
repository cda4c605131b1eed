"""Serve the app as N Streamlit replicas behind nginx, in local mode (every
visitor has the powers of the person who started it), from a checkout:

    .venv/bin/python deploy/serve.py --replicas 4 --port 8080 [--pin] [--run-dir DIR]

The replicas and nginx are those of `mlmviz.app.replicas`; `mlmviz serve`
starts them in shared mode, for people you do not know
(docs/serving-a-class.md). Ctrl-C or SIGTERM stops nginx and every replica;
a child that dies at startup is named and the script exits with status 1.
"""

import argparse
import os
import signal
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlmviz.app.replicas import NGINX, serve  # noqa: E402


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
