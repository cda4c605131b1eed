"""The app as a user meets it: cold start, interaction latency and server memory.

Run from the repository root:

    .venv/bin/python benchmarks/bench_app.py            # 3 cold starts, 36 interactions
    .venv/bin/python benchmarks/bench_app.py --quick    # 1 cold start, 9 interactions
    .venv/bin/python benchmarks/bench_app.py --page-switch  # also Predict → Logit lens → back

It starts `python -m streamlit run app.py` on a free loopback port, drives
Debian's Chromium (/usr/bin/chromium) with Playwright on the Predict page and
prints a Markdown report:

1. cold start: seconds from launching the server to /_stcore/health answering
   and to the first prediction chart drawn (bars in the SVG), each run with a
   fresh server process;
2. interaction latency on the last (now warm) server: typing a new sentence,
   clicking a token pill, changing top-k; timed from the key press or click
   to the chart showing the new result;
3. the server's CPU time per interaction (user + system seconds of its process
   and children from /proc/<pid>/stat, before and after the interactions,
   divided by their number): what decides how many users one machine serves;
4. the server's resident memory (its process and children), sampled every 0.2 s
   from /proc/<pid>/status.

`--app-dir DIR` (repeatable) measures the app of other checkouts too, one
after the other in the same run, with this bench and this environment: e.g.
a clone at an older commit, for a side-by-side comparison.
"""

import argparse
import math
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import tokenizers
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
from common import machine_lines, table  # noqa: E402
from tools.appserver import (  # noqa: E402
    free_port, server_command, start_server, stop_server, wait_healthy,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu"]
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"
MASK = "[MASK]"
DEFAULT_TOP_K = 5
# The token pills (the help icon in the same group is a button without aria-pressed).
PILL = "[data-testid=stButtonGroup] button[aria-pressed]"
TIMEOUT_MS = 180_000
# Sentences typed in turn (see check_sentences). The pill clicked is at the
# next sentence's mask position, so typing that sentence drops it again.
SENTENCES = [
    "a cat sat on my [MASK] by the window.",
    "we walked to the [MASK] in heavy rain.",
    "she put the milk in the [MASK] before dinner.",
    "my brother is a [MASK] at the local hospital.",
    "the [MASK] was full of children and their parents.",
    "they went to a beach and swam in the [MASK].",
    "he read a [MASK] about the history of the city.",
    "the old man sat on a bench in the [MASK].",
    "the dog ran across the [MASK] to catch the ball.",
    "the teacher wrote the answer on the [MASK] for everyone.",
    "i need a new [MASK] for my birthday party tonight.",
    "we ate [MASK] and rice for lunch on sunday.",
]
TARGETS = {
    "interaction p50": "≤ 120 ms",
    "interaction p95": "≤ 250 ms",
    "cold start": "≤ 10 s",
    "server peak RSS": "≤ 1 GB (1024 MiB)",
}


# --- the server and its memory ----------------------------------------------

def descendants(pid):
    """`pid` and all its descendant process ids, read from /proc/*/stat."""
    children = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def rss_mib(pid):
    """Resident memory of `pid` and its descendants in MiB (VmRSS)."""
    total_kib = 0
    for member in descendants(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total_kib += int(line.split()[1])
    return total_kib / 1024


def cpu_seconds(pid):
    """User + system CPU seconds used so far by `pid` and its descendants."""
    ticks = 0
    for member in descendants(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks / os.sysconf("SC_CLK_TCK")


class RssSampler(threading.Thread):
    """Samples `rss_mib(pid)` every `interval` s; `peak` holds the largest."""

    def __init__(self, pid, interval=0.2):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak = pid, interval, 0.0
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.is_set():
            self.peak = max(self.peak, rss_mib(self.pid))
            self._stop_event.wait(self.interval)

    def stop(self):
        self._stop_event.set()
        self.join()
        self.peak = max(self.peak, rss_mib(self.pid))


# --- waiting for results in the page ------------------------------------------

# True when a chart titled `title` shows `bars` bars (polled every frame).
CHART_WITH_TITLE = """([title, bars]) => [...document.querySelectorAll('[data-testid=stPlotlyChart]')]
  .some(chart => {
    const heading = chart.querySelector('.gtitle');
    return heading && heading.textContent === title
      && chart.querySelectorAll('.bars .point').length === bars
      && chart.getBoundingClientRect().height > 0;
  })"""
# True when all charts together show `total` bars.
BAR_TOTAL = """(total) =>
  document.querySelectorAll('[data-testid=stPlotlyChart] .bars .point').length === total"""


TITLES = """() => [...document.querySelectorAll('[data-testid=stPlotlyChart] .gtitle')]
  .map(heading => heading.textContent)"""


def wait_for(page, script, arg, expected):
    """`page.wait_for_function`; on a time-out, say what the page shows instead."""
    try:
        page.wait_for_function(script, arg=arg, timeout=TIMEOUT_MS)
    except PlaywrightTimeout:
        raise RuntimeError(f"waited for {expected}; the charts are {page.evaluate(TITLES)}") from None


def wait_chart(page, title, bars):
    wait_for(page, CHART_WITH_TITLE, [title, bars], f"a chart {title!r} with {bars} bars")


def wait_bar_total(page, total):
    wait_for(page, BAR_TOTAL, total, f"{total} bars in all")


def wait_idle(page):
    """Wait until the current Streamlit run has finished and nothing is loading."""
    page.wait_for_selector(IDLE, timeout=TIMEOUT_MS)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=stSkeleton]')", timeout=TIMEOUT_MS
    )


def chart_title(position, token):
    return f"Position {position}: {token}"


# --- the text as the app sees it ------------------------------------------------

class Sentence:
    """Tokens of one sentence with the default model's tokenizer."""

    tokenizer = tokenizers.Tokenizer.from_file(str(ROOT / "mlmviz/assets/default-model/tokenizer.json"))

    def __init__(self, text):
        encoding = self.tokenizer.encode(text)
        self.text = text
        self.tokens = encoding.tokens
        special = encoding.special_tokens_mask
        self.masks = [i for i, token in enumerate(self.tokens) if token == MASK]
        # The pills, in the page's order: the words a user may click (as
        # MaskedLM.maskable_positions) and the typed masks, always pressed.
        self.pills = [i for i, s in enumerate(special) if not s or self.tokens[i] == MASK]
        self.words = [i for i in self.pills if i not in self.masks]


def check_sentences(first, sentences):
    """Each sentence has one mask, not where the one before had it, and the
    next one's mask position is a pill of this one with a token that no other
    pill shows (Streamlit 1.67 tells pills apart by their label)."""
    assert sentences[0].masks != first.masks
    for current, following in zip(sentences, sentences[1:] + sentences[:1]):
        assert len(current.masks) == 1, current.text
        assert following.masks != current.masks, (current.text, following.text)
        position = following.masks[0]
        labels = [current.tokens[p] for p in current.pills]
        assert position in current.words, (current.text, following.text)
        assert labels.count(current.tokens[position]) == 1, (current.text, following.text)


# --- one user action each, timed -------------------------------------------------

class Session:
    """The Predict page in one browser tab, and what the bench expects it shows."""

    def __init__(self, page, sentence, server_pid):
        self.page, self.sentence, self.server_pid = page, sentence, server_pid
        self.top_k, self.picked = DEFAULT_TOP_K, set()

    def charts(self):
        return len(self.sentence.masks) + len(self.picked)

    def timed(self, act, wait_result):
        """Seconds from `act()` to the new result shown and to the run's end, and
        the server's CPU seconds over that span."""
        cpu = cpu_seconds(self.server_pid)
        start = time.perf_counter()
        act()
        wait_result()
        shown = time.perf_counter() - start
        wait_idle(self.page)
        return shown, time.perf_counter() - start, cpu_seconds(self.server_pid) - cpu

    def type_sentence(self, sentence):
        """Replace the text and press Enter; wait for the new mask's chart."""
        box = self.page.get_by_label("Text", exact=True)
        box.fill(sentence.text)
        self.picked = {p for p in self.picked if p in sentence.words}
        self.sentence = sentence
        title = chart_title(sentence.masks[0], MASK)
        return self.timed(lambda: box.press("Control+Enter"), lambda: wait_chart(self.page, title, self.top_k))

    def click_pill(self, position):
        """Click the pill of `position`; wait for its chart."""
        pill = self.page.locator(PILL).nth(
            self.sentence.pills.index(position)
        )
        box = pill.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        self.picked.add(position)
        title = chart_title(position, self.sentence.tokens[position])
        return self.timed(
            lambda: self.page.mouse.click(x, y), lambda: wait_chart(self.page, title, self.top_k)
        )

    def change_top_k(self):
        """One arrow key on the Top-k slider (up from the default, then back)."""
        up = self.top_k == DEFAULT_TOP_K
        key, self.top_k = ("ArrowRight", self.top_k + 1) if up else ("ArrowLeft", self.top_k - 1)
        slider = self.page.locator("[data-testid=stSlider]", has_text="Top-k").get_by_role("slider")
        slider.focus()
        total = self.charts() * self.top_k
        return self.timed(
            lambda: self.page.keyboard.press(key), lambda: wait_bar_total(self.page, total)
        )

    def switch_page(self):
        """To the Logit lens page (wait for its chart), then back to Predict (wait for
        the prediction charts): two page runs, timed together."""
        nav = self.page.get_by_test_id("stSidebarNav")
        total = self.charts() * self.top_k

        def there_and_back():
            nav.get_by_role("link", name="Logit lens").click()
            self.page.wait_for_selector("[data-testid=stPlotlyChart] .scatterlayer",
                                        timeout=TIMEOUT_MS)
            wait_idle(self.page)
            nav.get_by_role("link", name="Predict").click()
        return self.timed(there_and_back, lambda: wait_bar_total(self.page, total))


KINDS = ("type a sentence", "click a token", "change top-k", "switch page and back")


def run_interactions(session, sentences, count, kinds=KINDS[:3]):
    """`count` interactions cycling `kinds`; returns (kind, shown, idle, cpu) rows."""
    samples = []
    for i in range(count):
        turn = i // len(kinds)
        kind = kinds[i % len(kinds)]
        if kind == "type a sentence":
            result = session.type_sentence(sentences[turn % len(sentences)])
        elif kind == "click a token":
            following = sentences[(turn + 1) % len(sentences)]
            result = session.click_pill(following.masks[0])
        elif kind == "change top-k":
            result = session.change_top_k()
        else:
            result = session.switch_page()
        samples.append((kind, *result))
    return samples


# --- cold starts ---------------------------------------------------------------

def cold_start(browser, log_dir, run, app_dir):
    """Launch a server and open the page; returns (timings, process, page, sampler)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(log_dir / f"streamlit-{app_dir.name}-{run}.log", "w") as log:
        start = time.perf_counter()
        process = start_server(port, log, root=app_dir)
    sampler = RssSampler(process.pid)
    sampler.start()
    try:
        wait_healthy(url, process)
        health = time.perf_counter() - start
        page = browser.new_context().new_page()
        page.goto(url)
        wait_chart(page, chart_title(Sentence(default_text()).masks[0], MASK), DEFAULT_TOP_K)
        chart = time.perf_counter() - start
        wait_idle(page)
    except BaseException:
        sampler.stop()
        stop_server(process)
        raise
    timings = {"health": health, "chart": chart, "rss": rss_mib(process.pid), "peak": sampler.peak}
    return timings, process, page, sampler


def default_text():
    """The app's first sentence (shared.examples()[0]) with the default model."""
    return f"he opened the {MASK} and walked into the room."


def launch_browser(playwright):
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing (apt-get install chromium)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


# --- statistics and report ------------------------------------------------------

def percentile(samples, fraction):
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


def verdict(value, limit):
    return "ok" if value <= limit else "MISSED"


def cold_report(runs):
    rows = [
        [i + 1, f"{r['health']:.2f}", f"{r['chart']:.2f}", f"{r['rss']:.0f}", f"{r['peak']:.0f}"]
        for i, r in enumerate(runs)
    ]
    median = {name: statistics.median(r[name] for r in runs) for name in runs[0]}
    rows.append([
        "median", f"{median['health']:.2f}", f"**{median['chart']:.2f}**",
        f"{median['rss']:.0f}", f"{median['peak']:.0f}",
    ])
    header = ["run", "health ok (s)", "first chart (s)", "RSS then (MiB)", "peak RSS until then (MiB)"]
    chart = median["chart"]
    note = f"target: first chart {TARGETS['cold start']} → {verdict(chart, 10)} (median {chart:.2f} s)"
    return table(rows, header) + "\n\n" + note


def latency_rows(samples, index):
    groups = [(kind, [s[index] for s in samples if s[0] == kind]) for kind in KINDS]
    groups.append(("all", [s[index] for s in samples]))
    rows = []
    for kind, times in groups:
        if not times:
            continue
        p50, p95 = 1000 * statistics.median(times), 1000 * percentile(times, 0.95)
        rows.append([
            kind, len(times), f"{p50:.0f}", f"{p95:.0f}", f"{1000 * max(times):.0f}",
            f"{TARGETS['interaction p50']} / {TARGETS['interaction p95']}",
            f"{verdict(p50, 120)} / {verdict(p95, 250)}",
        ])
    return rows


def latency_report(samples):
    header = ["interaction", "n", "p50 (ms)", "p95 (ms)", "max (ms)", "target p50 / p95", "met"]
    return "\n\n".join([
        "Action → chart shows the new result:",
        table(latency_rows(samples, 1), header),
        "Action → script run finished (stApp idle, no skeleton), for reference:",
        table([row[:5] for row in latency_rows(samples, 2)], header[:5]),
        "Timed with time.perf_counter() from just before the Enter key, mouse click or arrow "
        "key to the chart's new title / bar count in the DOM (polled every animation frame); "
        "p95 is the nearest-rank percentile.",
    ])


def memory_report(memory):
    peak = memory["peak"]
    rows = [
        ["after cold start", f"{memory['after cold start']:.0f}", "", ""],
        ["at the end", f"{memory['at the end']:.0f}", "", ""],
        ["peak (sampled every 0.2 s)", f"{peak:.0f}", TARGETS["server peak RSS"], verdict(peak, 1024)],
    ]
    return table(rows, ["server RSS (process + children)", "MiB", "target", "met"])


def cpu_report(samples):
    """Median and mean server CPU (ms) of each kind of interaction."""
    rows = []
    for kind in KINDS:
        cpu = [1000 * s[3] for s in samples if s[0] == kind]
        if cpu:
            rows.append([kind, len(cpu), f"{statistics.median(cpu):.0f}",
                         f"{statistics.mean(cpu):.0f}"])
    return table(rows, ["interaction", "n", "server CPU p50 (ms)", "mean (ms)"])


def slowest(samples, count=5):
    rows = sorted(enumerate(samples, 1), key=lambda item: -item[1][1])[:count]
    return table(
        [[n, kind, f"{1000 * shown:.0f}", f"{1000 * idle:.0f}"]
         for n, (kind, shown, idle, _) in rows],
        ["#", "interaction", "chart (ms)", "idle (ms)"],
    )


# --- main ------------------------------------------------------------------------

def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--interactions", type=int, default=36)
    parser.add_argument("--quick", action="store_true", help="1 cold run, 9 interactions")
    parser.add_argument("--page-switch", action="store_true",
                        help="a fourth interaction in the cycle: to Logit lens and back")
    parser.add_argument("--app-dir", type=Path, action="append", default=[],
                        help="also measure the app of this checkout (repeatable)")
    args = parser.parse_args()
    if args.quick:
        args.cold_runs, args.interactions = 1, 9
    if args.cold_runs < 1 or args.interactions < 1:
        parser.error("--cold-runs and --interactions must be at least 1")
    return args


def measure(args, log_dir, app_dir):
    """Cold starts, then interactions on the last server; returns the results."""
    sentences = [Sentence(text) for text in SENTENCES]
    check_sentences(Sentence(default_text()), sentences)
    cold = []
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        for run in range(1, args.cold_runs + 1):
            timings, process, page, sampler = cold_start(browser, log_dir, run, app_dir)
            cold.append(timings)
            if run < args.cold_runs:
                stop_server(process)
                sampler.stop()
                page.context.close()
        try:
            session = Session(page, Sentence(default_text()), process.pid)
            cpu_before = cpu_seconds(process.pid)
            kinds = KINDS if args.page_switch else KINDS[:3]
            samples = run_interactions(session, sentences, args.interactions, kinds)
            cpu = (cpu_seconds(process.pid) - cpu_before) / len(samples)
            end = rss_mib(process.pid)
        finally:
            sampler.stop()
            stop_server(process)
            browser.close()
    memory = {"after cold start": cold[-1]["rss"], "at the end": end, "peak": sampler.peak}
    return cold, samples, memory, cpu


def report(app_dir, cold, samples, memory, cpu):
    """The Markdown sections of one app's measurements."""
    print(f"\n# The app of `{app_dir}`")
    print(f"\n## Cold start ({len(cold)} × a fresh server process; seconds from its launch)\n")
    print(cold_report(cold))
    print(f"\n## Interaction latency (one warm server, default model, {len(samples)} interactions)\n")
    print(latency_report(samples))
    print(f"\nServer CPU per interaction: **{1000 * cpu:.0f} ms** (user + system, process and "
          "children, over the interactions above).")
    print("\nServer CPU per interaction kind (from the action to the run's end):\n")
    print(cpu_report(samples))
    print("\nSlowest interactions:\n")
    print(slowest(samples))
    print("\n## Server memory (the interaction server: the last cold start)\n")
    print(memory_report(memory))


def main():
    args = parse_args()
    log_dir = Path(tempfile.mkdtemp(prefix="bench-app-"))
    app_dirs = [ROOT, *(path.resolve() for path in args.app_dir)]
    results = [(app_dir, *measure(args, log_dir, app_dir)) for app_dir in app_dirs]
    print("# App benchmark: cold start, interaction latency, server CPU and memory\n")
    packages = ("streamlit", "playwright", "plotly", "tensorflow", "keras", "keras-hub")
    print("\n".join(f"- {line}" for line in machine_lines(packages)))
    print(f"- load average at the end: {os.getloadavg()[0]:.2f}")
    print(f"- bench: `{' '.join([os.path.relpath(sys.executable, ROOT), *sys.argv])}`")
    server = " ".join(["python", *server_command("PORT")[1:]])
    print(f"- server: `{server}` (TF_CPP_MIN_LOG_LEVEL=2; logs in {log_dir})")
    print(f"- browser: {CHROMIUM} {' '.join(CHROMIUM_ARGS)}, headless, Playwright sync API")
    for result in results:
        report(*result)


if __name__ == "__main__":
    main()
