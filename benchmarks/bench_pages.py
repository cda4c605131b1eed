"""Server CPU per analysis-page visit: what one student costs a class's server.

Run from the repository root:

    .venv/bin/python benchmarks/bench_pages.py --sentences 8
    .venv/bin/python benchmarks/bench_pages.py --py-spy /tmp/pages.raw

One protocol client (`st_protocol.Session`, pinned to CPU 1) drives one fresh
server (`streamlit run app.py`, pinned to CPU 0, every page visited once
before the clock starts, as `load_protocol.py` does). For each of
`--sentences` sentences the server has never seen (each starts with a random
number), the client types it on Predict, then opens every analysis page in
turn, and goes back to Predict (a reference: its results are cached by
then, so that visit costs what a page switch itself costs). Each visit's
cost is the server's CPU time (process and children, from /proc: 10 ms
ticks, so medians are read over many visits) and its wall time from the
rerun request to `script_finished`; every visit must show its page's title
and a chart, without an error box.

It prints one row per page (median and p95 CPU ms, median wall s), then all
visits together against the targets of issue 28: CPU median <= 30 ms,
p95 <= 60 ms, wall p95 <= 0.25 s. `--py-spy PATH` records the server during
the visits and prints the functions that hold the most samples.
"""

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
from bench_app import MASK, percentile  # noqa: E402
from common import machine_lines, table  # noqa: E402
from load_protocol import CLIENT_CPUS, Server, pin_here, profile_table  # noqa: E402
from st_protocol import Session, charts, headings, problems  # noqa: E402

# Sidebar name -> the page's title.
ANALYSIS_PAGES = {
    "Head anatomy": "Inside the head",
    "Hidden states": "Gathered hidden states",
    "Embedding similarity": "Embedding similarity",
    "Logit lens": "Logit lens",
    "Attention": "Attention at the mask",
    "Masking lab": "Masking lab",
    "Compare checkpoints": "Compare two checkpoints",
}
PREDICT = ("Predict", "Fill the mask")  # the reference row: its results are cached by then
SENTENCES = [
    f"she put the milk in the {MASK} before going to bed.",
    f"the children played in the {MASK} after school.",
    f"he drank a cup of {MASK} every morning at work.",
    f"we took the {MASK} to the city because it was faster.",
    f"my sister plays the {MASK} in a small band.",
    f"the doctor told him to stay in {MASK} for a week.",
    f"they watched a {MASK} at the cinema last night.",
    f"i left my keys on the {MASK} by the door.",
    f"the cat was sleeping on the {MASK} all afternoon.",
    f"she wrote a long {MASK} to her grandmother.",
    f"the train was late because of the {MASK} on the line.",
    f"he washed the {MASK} after dinner and went to sleep.",
]
TARGETS = {"median_ms": 30, "p95_ms": 60, "wall_p95_s": 0.25}


def visit(session, server, page):
    """Open `page` (a sidebar name); returns (CPU ms, wall s), or raises on a
    page that does not show its title and a chart."""
    before = server.cpu()
    run = session.switch_page(page)
    cpu_ms = 1000 * (server.cpu() - before)
    elements = session.elements()
    found = problems(elements)
    if dict([PREDICT], **ANALYSIS_PAGES)[page] not in headings(elements):
        found.append(f"headings {headings(elements)}")
    if not charts(elements):
        found.append("no chart")
    if found:
        raise RuntimeError(f"{page}: " + "; ".join(found))
    return cpu_ms, run.seconds


def measure(server, count):
    """Every analysis page for `count` new sentences; returns {page: [(cpu ms, wall s)]}."""
    nonce = random.randrange(10**6)
    visits = {page: [] for page in [*ANALYSIS_PAGES, PREDICT[0]]}
    session = Session(server.url, timeout=60)
    try:
        session.open()
        for page in ANALYSIS_PAGES:  # unmeasured: each page's graphs compile at first use
            session.switch_page(page)
        for n, text in enumerate((SENTENCES * 4)[:count]):
            session.switch_page("Predict")
            session.set_widget("text", f"visit {nonce + n}: {text}")
            for page in visits:
                visits[page].append(visit(session, server, page))
    finally:
        session.close()
    return visits


def report(visits):
    reference = visits.pop(PREDICT[0])
    rows = []
    for page, samples in visits.items():
        cpu = [c for c, _ in samples]
        rows.append([page, f"{statistics.median(cpu):.0f}", f"{percentile(cpu, 0.95):.0f}",
                     f"{statistics.median([w for _, w in samples]):.3f}"])
    cpu = [c for c, _ in reference]
    rows.append([f"(reference: back to {PREDICT[0]}, its results cached)",
                 f"{statistics.median(cpu):.0f}", f"{percentile(cpu, 0.95):.0f}",
                 f"{statistics.median([w for _, w in reference]):.3f}"])
    print(table(rows, ["page", "CPU median ms", "CPU p95 ms", "wall median s"]))
    cpu = [c for samples in visits.values() for c, _ in samples]
    wall = [w for samples in visits.values() for _, w in samples]
    figures = {"median_ms": statistics.median(cpu), "p95_ms": percentile(cpu, 0.95),
               "wall_p95_s": percentile(wall, 0.95)}
    print()
    print(table([[name, f"{value:.3g}", f"<= {TARGETS[name]}",
                  "ok" if value <= TARGETS[name] else "MISSED"]
                 for name, value in figures.items()],
                [f"all {len(cpu)} visits", "measured", "target", ""]))


def py_spy(server, path, stop):
    """py-spy on the server until `stop` is set (raw collapsed stacks into `path`)."""
    process = subprocess.Popen(
        ["taskset", "-c", CLIENT_CPUS, str(Path(sys.executable).with_name("py-spy")), "record",
         "--pid", str(server.process.pid), "--rate", "200", "--format", "raw",
         "--nonblocking", "--output", str(path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    stop.wait()
    process.send_signal(2)  # py-spy writes its file on SIGINT
    process.wait(timeout=60)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sentences", type=int, default=8)
    parser.add_argument("--py-spy", dest="profile", help="record the server into this file")
    args = parser.parse_args()
    print(f"`benchmarks/bench_pages.py --sentences {args.sentences}`, "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    for line in machine_lines(("streamlit", "keras", "tensorflow", "numpy", "plotly")):
        print(f"- {line}")
    pin_here()
    with tempfile.TemporaryDirectory() as logs, Server(logs) as server:
        stop, spy = threading.Event(), None
        if args.profile:
            spy = threading.Thread(target=py_spy, args=(server, args.profile, stop))
            spy.start()
            time.sleep(2)
        try:
            visits = measure(server, args.sentences)
        finally:
            stop.set()
            if spy:
                spy.join()
    print()
    report(visits)
    if args.profile:
        print()
        print(profile_table(args.profile, top=40)[0])


if __name__ == "__main__":
    main()
