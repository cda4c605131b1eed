"""Many users at once: concurrent browser sessions against one app server.

Run from the repository root:

    .venv/bin/python benchmarks/load_sessions.py                           # 16 sessions, 60 s
    .venv/bin/python benchmarks/load_sessions.py --sessions 4 --seconds 10

It starts `python -m streamlit run app.py` on a free loopback port (or uses
`--url` of a running one) and walks every page once in one session, so the
server has loaded and compiled everything. Then N browser contexts on one
Debian Chromium (/usr/bin/chromium; Playwright's async API, one event loop)
open the app at once, each types its own sentence ("session 3: ..."), and
each acts as its own user, without pauses, until the time is up:

1. click a token pill to mask it (or, with two clicked, one to unmask it),
   wait for the charts of exactly the expected masks;
2. switch to another page with the sidebar navigation (each in turn, each
   session starting at a different one), wait for its title and its first
   chart; switch back to Predict, wait for the charts of exactly the
   expected masks;
3. type the next sentence with a mask, press Enter, wait for the charts of
   exactly the expected masks.

Each interaction is timed from the key press or click to the expected content
in the page. After it, once the script run has finished, the session checks for
errors: an exception box, an `st.error` box, a time-out (30 s), or lost state
(the text box must hold the session's own text and its clicked pills must
still be pressed). After an error the session starts over on a fresh page.
It prints a Markdown report: interactions, errors, p50 / p95 latency, the
server's resident memory (process + children, /proc) after warm-up and at the
end, and the CPU the server and the browsers used. `run()` returns the numbers
as a dict.
"""

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

from playwright.async_api import async_playwright

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]
from bench_app import (  # noqa: E402
    CHROMIUM, CHROMIUM_ARGS, IDLE, PILL, SENTENCES, RssSampler, Sentence, default_text,
    descendants, percentile, rss_mib,
)
from common import machine_lines, table  # noqa: E402
from tools.appserver import (  # noqa: E402
    free_port, server_command, start_server, stop_server, wait_healthy,
)

ROOT = Path(__file__).resolve().parents[1]
TOP_K = 5  # the Predict page's default: every chart shows 5 bars
TIMEOUT_MS = 30_000  # an interaction slower than this counts as an error
OPEN_TIMEOUT_MS = 180_000  # opening the app (all sessions at once) may take longer
POLL_MS = 50  # how often the page is checked for the expected content
PROBLEMS = "[data-testid=stException], [data-testid=stAlertContentError]"
# Sidebar name -> (the page's title, the key of a chart it always draws).
PAGES = {
    "Head anatomy": ("Inside the head", "anatomy_vectors"),
    "Hidden states": ("Gathered hidden states", "batch-heatmap"),
    "Embedding similarity": ("Embedding similarity", "embeddings_similarity"),
    "Logit lens": ("Logit lens", "lens_lines"),
    "Masking lab": ("Masking lab", "pll_strip"),
    "Compare checkpoints": ("Compare two checkpoints", "compare_bars"),
}
PREDICT = ("Predict", "Fill the mask")  # its sidebar name and title
WITHOUT_PILLS = ("Masking lab",)  # pages that select their own tokens and draw no pills
TARGETS = {"errors": 0, "p95_s": 2.0, "rss_growth_pct": 10.0}

# True when the page titled `page` shows exactly the charts titled `titles`,
# each with `bars` bars and drawn (not collapsed).
CHARTS_ARE = """([page, titles, bars]) => {
  const heading = document.querySelector('h1');
  const charts = [...document.querySelectorAll('[data-testid=stPlotlyChart]')];
  const shown = charts.map(chart => chart.querySelector('.gtitle')?.textContent);
  return heading && heading.textContent.trim() === page
    && shown.length === titles.length && titles.every(title => shown.includes(title))
    && charts.every(chart => chart.querySelectorAll('.bars .point').length === bars
                             && chart.getBoundingClientRect().height > 0);
}"""
# True when the page titled `title` shows its chart with key `key`.
PAGE_IS = """([title, key]) => {
  const heading = document.querySelector('h1');
  const chart = document.querySelector(`.st-key-${key} [data-testid=stPlotlyChart] .main-svg`);
  return heading && heading.textContent.trim() === title
    && chart && chart.getBoundingClientRect().height > 0;
}"""
# Indices of the pressed pills.
PRESSED = f"""() => [...document.querySelectorAll('{PILL}')]
  .flatMap((button, index) => button.getAttribute('aria-pressed') === 'true' ? [index] : [])"""


class Mismatch(Exception):
    """The page does not show what the session expects."""


def session_sentences(number):
    """The sentences session `number` types in turn, each starting "session N:"."""
    sentences = [Sentence(f"session {number}: {text}") for text in SENTENCES]
    first = Sentence(default_text())
    for current, following in zip([first, *sentences], sentences + sentences[:1]):
        # Each sentence's mask chart must differ from the one before it, so
        # that waiting for it cannot be satisfied by the old page.
        assert len(following.masks) == 1 and following.masks != current.masks, following.text
    return sentences


def chart_title(sentence, position):
    return f"Position {position}: {sentence.tokens[position]}"


class LoadSession:
    """One simulated user: a browser context, its own text and clicked tokens.

    `samples` collects `(kind, seconds)` per interaction; `errors` a line per
    problem. A problem is followed by a fresh start of the session.
    """

    def __init__(self, context, number, base_url):
        self.context, self.number, self.base_url = context, number, base_url
        self.sentences = session_sentences(number)
        self.random = random.Random(number)
        self.sentence, self.picked, self.turn = Sentence(default_text()), set(), 0
        self.page, self.timeout_ms = None, TIMEOUT_MS
        self.samples, self.errors = [], []

    # --- what the page must show -------------------------------------------------

    def expected_titles(self):
        positions = sorted(set(self.sentence.masks) | self.picked)
        return [chart_title(self.sentence, p) for p in positions]

    async def wait(self, script, arg):
        await self.page.wait_for_function(script, arg=arg, timeout=self.timeout_ms, polling=POLL_MS)

    async def predict_shown(self):
        await self.wait(CHARTS_ARE, [PREDICT[1], self.expected_titles(), TOP_K])

    async def idle(self):
        await self.page.wait_for_selector(IDLE, timeout=self.timeout_ms)
        await self.page.wait_for_function(
            "() => !document.querySelector('[data-testid=stSkeleton]')",
            timeout=self.timeout_ms, polling=POLL_MS,
        )

    async def check(self, where):
        """After a run: no error box, and the text and clicked pills kept (on the pages
        that draw pills; the others must draw none)."""
        problems = await self.page.locator(PROBLEMS).all_inner_texts()
        if problems:
            raise Mismatch(f"{where}: error box: {problems[0][:200]!r}")
        text = await self.page.get_by_label("Text", exact=True).input_value(timeout=TIMEOUT_MS)
        if text != self.sentence.text:
            raise Mismatch(f"{where}: the text box shows {text!r}, not {self.sentence.text!r}")
        pressed = await self.page.evaluate(PRESSED)
        expected = sorted(self.sentence.pills.index(p) for p in self.picked | {*self.sentence.masks})
        if where.removeprefix("to ") in WITHOUT_PILLS:
            expected = []
        if pressed != expected:
            raise Mismatch(f"{where}: pills {pressed} are pressed, not {expected}")

    # --- interactions -------------------------------------------------------------

    async def timed(self, kind, act, shown):
        """Time `act()` → `shown()`; then wait for the run's end and check the page."""
        start = time.perf_counter()
        await act()
        await shown()
        self.samples.append((kind, time.perf_counter() - start))
        await self.idle()
        await self.check(kind)

    async def click(self, locator):
        """A mouse click at the centre of `locator` (found before the clock starts)."""
        box = await locator.bounding_box(timeout=TIMEOUT_MS)
        if box is None:
            raise Mismatch(f"{locator} is not visible")
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        return lambda: self.page.mouse.click(x, y)

    async def open(self):
        """A fresh page on the app (its default sentence), then the session's sentence."""
        if self.page is not None:
            page, self.page = self.page, None
            with contextlib.suppress(Exception):  # it may have crashed
                await page.close()
        self.page = await self.context.new_page()
        self.sentence, self.picked = Sentence(default_text()), set()
        self.timeout_ms = OPEN_TIMEOUT_MS
        try:
            goto = lambda: self.page.goto(self.base_url, timeout=OPEN_TIMEOUT_MS)  # noqa: E731
            await self.timed("open the app", goto, self.predict_shown)
        finally:
            self.timeout_ms = TIMEOUT_MS
        await self.type_sentence()

    async def type_sentence(self):
        sentence = self.sentences[self.turn % len(self.sentences)]
        self.turn += 1
        box = self.page.get_by_label("Text", exact=True)
        await box.fill(sentence.text, timeout=TIMEOUT_MS)
        self.sentence = sentence
        self.picked = {p for p in self.picked if p in sentence.words}
        await self.timed("type a sentence", lambda: box.press("Control+Enter"), self.predict_shown)

    async def click_token(self):
        """Mask one more word, or unmask one when two are masked already."""
        if len(self.picked) >= 2:
            position = min(self.picked)
            self.picked.discard(position)
        else:
            words = [p for p in self.sentence.words[3:] if p not in self.picked]  # not "session N:"
            position = self.random.choice(words)
            self.picked.add(position)
        pill = self.page.locator(PILL).nth(
            self.sentence.pills.index(position)
        )
        await self.timed("click a token", await self.click(pill), self.predict_shown)

    async def switch_page(self, name):
        """Another page from the sidebar, then back to Predict."""
        nav = self.page.get_by_test_id("stSidebarNav")
        link = nav.get_by_role("link", name=name, exact=True)
        title, key = PAGES[name]
        shown = lambda: self.wait(PAGE_IS, [title, key])  # noqa: E731
        await self.timed(f"to {name}", await self.click(link), shown)
        back = nav.get_by_role("link", name=PREDICT[0], exact=True)
        await self.timed("back to Predict", await self.click(back), self.predict_shown)

    # --- the user's loop ----------------------------------------------------------

    async def start(self):
        """Open the app; returns whether that worked (else the error is recorded)."""
        try:
            await self.open()
            return True
        except Exception as error:  # a time-out, a mismatch, a crashed page
            self.errors.append(f"session {self.number}: {one_line(error)}")
            return False

    async def run(self, deadline, opened=True):
        """Interact until `deadline` (`time.monotonic`); after a problem, start over."""
        names = list(PAGES)  # each session starts at another page, so short runs see them all
        steps = [self.click_token,
                 lambda: self.switch_page(names[(self.number + self.turn) % len(names)]),
                 self.type_sentence]
        step, fresh = 0, not opened
        while time.monotonic() < deadline:
            try:
                if fresh:
                    await self.open()
                    fresh = False
                    continue
                await steps[step % len(steps)]()
                step += 1
            except Exception as error:  # a time-out, a mismatch, a crashed page
                self.errors.append(f"session {self.number}: {one_line(error)}")
                fresh = True


def one_line(error):
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:300] if text else ''}"


# --- the server -------------------------------------------------------------------

def listening_pid(port):
    """Id of the process listening on loopback TCP `port` (found through /proc), or None."""
    inodes = set()
    for table_file in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table_file).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # LISTEN
                inodes.add(fields[9])
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            links = {os.readlink(fd) for fd in (entry / "fd").iterdir()}
        except OSError:
            continue
        if any(f"socket:[{inode}]" in links for inode in inodes):
            return int(entry.name)
    return None


def cpu_seconds(pids):
    """User + system CPU seconds used so far by the processes `pids`."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def cpu_split(server_pid):
    """CPU seconds used so far by the server and its children, and by this
    process and its other children (Playwright's driver and Chromium)."""
    server = set(descendants(server_pid)) if server_pid else set()
    browser = set(descendants(os.getpid())) - server
    return cpu_seconds(server), cpu_seconds(browser)


# --- one run -----------------------------------------------------------------------

async def warm_up(browser, base_url):
    """Visit every page once in one session, so the server has loaded and compiled all."""
    context = await browser.new_context()
    try:
        session = LoadSession(context, 0, base_url)
        await session.open()
        for name in PAGES:
            await session.switch_page(name)
    finally:
        await context.close()


async def drive(sessions, seconds, base_url, server_pid, warm):
    """Warm up, open `sessions` users at once, let them interact for `seconds`.

    Returns:
        dict: `users` (the `LoadSession`s), `opening` (seconds until every
        session showed the app), `duration` (seconds of interaction), `memory`
        (the server's RSS in MiB: `start` after warm-up, `end`, `peak`) and
        `cpu` (CPU seconds of the server and of the browser side during the
        interactions).
    """
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        sampler = RssSampler(server_pid) if server_pid else None
        try:
            if warm:
                await warm_up(browser, base_url)
            memory = {"start": rss_mib(server_pid) if server_pid else None}
            if sampler:
                sampler.start()
            users = [
                LoadSession(await browser.new_context(), number, base_url)
                for number in range(1, sessions + 1)
            ]
            opening = time.monotonic()
            opened = await asyncio.gather(*(user.start() for user in users))  # all at once
            cpu_before, start = cpu_split(server_pid), time.monotonic()
            deadline = start + seconds
            await asyncio.gather(*(user.run(deadline, ok) for user, ok in zip(users, opened)))
            duration = time.monotonic() - start
            cpu = [after - before for after, before in zip(cpu_split(server_pid), cpu_before)]
            if sampler:  # while the sessions are still connected
                sampler.stop()
                memory.update(end=rss_mib(server_pid), peak=sampler.peak)
        finally:
            if sampler and sampler.is_alive():
                sampler.stop()
            await browser.close()
    return {"users": users, "opening": start - opening, "duration": duration, "memory": memory,
            "cpu": cpu}


def in_thread(function):
    """`function()` in a new thread (its own asyncio loop, whatever runs in
    the caller's thread, e.g. pytest-playwright's sync API); returns its result."""
    outcome = {}

    def target():
        try:
            outcome["value"] = function()
        except BaseException as error:  # re-raised in the caller
            outcome["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def summarise(raw, seconds):
    """The results dict of `run` from `drive`'s."""
    users, memory, cpu = raw["users"], raw["memory"], raw["cpu"]
    samples = [s for user in users for s in user.samples]
    timed = [t for kind, t in samples if kind != "open the app"]
    kinds = {}
    for kind, seconds_taken in samples:
        kinds.setdefault(kind, []).append(seconds_taken)
    start, end = memory.get("start"), memory.get("end")
    return {
        "sessions": len(users),
        "seconds": seconds,
        "opening_s": raw["opening"],
        "duration_s": raw["duration"],
        "interactions": len(timed),
        "per_session": [sum(k != "open the app" for k, _ in user.samples) for user in users],
        "errors": [line for user in users for line in user.errors],
        "p50_s": statistics.median(timed) if timed else None,
        "p95_s": percentile(timed, 0.95) if timed else None,
        "by_kind": kinds,
        "rss_start_mib": start,
        "rss_end_mib": end,
        "rss_peak_mib": memory.get("peak"),
        "rss_growth_pct": 100 * (end - start) / start if start and end else None,
        "cpu_s": {"server": cpu[0], "browser": cpu[1]},  # during the interactions
    }


def run(sessions=16, seconds=60, base_url=None, warm=True):
    """Drive `sessions` concurrent browser sessions for `seconds` against the app.

    Args:
        sessions: simulated users, one browser context each.
        seconds: how long they keep interacting (an interaction under way
            when the time is up is finished).
        base_url: a running server's URL; None starts one on a free port
            (and stops it afterwards).
        warm: visit every page once before the clock starts.

    Returns:
        dict with `sessions`, `seconds`, `opening_s` (until every session
        had opened the app), `duration_s` (of interaction), `interactions` (not
        counting opening the app), `per_session` (interactions of each),
        `errors` (one line each), `p50_s`, `p95_s` (over the interactions),
        `by_kind` (kind -> seconds, opening the app included), the server's
        `rss_start_mib` (after warm-up), `rss_end_mib`, `rss_peak_mib`,
        `rss_growth_pct` (None where the server's process is not found) and
        `cpu_s` (CPU seconds of the server and of the browser during the run),
        `load_average` (the machine's 1-minute load before and after).
    """
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing (apt-get install chromium)")
    process, load_before = None, os.getloadavg()[0]
    if base_url is None:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        log = Path(tempfile.mkdtemp(prefix="load-sessions-")) / "streamlit.log"
        with open(log, "w") as out:
            process = start_server(port, out)
    try:
        if process is not None:
            wait_healthy(base_url, process)
        server_pid = process.pid if process else listening_pid(urlparse(base_url).port)
        raw = in_thread(lambda: asyncio.run(drive(sessions, seconds, base_url, server_pid, warm)))
    finally:
        if process is not None:
            stop_server(process)
    return {**summarise(raw, seconds), "load_average": (load_before, os.getloadavg()[0])}


# --- report ------------------------------------------------------------------------

def met(value, limit):
    return "" if value is None else ("ok" if value <= limit else "MISSED")


def fmt(value, pattern):
    return "n/a" if value is None else format(value, pattern)


def summary_table(results):
    per_session = results["per_session"]
    rss = results["rss_start_mib"], results["rss_end_mib"], results["rss_peak_mib"]
    rows = [
        ["sessions", results["sessions"], "", ""],
        ["duration (s)", f"{results['duration_s']:.1f} (asked {results['seconds']:g})", "", ""],
        ["interactions done", f"{results['interactions']} (per session {min(per_session)}–"
                              f"{max(per_session)})", "", ""],
        ["errors", len(results["errors"]), "0", met(len(results["errors"]), TARGETS["errors"])],
        ["interaction p50 (s)", fmt(results["p50_s"], ".2f"), "", ""],
        ["interaction p95 (s)", fmt(results["p95_s"], ".2f"), f"≤ {TARGETS['p95_s']:g} s",
         met(results["p95_s"], TARGETS["p95_s"])],
        ["server RSS after warm-up → end (peak), MiB",
         f"{fmt(rss[0], '.0f')} → {fmt(rss[1], '.0f')} ({fmt(rss[2], '.0f')})", "", ""],
        ["server RSS growth", f"{fmt(results['rss_growth_pct'], '+.1f')} %",
         f"≤ {TARGETS['rss_growth_pct']:g} %",
         met(results["rss_growth_pct"], TARGETS["rss_growth_pct"])],
    ]
    return table(rows, ["measure", "value", "target", "met"])


def kind_table(results):
    rows = []
    for kind, times in results["by_kind"].items():
        rows.append([kind, len(times), f"{statistics.median(times):.2f}",
                     f"{percentile(times, 0.95):.2f}", f"{max(times):.2f}"])
    return table(rows, ["interaction", "n", "p50 (s)", "p95 (s)", "max (s)"])


def report(results, command):
    """The Markdown report of a `run`."""
    cpu = results["cpu_s"]
    per = {side: seconds / max(results["interactions"], 1) for side, seconds in cpu.items()}
    lines = ["# Load: concurrent browser sessions against one app server", ""]
    packages = ("streamlit", "playwright", "tensorflow", "keras")
    lines += [f"- {line}" for line in machine_lines(packages)]
    lines += [
        "- load average (1 min) before / after the run: "
        f"{results['load_average'][0]:.2f} / {results['load_average'][1]:.2f}",
        f"- bench: `{command}`",
        f"- server: `{' '.join(['python', *server_command('PORT')[1:]])}`",
        f"- browser: {CHROMIUM} {' '.join(CHROMIUM_ARGS)}, headless, one browser context "
        "per session, Playwright async API",
        f"- all {results['sessions']} sessions opened the app at once; the last was ready "
        f"after {results['opening_s']:.1f} s; then the {results['seconds']:g} s began",
        f"- CPU seconds during the interactions: server {cpu['server']:.0f} ({per['server']:.2f} "
        f"per interaction), browser side (Chromium, Playwright, this process) "
        f"{cpu['browser']:.0f} ({per['browser']:.2f} per interaction), of "
        f"{results['duration_s'] * os.cpu_count():.0f} available ({os.cpu_count()} cores)",
        "",
        summary_table(results),
        "",
        "p50 / p95 are over every interaction but opening the app (nearest-rank percentile), "
        "timed from the key press or click to the expected charts / page title in the DOM "
        f"(checked every {POLL_MS} ms). Per kind:",
        "",
        kind_table(results),
    ]
    if results["errors"]:
        lines += ["", f"Errors ({len(results['errors'])}, the first 20):", ""]
        lines += [f"- {line}" for line in results["errors"][:20]]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--url", help="a running server (default: start one)")
    args = parser.parse_args()
    if args.sessions < 1 or args.seconds <= 0:
        parser.error("--sessions must be at least 1 and --seconds positive")
    results = run(args.sessions, args.seconds, args.url)
    print(report(results, " ".join([os.path.relpath(sys.executable, ROOT), *sys.argv])))


if __name__ == "__main__":
    main()
