"""Capacity of one app server, measured with Locust on the websocket protocol.

Run from the repository root:

    .venv/bin/python benchmarks/load_protocol.py --users 10,20,30,40 --seconds 120
    .venv/bin/python benchmarks/load_protocol.py --rss-minutes 10 --users 30
    .venv/bin/python benchmarks/load_protocol.py --validate

Every mode starts its own server (`streamlit run app.py` on a free loopback
port) pinned with `taskset -c 0` (its threads and children inherit it), and
pins this process, Locust (a `taskset -c 1` subprocess running
`benchmarks/locustfile.py` headless) and Chromium to CPU 1, so that the load
generator does not eat the server's core. Before the clock starts one
protocol user visits every page once, so the server has loaded and compiled
everything.

- sweep (default): for each user count a fresh server; all users open the app
  at once, then act every 3–5 s (`StudentUser`) for `--seconds`. It prints a
  Markdown table: users, interactions, p50 / p95 / max (nearest rank, over
  every interaction but opening the app), errors, server CPU-s per
  interaction (opening counted as one), the server's CPU use and the load
  average before / after. `--py-spy PATH` also profiles the server during the
  last count (py-spy, raw collapsed stacks into PATH) and prints its top
  functions.
- `--rss-minutes M`: one run of `--users` (the first count) for M minutes,
  the server's resident memory (process + children) sampled every 10 s:
  the curve, and the growth from minute 1 to the end.
- `--validate`: the same fixed script of actions (`--cycles` × click a
  token, change top-k, switch page and back, type a sentence, after opening
  the app and typing) by one Chromium session and by one protocol user,
  each against its own fresh server: server CPU-s per interaction of each
  and their ratio (the protocol client stands in for browsers when it is
  within 20 %).
"""

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
from bench_app import CHROMIUM, CHROMIUM_ARGS, DEFAULT_TOP_K, cpu_seconds, percentile, rss_mib  # noqa: E402
from common import machine_lines, table  # noqa: E402
from load_sessions import CHARTS_ARE, PREDICT, LoadSession, in_thread  # noqa: E402
from tools.appserver import free_port, server_command, stop_server, wait_healthy  # noqa: E402
from visitors import PAGES, Student  # noqa: E402

SERVER_CPUS, CLIENT_CPUS = "0", "1"
OPEN = "open the app"
TARGETS = {"errors": 0, "p95_s": 1.0, "rss_growth_pct": 10.0, "cpu_ratio_pct": 20.0}
LOCUST = [sys.executable, "-m", "locust", "-f", str(ROOT / "benchmarks" / "locustfile.py")]


# --- the server ------------------------------------------------------------------

class Server:
    """`streamlit run app.py` on a free port, pinned to `SERVER_CPUS`; a context
    manager that waits for health, warms every page up and stops it at the end."""

    def __init__(self, log_dir):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(Path(log_dir) / f"streamlit-{self.port}.log", "w")

    def __enter__(self):
        command = server_command(self.port)
        if shutil.which("taskset"):
            command = ["taskset", "-c", SERVER_CPUS, *command]
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=self.log,
                                        stderr=subprocess.STDOUT, env=env)
        try:
            wait_healthy(self.url, self.process)
            warm_up(self.url)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_):
        stop_server(self.process)
        self.log.close()

    def cpu(self):
        """CPU seconds the server (and its children) has used so far."""
        return cpu_seconds(self.process.pid)

    def rss(self):
        return rss_mib(self.process.pid)


def warm_up(url):
    """One protocol user opens the app and visits every page once."""
    student = Student(url, 0, timeout=180)
    try:
        student.open()
        for _ in PAGES:
            student.switch_page()
            student.turn += 1
    finally:
        student.close()


def pin_here():
    """Pin this process (and what it starts: Locust, Chromium) to `CLIENT_CPUS`."""
    if hasattr(os, "sched_setaffinity") and os.cpu_count() > 1:
        os.sched_setaffinity(0, {int(c) for c in CLIENT_CPUS.split(",")})


# --- one Locust run ----------------------------------------------------------------

def locust_run(server, users, seconds, out_dir, during=None):
    """Run `users` StudentUsers for `seconds` against `server` (all spawned
    at once). `during(server)`, if given, runs in a thread meanwhile.

    Returns:
        dict: `samples` ([user, kind, seconds, charts]), `failures` ([user,
        kind, message]), `cpu_s` (server CPU during the run), `duration_s`,
        `load_average` (1-minute, before and after), `locust_rc`.
    """
    summary = Path(out_dir) / f"locust-{users}.json"
    command = [*LOCUST, "--host", server.url, "--headless", "-u", str(users), "-r", str(users),
               "-t", f"{seconds:g}s", "--stop-timeout", "35", "--only-summary",
               "--summary-file", str(summary)]
    load_before, cpu_before, start = os.getloadavg()[0], server.cpu(), time.monotonic()
    worker = threading.Thread(target=during, args=(server,), daemon=True) if during else None
    if worker:
        worker.start()
    with open(Path(out_dir) / f"locust-{users}.log", "w") as log:
        rc = subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT).returncode
    duration, cpu = time.monotonic() - start, server.cpu() - cpu_before
    if worker:
        worker.join()
    if not summary.exists():
        raise RuntimeError(f"locust wrote no summary (exit {rc}); see {log.name}")
    raw = json.loads(summary.read_text())
    return {**raw, "cpu_s": cpu, "duration_s": duration, "locust_rc": rc,
            "load_average": (load_before, os.getloadavg()[0])}


def summarise(users, run):
    """A row's figures from `locust_run`'s result."""
    timed = [s[2] for s in run["samples"] if s[1] != OPEN]
    count = len(run["samples"])
    return {
        "users": users,
        "interactions": len(timed),
        "opens": count - len(timed),
        "p50_s": statistics.median(timed) if timed else None,
        "p95_s": percentile(timed, 0.95) if timed else None,
        "max_s": max(timed) if timed else None,
        "errors": len(run["failures"]),
        "cpu_per_interaction": run["cpu_s"] / count if count else None,
        "cpu_use_pct": 100 * run["cpu_s"] / run["duration_s"],
        "load_average": run["load_average"],
        "users_acting": len({s[0] for s in run["samples"] if s[1] != OPEN}),
        "charts_checked": sum(s[3] for s in run["samples"]),
        "failures": run["failures"],
    }


def fmt(value, pattern):
    return "n/a" if value is None else format(value, pattern)


def sweep_table(rows):
    header = ["users", "interactions (+ opens)", "p50 (s)", "p95 (s)", "max (s)", "errors",
              "server CPU-s / interaction", "server CPU use", "load avg before → after"]
    body = [[r["users"], f"{r['interactions']} (+{r['opens']})", fmt(r["p50_s"], ".2f"),
             fmt(r["p95_s"], ".2f"), fmt(r["max_s"], ".2f"), r["errors"],
             fmt(r["cpu_per_interaction"], ".3f"), f"{r['cpu_use_pct']:.0f} %",
             f"{r['load_average'][0]:.2f} → {r['load_average'][1]:.2f}"] for r in rows]
    return table(body, header)


def largest_within(rows):
    ok = [r["users"] for r in rows
          if r["errors"] == 0 and r["p95_s"] is not None and r["p95_s"] <= TARGETS["p95_s"]]
    return max(ok) if ok else None


def sweep(counts, seconds, log_dir, profile=None):
    rows = []
    for i, users in enumerate(counts):
        during = None
        if profile and i == len(counts) - 1:
            during = lambda server: py_spy(server, profile, seconds)  # noqa: E731
        with Server(log_dir) as server:
            rows.append(summarise(users, locust_run(server, users, seconds, log_dir, during)))
    return rows


# --- profile ---------------------------------------------------------------------------

def py_spy(server, path, seconds):
    """Record the server's threads with py-spy (raw collapsed stacks into `path`)
    during the middle of the run."""
    time.sleep(min(15, seconds / 4))
    subprocess.run(["taskset", "-c", CLIENT_CPUS, str(Path(sys.executable).with_name("py-spy")),
                    "record", "--pid", str(server.process.pid), "--duration",
                    str(int(seconds / 2)), "--rate", "50", "--format", "raw", "--nonblocking",
                    "--output", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                   check=False)


def profile_table(path, top=15):
    """The functions with the most samples on the stack (inclusive) and on top
    (self) in py-spy's raw output (busy threads only), as a Markdown table."""
    inclusive, own, total = {}, {}, 0
    plumbing = ("(threading.py", "(concurrent/futures/thread.py", "<module>")
    for line in Path(path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        total += int(count)
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + int(count)
        own[frames[-1]] = own.get(frames[-1], 0) + int(count)
    ranked = sorted(inclusive.items(), key=lambda kv: -kv[1])
    rows = [[f"`{frame[:110]}`", f"{100 * n / total:.0f} %", f"{100 * own.get(frame, 0) / total:.0f} %"]
            for frame, n in ranked if not any(p in frame for p in plumbing)][:top]
    return table(rows, ["function (file:line)", "on the stack", "on top"]), total


# --- memory over a long run -----------------------------------------------------------------

def rss_run(users, minutes, log_dir):
    """`users` StudentUsers for `minutes`; the server's RSS every 10 s."""
    curve = []

    def sample(server):
        start = time.monotonic()
        while server.process.poll() is None and time.monotonic() - start < 60 * minutes + 5:
            curve.append((time.monotonic() - start, server.rss()))
            time.sleep(10)

    with Server(log_dir) as server:
        row = summarise(users, locust_run(server, users, 60 * minutes, log_dir, sample))
    return row, curve


def rss_report(row, curve):
    after_first = next((mib for t, mib in curve if t >= 60), None)
    end = curve[-1][1]
    growth = 100 * (end - after_first) / after_first if after_first else None
    rows = [[f"{t:.0f}", f"{mib:.0f}"] for t, mib in curve]
    verdict = "ok" if growth is not None and growth <= TARGETS["rss_growth_pct"] else "MISSED"
    return "\n".join([
        sweep_table([row]), "",
        f"Server RSS (process + children), MiB: {curve[0][1]:.0f} at the start, "
        f"{after_first:.0f} after minute 1, {end:.0f} at the end, peak "
        f"{max(m for _, m in curve):.0f}; growth after minute 1: {fmt(growth, '+.1f')} % "
        f"(target ≤ {TARGETS['rss_growth_pct']:g} %: {verdict}).", "",
        table(rows, ["s", "RSS (MiB)"]),
    ])


# --- protocol vs Chromium -----------------------------------------------------------------------

SCRIPT = ("click a token", "change top-k", "switch page", "type a sentence")


def protocol_script(server, cycles):
    """The fixed script by one protocol user; returns (interactions, server CPU-s, s)."""
    student = Student(server.url, 1, timeout=120)
    try:
        student.open()
        student.type_sentence()
        before, start = server.cpu(), time.monotonic()
        count = sum(len(student.act(action)) for _ in range(cycles) for action in SCRIPT)
        return count, server.cpu() - before, time.monotonic() - start
    finally:
        student.close()


class BrowserStudent(LoadSession):
    """`load_sessions.LoadSession` with a top-k slider and the charts' bars checked
    against the current top-k."""

    top_k = DEFAULT_TOP_K

    async def predict_shown(self):
        await self.wait(CHARTS_ARE, [PREDICT[1], self.expected_titles(), self.top_k])

    async def change_top_k(self):
        up = self.top_k == DEFAULT_TOP_K
        self.top_k += 1 if up else -1
        slider = self.page.locator("[data-testid=stSlider]", has_text="Top-k").get_by_role("slider")
        await slider.focus()
        key = "ArrowRight" if up else "ArrowLeft"
        await self.timed("change top-k", lambda: self.page.keyboard.press(key), self.predict_shown)

    async def act(self, action):
        if action == "switch page":
            names = list(PAGES)
            await self.switch_page(names[(self.number + self.turn) % len(names)])
        else:
            await {"click a token": self.click_token, "change top-k": self.change_top_k,
                   "type a sentence": self.type_sentence}[action]()


async def browser_script(server, cycles):
    """The fixed script by one Chromium session; returns (interactions, server CPU-s, s)."""
    from playwright.async_api import async_playwright
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            session = BrowserStudent(await browser.new_context(), 1, server.url)
            await session.open()  # opens the app and types the first sentence
            before, done, start = server.cpu(), len(session.samples), time.monotonic()
            for _ in range(cycles):
                for action in SCRIPT:
                    await session.act(action)
            return len(session.samples) - done, server.cpu() - before, time.monotonic() - start
        finally:
            await browser.close()


IDLE_S = 10  # how long the server's idle CPU is measured before each script


def idle_rate(server):
    """The server's CPU-s per second with no session acting (its timers and watchers)."""
    before = server.cpu()
    time.sleep(IDLE_S)
    return (server.cpu() - before) / IDLE_S


def validate(cycles, log_dir):
    """For the script by Chromium and by the protocol user: (interactions, server
    CPU-s, seconds, the server's idle CPU-s per second)."""
    results = {}
    load_before = os.getloadavg()[0]
    with Server(log_dir) as server:
        idle = idle_rate(server)
        results["Chromium (Playwright)"] = (*in_thread(
            lambda: asyncio.run(browser_script(server, cycles))), idle)
    with Server(log_dir) as server:
        idle = idle_rate(server)
        results["protocol client"] = (*protocol_script(server, cycles), idle)
    return results, (load_before, os.getloadavg()[0])


def validate_report(results, load_average):
    per = {name: cpu / count for name, (count, cpu, _, _) in results.items()}
    busy = {name: (cpu - idle * seconds) / count
            for name, (count, cpu, seconds, idle) in results.items()}
    ratio = per["protocol client"] / per["Chromium (Playwright)"]
    busy_ratio = busy["protocol client"] / busy["Chromium (Playwright)"]
    verdict = "ok" if abs(ratio - 1) * 100 <= TARGETS["cpu_ratio_pct"] else "MISSED"
    rows = [[name, count, f"{seconds:.1f}", f"{cpu:.2f}", f"{idle:.3f}", f"{per[name]:.3f}",
             f"{busy[name]:.3f}"]
            for name, (count, cpu, seconds, idle) in results.items()]
    return "\n".join([
        table(rows, ["client", "interactions", "script s", "server CPU-s", "idle CPU-s / s",
                     "server CPU-s / interaction", "less idle CPU"]), "",
        f"protocol / Chromium: {ratio:.2f} (target within ±{TARGETS['cpu_ratio_pct']:g} %: "
        f"{verdict}); less the server's idle CPU over each script's duration: "
        f"{busy_ratio:.2f}; load average (1 min) before / after: {load_average[0]:.2f} / "
        f"{load_average[1]:.2f}",
    ])


# --- command line -------------------------------------------------------------------------

def header(command):
    lines = [f"- {line}" for line in machine_lines(("streamlit", "locust", "websocket-client",
                                                     "tensorflow", "keras"))]
    lines += [
        f"- bench: `{command}`",
        f"- server: `taskset -c {SERVER_CPUS} python -m streamlit run app.py ...` (its threads "
        f"and children inherit CPU {SERVER_CPUS}); Locust, this process and Chromium on "
        f"`taskset -c {CLIENT_CPUS}`",
    ]
    return "\n".join(lines)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", default="10,20,30,40", help="comma-separated user counts")
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--rss-minutes", type=float, help="one long run: RSS every 10 s")
    parser.add_argument("--validate", action="store_true", help="protocol vs Chromium CPU")
    parser.add_argument("--cycles", type=int, default=6, help="--validate: script repetitions")
    parser.add_argument("--py-spy", dest="profile", help="profile the last count into this file")
    args = parser.parse_args()
    try:
        args.counts = [int(c) for c in args.users.split(",")]
    except ValueError:
        parser.error(f"--users takes numbers separated by commas, not {args.users!r}")
    if min(args.counts) < 1 or args.seconds <= 0 or args.cycles < 1:
        parser.error("user counts and --cycles must be at least 1, --seconds positive")
    if args.validate and not Path(CHROMIUM).exists():
        parser.error(f"--validate needs {CHROMIUM} (apt-get install chromium)")
    return args


def main():
    args = parse_args()
    pin_here()
    log_dir = Path(tempfile.mkdtemp(prefix="load-protocol-"))
    command = " ".join([os.path.relpath(sys.executable, ROOT), *sys.argv])
    print(header(command) + f"\n- logs: {log_dir}\n")
    if args.validate:
        print(validate_report(*validate(args.cycles, log_dir)))
    elif args.rss_minutes:
        print(rss_report(*rss_run(args.counts[0], args.rss_minutes, log_dir)))
    else:
        rows = sweep(args.counts, args.seconds, log_dir, args.profile)
        print(sweep_table(rows))
        print(f"\nLargest users with 0 errors and p95 ≤ {TARGETS['p95_s']:g} s: "
              f"{largest_within(rows) or 'none of these'}")
        for row in rows:
            for user, kind, message in row["failures"][:10]:
                print(f"- {row['users']} users, user {user}, {kind}: {message[:300]}")
        if args.profile:
            profile, samples = profile_table(args.profile)
            print(f"\npy-spy on the server at {rows[-1]['users']} users ({samples} samples "
                  f"of busy threads):\n\n{profile}")


if __name__ == "__main__":
    main()
