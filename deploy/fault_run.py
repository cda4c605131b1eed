"""The replica fault run: browser sessions on two replicas behind nginx, and one
replica killed with SIGKILL mid-run.

Run from the repository root (needs Debian's nginx and chromium):

    .venv/bin/python deploy/fault_run.py [--sessions 4]

It starts `deploy/serve.py --replicas 2` and opens N Chromium browser
contexts (each its own cookie jar) through nginx. Each asks nginx which
replica serves it (the X-Replica header, three times: it must not change)
and builds its own view as a user would: types its sentence, clicks its word's
pill to mask it, raises top-k with the keyboard. The chart's top answer is
noted. (Before that, each replica draws one chart, so that all have loaded
the model and compiled its graph, as in a running service.) Then the replica
that serves the first session is killed, and:

- each session on the survivor raises top-k once more: its websocket must stay
  open and the page must show the new view, with no error;
- each session on the killed replica must see its websocket close, reconnect
  through nginx (a new websocket that receives a message), and after a reload
  of its URL show exactly its view: text, pressed pill, top-k, the chart's
  title, bar count and top answer — now served by the survivor.

It prints a Markdown report (sessions per replica, errors on the survivor,
seconds from the kill to the reconnect and to the restored view, view restored
yes/no) and exits with status 1 when anything failed. `run()` returns the
figures as a dict; tests/e2e/test_replicas.py asserts on them.
"""

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.appserver import free_port

IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
# (sentence, the word each session masks by clicking its pill, its top-k); the word
# is token 2 after [CLS], so its chart is titled "Position 2: WORD".
VIEWS = [("the cat sat on the mat.", "cat", 6), ("the dog ran in the park.", "dog", 7),
         ("the bird sang in the tree.", "bird", 8), ("the girl read a long book.", "girl", 9),
         ("the boy ate his lunch.", "boy", 10), ("the man drove his car.", "man", 11)]


@contextlib.contextmanager
def serving(run_dir, replicas=2, timeout=400):
    """Run deploy/serve.py with `replicas` replicas until the block ends; yields
    its replicas.json ({"url", "replicas": [{"port", "pid"}], "nginx_pid"})."""
    state_file = run_dir / "replicas.json"
    with open(run_dir / "serve.log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "deploy" / "serve.py"), "--replicas", str(replicas),
             "--port", str(free_port()), "--run-dir", str(run_dir)],
            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while not state_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"serve.py did not start: {(run_dir / 'serve.log').read_text()}")
            time.sleep(0.2)
        yield json.loads(state_file.read_text())
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _settle(page):
    """Wait until Streamlit has finished the current run."""
    page.wait_for_selector(IDLE, timeout=120_000)
    expect(page.locator("[data-testid=stSkeleton]")).to_have_count(0, timeout=60_000)


def _replica(context, url):
    """The replica nginx routes this context to, asked three times (it must not
    change). Raises AssertionError when it does."""
    seen = [context.request.get(f"{url}/_stcore/health").headers.get("x-replica")
            for _ in range(3)]
    assert len(set(seen)) == 1 and seen[0], f"routing is not sticky: {seen}"
    return seen[0]


def _top_k(page):
    return page.locator("[data-testid=stSlider]", has_text="Top-k").get_by_role("slider")


def _top_label(page):
    """The category label drawn highest on the chart (its most probable token)."""
    return page.locator("[data-testid=stPlotlyChart] .ytick text").evaluate_all(
        "ticks => ticks.sort((a, b) => a.getBoundingClientRect().top"
        " - b.getBoundingClientRect().top)[0].textContent")


def _warm_up(browser, state):
    """Draw one chart on each replica, straight from its own port (not through
    nginx, so the route cookies start fresh): each has loaded the model and
    compiled its graph, as the replicas of a running service have."""
    context = browser.new_context()
    try:
        page = context.new_page()
        for replica in state["replicas"]:
            page.goto(f"http://127.0.0.1:{replica['port']}/?text=the+cat+sat+on+the+mat.&picked=2")
            _settle(page)
            expect(page.locator("[data-testid=stPlotlyChart]")).to_have_count(1, timeout=180_000)
    finally:
        context.close()


def _open(browser, url, view):
    """A new browser context on `url`; records its websockets' open/close times."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    session = {"context": context, "view": view, "opened": [], "closed": [], "errors": []}
    session["replica"] = _replica(context, url)
    page = session["page"] = context.new_page()

    def on_socket(socket):
        record = {"opened": time.monotonic(), "first_frame": None}
        session["opened"].append(record)
        socket.on("framereceived", lambda _: record.update(
            first_frame=record["first_frame"] or time.monotonic()))
        socket.on("close", lambda _: session["closed"].append(time.monotonic()))

    page.on("websocket", on_socket)
    return session


def _raise_top_k(page, start, wanted):
    """Press → on the top-k slider from `start` to `wanted`; wait for the bars."""
    _top_k(page).focus()
    for _ in range(wanted - start):
        page.keyboard.press("ArrowRight")
    bars = page.locator("[data-testid=stPlotlyChart] .bars .point")
    expect(bars).to_have_count(wanted, timeout=60_000)
    _settle(page)


def _make_view(session, url):
    """Type the session's sentence, click its word's pill, raise top-k, as a
    user would: each step once the page shows the previous one's effect."""
    page, (text, word, top_k) = session["page"], session["view"]
    page.goto(url)
    _settle(page)
    box = page.get_by_label("Text", exact=True)
    box.fill(text)
    box.press("Control+Enter")
    expect(page.get_by_text("Nothing is masked")).to_be_visible(timeout=60_000)
    _settle(page)
    page.get_by_test_id("stButtonGroup").get_by_role("button", name=word, exact=True).click()
    expect(page.get_by_text(f"Position 2: {word}").first).to_be_visible(timeout=60_000)
    _settle(page)
    _raise_top_k(page, 5, top_k)


def _check_view(page, text, word, top_k, top=None):
    """The page shows exactly this view; returns its chart's top answer.
    Raises AssertionError (Playwright's, with what it saw) when it does not."""
    wait = {"timeout": 60_000}  # two replicas and a browser share the CPUs
    expect(page.get_by_label("Text", exact=True)).to_have_value(text, **wait)
    pills = page.get_by_test_id("stButtonGroup")
    expect(pills.get_by_role("button", name=word, exact=True)).to_have_attribute(
        "aria-pressed", "true", **wait)
    expect(pills.locator("[aria-pressed=true]")).to_have_count(1, **wait)
    expect(_top_k(page)).to_have_value(str(top_k), **wait)
    chart = page.locator("[data-testid=stPlotlyChart]")
    expect(chart).to_have_count(1, **wait)
    # .first: while Plotly redraws, the old title may still be there beside the new
    expect(chart.locator(".gtitle").first).to_have_text(f"Position 2: {word}", **wait)
    expect(chart.locator(".bars .point")).to_have_count(top_k, **wait)
    expect(page.locator("[data-testid=stException]")).to_have_count(0)
    label = _top_label(page)
    assert top is None or label == top, f"top answer {label!r}, was {top!r} before"
    return label


def _attempt(session, step, action, *args, **kwargs):
    """Return `action(*args, **kwargs)`; on failure note `step: message` in the
    session's errors and return None."""
    try:
        return action(*args, **kwargs)
    except (AssertionError, PlaywrightError) as error:
        said = " / ".join(line.strip() for line in str(error).splitlines()[:4])
        session["errors"].append(f"{step}: {said}")
        return None


def _wait_reconnect(session, killed_at, timeout=90):
    """Seconds from the kill to the first message on a websocket opened after
    it, or None when none came within `timeout` s."""
    page, deadline = session["page"], time.monotonic() + timeout
    while time.monotonic() < deadline:
        frames = [s["first_frame"] for s in session["opened"]
                  if s["opened"] > killed_at and s["first_frame"]]
        if frames:
            return min(frames) - killed_at
        page.wait_for_timeout(50)
    return None


def _go_on(session):
    """A survivor's next interaction: top-k one up, the view redrawn."""
    text, word, top_k = session["view"]
    _raise_top_k(session["page"], top_k, top_k + 1)
    _check_view(session["page"], text, word, top_k + 1)


def _restored(session):
    """After the reload: exactly the view (and top answer) of before the kill."""
    assert session["top"] is not None, "no view before the kill to compare with"
    _settle(session["page"])
    return _check_view(session["page"], *session["view"], top=session["top"])


def _recover(victims, killed_at, url):
    """The killed replica's sessions: wait for their reconnect, reload them all
    at once (as their users would), then check each view."""
    for session in victims:
        session["reconnect_s"] = _wait_reconnect(session, killed_at)
        if session["reconnect_s"] is None:
            session["errors"].append("no websocket reconnected through nginx")
    for session in victims:
        _attempt(session, "reload", session["page"].reload, wait_until="commit")
    for session in victims:
        top = _attempt(session, "view after the reload", _restored, session)
        session["view_s"] = time.monotonic() - killed_at
        session["restored"] = top is not None
        session["moved_to"] = _attempt(session, "replica after the reload",
                                       _replica, session["context"], url)


def _check_sockets(live, killed, closed_before):
    """Note an error on each session whose websocket did not do what its
    replica says: close when that was killed, stay open otherwise."""
    for session in live:
        session["killed"] = session["replica"] == killed
        session["socket_closed"] = len(session["closed"]) > closed_before[id(session)]
        if session["socket_closed"] != session["killed"]:
            session["errors"].append(
                f"websocket {'closed' if session['socket_closed'] else 'stayed open'}, "
                f"but nginx said this session was on {session['replica']}")


def run(browser, state, sessions=4):
    """The fault scenario on the running serve.py described by `state`.

    Returns a dict: `per_replica` (address -> sessions), `killed` (its address),
    `survivor_errors`, and `sessions`: one dict each with text, replica, killed
    (bool), socket_closed (bool), reconnect_s, view_s (kill -> restored view
    checked), moved_to (the replica after the reload), restored (bool), errors.
    """
    url = state["url"]
    _warm_up(browser, state)
    live = [_open(browser, url, view) for view in VIEWS[:sessions]]
    try:
        for session in live:
            _attempt(session, "make view", _make_view, session, url)
            session["top"] = _attempt(session, "view before the kill",
                                      _check_view, session["page"], *session["view"])
        killed = live[0]["replica"]
        pid = next(r["pid"] for r in state["replicas"] if f"127.0.0.1:{r['port']}" == killed)
        closed_before = {id(s): len(s["closed"]) for s in live}
        os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        survivors = [s for s in live if s["replica"] != killed]
        for session in survivors:  # go on working while the others reconnect
            _attempt(session, "raise top-k after the kill", _go_on, session)
        _recover([s for s in live if s["replica"] == killed], killed_at, url)
        _check_sockets(live, killed, closed_before)
    finally:
        for session in live:
            session["context"].close()
    per_replica = {f"127.0.0.1:{r['port']}": 0 for r in state["replicas"]}
    for session in live:
        per_replica[session["replica"]] += 1
    keys = ("replica", "killed", "socket_closed", "reconnect_s", "view_s", "moved_to",
            "restored", "errors")
    return {"per_replica": per_replica, "killed": killed,
            "survivor_errors": [e for s in survivors for e in s["errors"]],
            "sessions": [{k: s.get(k) for k in keys} | {"text": s["view"][0]} for s in live]}


def report(results):
    """The results as Markdown: one line per replica, one per session."""
    lines = ["| replica | sessions | killed |", "|---|---|---|"]
    lines += [f"| {r} | {n} | {'yes' if r == results['killed'] else 'no'} |"
              for r, n in results["per_replica"].items()]
    survivor = "".join(f"\n- {e}" for e in results["survivor_errors"])
    lines += ["", f"Errors on the survivor: {len(results['survivor_errors'])}{survivor}", "",
              ("| session | on killed replica | websocket closed | kill → reconnect (s) "
               "| kill → view after reload (s) | moved to | view restored | errors |"),
              "|---|---|---|---|---|---|---|---|"]
    for s in results["sessions"]:
        seconds = [f"{s[k]:.2f}" if s[k] is not None else "—" for k in ("reconnect_s", "view_s")]
        restored = ("yes" if s["restored"] else "NO") if s["killed"] else "—"
        lines.append(f"| {s['text']} | {'yes' if s['killed'] else 'no'} | "
                     f"{'yes' if s['socket_closed'] else 'no'} | {seconds[0]} | {seconds[1]} | "
                     f"{s['moved_to'] or '—'} | {restored} | {'; '.join(s['errors']) or '—'} |")
    return "\n".join(lines)


def failed(results):
    """True when the run shows a fault: a replica without sessions, an error, a lost view."""
    return (min(results["per_replica"].values()) == 0
            or any(s["errors"] or (s["killed"] and not s["restored"])
                   for s in results["sessions"]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=4, choices=range(2, len(VIEWS) + 1))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mlmviz-fault-") as run_dir, \
            serving(Path(run_dir)) as state, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        started = time.monotonic()
        results = run(browser, state, sessions=args.sessions)
        browser.close()
    print(f"{args.sessions} sessions, 2 replicas, {time.monotonic() - started:.0f} s\n")
    print(report(results))
    return 1 if failed(results) else 0


if __name__ == "__main__":
    sys.exit(main())
