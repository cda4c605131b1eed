"""Every page in a real Chromium: reached from the sidebar, keeping the text,
drawing its charts without an error."""

import pytest
from playwright.sync_api import Page, expect

from test_browser import _settle, _type_text

PAGES = [
    "Head anatomy", "Hidden states", "Embedding similarity", "Logit lens", "Masking lab",
    "Compare checkpoints",
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
