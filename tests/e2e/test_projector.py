"""Presentation mode on a 1280x720 projector, measured in a real Chromium:
the numbers a class reads are the largest text and never cut, the sentence
and the heat-map values are legible from the back, the sidebar starts folded
away, and Train the head shows its curve and guesses on one screen."""

import re
import time

import pytest
from playwright.sync_api import Page, expect

from test_browser import _settle

SCREEN = {"width": 1280, "height": 720}
TEXT = "the+children+played+in+the+%5BMASK%5D+after+school."
WAIT = 180  # s


@pytest.fixture
def projector(page: Page):
    page.set_viewport_size(SCREEN)
    return page


def _open(page: Page, base_url, path):
    page.goto(f"{base_url}/{path}{'&' if '?' in path else '?'}present=1&text={TEXT}")
    _settle(page)


def _px(locator, prop="font-size"):
    return float(locator.evaluate(f"e => getComputedStyle(e).getPropertyValue('{prop}')")[:-2])


def _metrics_are_large_and_whole(page: Page):
    """Every metric value of at least 32 px; no label, value or note wider than its box."""
    values = page.get_by_test_id("stMetricValue")
    assert values.count() >= 4
    for i in range(values.count()):
        assert _px(values.nth(i)) >= 32, values.nth(i).inner_text()
    for test_id in ("stMetricLabel", "stMetricValue", "stMetricDelta"):
        cut = page.get_by_test_id(test_id).evaluate_all(
            "nodes => nodes.flatMap(n => [n, ...n.querySelectorAll('*')])"
            ".filter(n => n.scrollWidth > n.clientWidth + 1).map(n => n.textContent)")
        assert cut == [], (test_id, cut)


def test_a_narrow_screen_keeps_its_width_for_the_page_and_cuts_no_label(page: Page, base_url):
    page.set_viewport_size({"width": 800, "height": 900})
    page.goto(f"{base_url}/train_head")
    _settle(page)
    assert page.get_by_test_id("stSidebar").bounding_box()["width"] <= 230
    cut = page.get_by_test_id("stMetricLabel").evaluate_all(
        "nodes => nodes.flatMap(n => [n, ...n.querySelectorAll('*')])"
        ".filter(n => n.scrollWidth > n.clientWidth + 1).map(n => n.textContent)")
    assert page.get_by_test_id("stMetricLabel").count() == 4 and cut == []


def test_a_narrow_screen_slants_attention_tokens_at_most_45_degrees(page: Page, base_url):
    page.set_viewport_size({"width": 800, "height": 900})
    page.goto(f"{base_url}/attention?text={TEXT}")
    _settle(page)
    ticks = page.locator("[data-testid=stPlotlyChart] .xtick text")
    expect(ticks.first).to_be_visible(timeout=60_000)
    angles = [float(m.group(1)) for m in (re.search(r"rotate\((-?[\d.]+)", t or "") for t in
              ticks.evaluate_all("nodes => nodes.map(n => n.getAttribute('transform'))")) if m]
    assert all(abs(angle) <= 45 for angle in angles), angles  # never on their side


def test_the_sidebar_starts_folded_away_and_the_sentence_is_large(projector, base_url):
    _open(projector, base_url, "")
    expect(projector.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "true")
    assert _px(projector.get_by_label("Text", exact=True)) >= 20
    assert "present=1" in projector.url  # the mode stays in the link
    projector.get_by_test_id("stExpandSidebarButton").click()  # and the toggle within reach
    expect(projector.get_by_test_id("stSidebar").get_by_text("Presentation mode")).to_be_visible()


def test_attention_prints_its_values_and_tokens_legibly(projector, base_url):
    _open(projector, base_url, "attention")
    expect(projector.locator("[data-testid=stPlotlyChart] .heatmaplayer").first).to_be_visible(
        timeout=60_000)
    cells = projector.locator("[data-testid=stPlotlyChart] .heatmaplayer text")
    assert cells.count() > 20
    assert min(_px(cells.nth(i)) for i in range(0, cells.count(), 7)) >= 16
    ticks = projector.locator("[data-testid=stPlotlyChart] .xtick text")
    assert ticks.count() > 5
    for i in range(ticks.count()):  # upright and whole: no rotation, inside the figure
        assert "rotate" not in (ticks.nth(i).get_attribute("transform") or ""), ticks.nth(i)


def test_evaluate_shows_its_numbers_large_and_its_labels_whole(projector, base_url):
    _open(projector, base_url, "evaluate?elines=100")
    projector.get_by_role("button", name="Run the evaluation").click()
    expect(projector.get_by_test_id("stMetricValue").first).to_be_visible(timeout=WAIT * 1000)
    _settle(projector)
    _metrics_are_large_and_whole(projector)


def test_train_the_head_fits_one_screen_while_it_trains(projector, base_url):
    _open(projector, base_url, "train_head?tpos=2000&tsec=30")
    start = projector.get_by_role("button", name="Start")
    stop = projector.get_by_role("button", name="Stop")
    assert _px(stop, "opacity") < 0.8  # disabled looks disabled
    start.click()
    deadline = time.monotonic() + WAIT
    while projector.locator(
            "[data-testid=stPlotlyChart] .scatterlayer .trace:first-child .point").count() < 2:
        assert time.monotonic() < deadline, "the curve never grew"
        time.sleep(0.5)
    _metrics_are_large_and_whole(projector)
    top = start.bounding_box()["y"]
    curve = projector.get_by_test_id("stPlotlyChart").first.bounding_box()
    guesses = projector.get_by_text("The head's guesses right now").bounding_box()
    assert curve["y"] + curve["height"] - top <= SCREEN["height"], (top, curve)
    assert guesses["y"] - top <= SCREEN["height"] - 100, (top, guesses)
    stop.click()
