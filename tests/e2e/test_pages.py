"""Every page in a real Chromium: reached from the sidebar, keeping the text,
drawing its charts without an error."""

from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect

from test_browser import _choose, _settle, _type_text

PAGES = [
    "Head anatomy", "Hidden states", "Embedding similarity", "Logit lens", "Attention",
    "Masking lab", "Compare checkpoints",
]
TEXT = "the [MASK] barked at the [MASK] all night."


@pytest.mark.parametrize("title", PAGES)
def test_each_page_draws_a_chart_for_the_text_typed_on_predict(page: Page, base_url, title):
    _type_text(page, base_url, TEXT)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    _settle(page)
    expect(page.get_by_label("Text", exact=True)).to_have_value(TEXT, timeout=60_000)
    chart = page.locator("[data-testid=stPlotlyChart] .main-svg").first
    expect(chart).to_be_visible(timeout=60_000)
    expect(page.locator("[data-testid=stException]")).to_have_count(0)


def test_the_attention_grid_draws_and_another_head_redraws_the_matrix(page: Page, base_url):
    page.goto(f"{base_url}/attention?{urlencode({'text': TEXT})}")
    _settle(page)
    charts = page.get_by_test_id("stPlotlyChart")
    grid = charts.filter(has_text="What the mask at position 2 reads")
    expect(grid.locator(".hm image")).to_be_visible(timeout=60_000)  # the heat cells
    expect(grid).to_contain_text("layer 2 · head 2")
    matrix = charts.filter(has_text="who reads whom")
    expect(matrix).to_contain_text("Layer 1, head 1")
    head = page.get_by_test_id("stSelectbox").filter(has_text="Head").locator("input")
    _choose(page, head, "2")
    page.wait_for_url(lambda url: "head=2" in url, timeout=60_000)
    _settle(page)
    expect(matrix).to_contain_text("Layer 1, head 2")
    expect(page.locator("[data-testid=stException]")).to_have_count(0)


def test_scoring_a_long_text_shows_progress_and_stops_on_request(page: Page, base_url):
    long_text = "the old man walked his dog in the park every morning. " * 60  # 512 tokens, cut
    page.goto(f"{base_url}/masking_lab?{urlencode({'text': long_text})}")
    _settle(page)
    expect(page.get_by_text("The model reads at most 512 tokens")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Tokens scored")).to_be_visible(timeout=120_000)
    page.get_by_text("Score all 510 tokens").click()
    expect(page.get_by_test_id("stProgress")).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="Stop scoring").click()
    page.wait_for_url(lambda url: "pll_all" not in url, timeout=60_000)
    _settle(page)
    expect(page.get_by_test_id("stProgress")).to_have_count(0)
    expect(page.get_by_test_id("stMetricValue").filter(has_text=" of 510")).to_be_visible()
    expect(page.locator("[data-testid=stException]")).to_have_count(0)


def test_compare_follows_a_typed_word_through_both_models_layers(page: Page, base_url):
    page.goto(f"{base_url}/compare?{urlencode({'text': TEXT})}")
    _settle(page)
    charts = page.locator("[data-testid=stPlotlyChart]")
    expect(charts).to_have_count(4, timeout=60_000)  # bars, the lens, A's and B's attention
    lens = charts.nth(1)
    expect(lens.locator(".gtitle")).to_have_text("“dog” at position 2, layer by layer")
    box = page.get_by_label("Word to follow (pick one, or type any word)")
    box.click()
    box.fill("cat")
    box.press("Enter")
    page.wait_for_url(lambda url: "lens_word=cat" in url, timeout=60_000)
    _settle(page)
    expect(lens.locator(".gtitle")).to_have_text("“cat” at position 2, layer by layer")
    expect(page.get_by_text("A: default: what the mask reads")).to_be_visible()
    expect(page.locator("[data-testid=stException]")).to_have_count(0)
