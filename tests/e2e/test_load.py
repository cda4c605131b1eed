"""Several users at once, and a user coming back: the app keeps each session's
text, masks and top-k apart, and brings them back from the URL."""

from playwright.sync_api import Page, expect

from benchmarks import load_sessions
from test_browser import _settle, _step_slider, _type_text

TEXT = "the cat sat on the mat."


def test_four_concurrent_sessions_work_without_errors(base_url):
    """`benchmarks/load_sessions.py` in small: 4 users for 10 s on the test server.

    Latency is printed, not asserted (timings depend on the machine's load).
    """
    results = load_sessions.run(sessions=4, seconds=10, base_url=base_url)
    print("\n" + load_sessions.report(results, "tests/e2e/test_load.py"))
    assert results["errors"] == []
    assert min(results["per_session"]) >= 3, results["per_session"]


def _make_view(page: Page, base_url):
    """Type TEXT, mask "cat" and raise top-k to 7, as a user would."""
    _type_text(page, base_url, TEXT)
    page.get_by_test_id("stButtonGroup").get_by_role("button", name="cat", exact=True).click()
    _settle(page)
    _step_slider(page, _top_k_slider(page), "ArrowRight", "top_k", (6, 7))


def _top_k_slider(page: Page):
    return page.locator("[data-testid=stSlider]", has_text="Top-k").get_by_role("slider")


def _expect_view(page: Page, where):
    """The text, the masked "cat" (pressed pill) and top-k 7 are shown."""
    expect(page.get_by_label("Text", exact=True)).to_have_value(TEXT, timeout=60_000)
    cat = page.get_by_test_id("stButtonGroup").get_by_role("button", name="cat", exact=True)
    expect(cat).to_have_attribute("aria-pressed", "true")
    expect(_top_k_slider(page)).to_have_value("7")
    if where == "Predict":
        chart = page.locator("[data-testid=stPlotlyChart]")
        expect(chart).to_have_count(1, timeout=60_000)
        expect(chart.locator(".gtitle")).to_have_text("Position 2: cat")
        expect(chart.locator(".bars .point")).to_have_count(7)
    expect(page.locator("[data-testid=stException]")).to_have_count(0)


def _expect_view_here_and_on_compare(page: Page):
    """The view on Predict, then on Compare checkpoints (the other page with top-k)."""
    _settle(page)
    expect(page.get_by_role("heading", name="Fill the mask")).to_be_visible()
    _expect_view(page, "Predict")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Compare checkpoints").click()
    _settle(page)
    expect(page.get_by_role("heading", name="Compare two checkpoints")).to_be_visible()
    _expect_view(page, "Compare checkpoints")


def test_text_masks_and_top_k_survive_a_reload_and_a_new_session(page: Page, browser, base_url):
    _make_view(page, base_url)
    _expect_view(page, "Predict")
    url = page.url
    assert "text=" in url and "picked=" in url and "top_k=7" in url, url

    page.reload()  # a reconnect: the server starts a new session from the URL
    _expect_view_here_and_on_compare(page)

    context = browser.new_context()  # another browser: nothing shared but the URL
    try:
        other = context.new_page()
        other.goto(url)
        _expect_view_here_and_on_compare(other)
    finally:
        context.close()
