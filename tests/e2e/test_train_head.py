"""Train the head in a real Chromium: the curve grows by itself (the page polls the
job) and the probe sentences' guesses change while the head trains."""

import time

from playwright.sync_api import Page, expect

from test_browser import _settle

POINTS = "[data-testid=stPlotlyChart] .scatterlayer .trace:first-child .point"
GUESSES = "[data-testid=stMarkdownContainer]:has-text('→')"
WAIT = 180  # s


def _points(page: Page):
    return page.locator(POINTS).count()


def _until(condition, what):
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_the_curve_grows_and_the_guesses_change_while_the_head_trains(page: Page, base_url):
    page.goto(f"{base_url}/train_head?tpos=2000&tsec=300")
    _settle(page)
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text("A fresh head.", exact=True)).to_be_visible(timeout=60_000)
    expect(page.get_by_text("freshly initialised")).to_have_count(0)  # said once, calmly
    expect(page.locator(GUESSES)).to_have_count(3)
    fresh = page.locator(GUESSES).all_inner_texts()
    assert _points(page) == 0

    page.get_by_role("button", name="Start").click()
    _until(lambda: _points(page) >= 2, "the first points")  # no click: the page polls
    first = _points(page)
    _until(lambda: _points(page) > first, "more points")
    expect(page.get_by_text("Training: step")).to_be_visible()
    guesses = page.locator(GUESSES).all_inner_texts()
    assert len(guesses) == 3 and guesses != fresh
    expect(main.get_by_text("Head check: The head has trained")).to_be_visible()

    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_text("Stopped after")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("button", name="Explore this head")).to_be_enabled(timeout=30_000)
    expect(page.locator("[data-testid=stException]")).to_have_count(0)
