"""Every view is a link, in a real Chromium: a page's URL opened in a fresh
browser shows that view; the sidebar's page links and a reload keep it; the
presentation mode is legible."""

import re
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from playwright.sync_api import Page, expect

from test_browser import _settle, _step_slider

TEXT = "the old man walked his [MASK] in the park with his [MASK]."
PICKED = 5  # "his", beside the typed masks at 6 and 12
PAGES = {  # title: (URL path, this page's own settings)
    "Predict": ("", {"words": "dog, cat"}),
    "Head anatomy": ("anatomy", {"mask": "12", "hist": "After the activation"}),
    "Hidden states": ("states", {"heat": "after the head's transform"}),
    "Embedding similarity": ("embeddings", {"mask": "6", "nbrs": "12"}),
    "Logit lens": ("lens", {"mask": "12", "lens_k": "3"}),
    "Masking lab": ("masking_lab", {"rate": "40", "seed": "7", "ww": "1"}),
    "Compare checkpoints": ("compare", {"words": "dog", "mask": "12"}),
}
VIEW = {"text": TEXT, "picked": str(PICKED), "top_k": "7", "temperature": "1.5"}


def _expected_top(default_model, position):
    result = default_model.fill_mask(TEXT, top_k=1, temperature=1.5, positions=[PICKED])
    mask = next(m for m in result["masks"] if m["position"] == position)
    return mask["predictions"][0]["token"]


def _top_label(chart):
    """The category label drawn highest on a bar chart (the most probable token)."""
    return chart.locator(".ytick text").evaluate_all(
        "ticks => ticks.sort((a, b) => a.getBoundingClientRect().top"
        " - b.getBoundingClientRect().top)[0].textContent")


def _go_to(page: Page, title):
    """Click `title` in the sidebar; wait for its run and for the view back in the URL."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    page.wait_for_url(lambda url: f"/{PAGES[title][0]}?" in url and "text=" in url,
                      timeout=60_000)
    _settle(page)


def _query(page: Page):
    return {name: values[0] for name, values in parse_qs(urlparse(page.url).query).items()}


def _expect_text_and_masks(page: Page, title):
    expect(page.get_by_role("heading", level=1)).to_be_visible(timeout=60_000)
    expect(page.get_by_label("Text", exact=True)).to_have_value(TEXT, timeout=60_000)
    if title != "Masking lab":  # the lab draws no pills: it selects its own tokens
        pill = page.get_by_test_id("stButtonGroup").get_by_role("button", name="his₅",
                                                                 exact=True)
        expect(pill).to_have_attribute("aria-pressed", "true")
    expect(page.locator("[data-testid=stException]")).to_have_count(0)
    expect(page.locator("[data-testid=stPlotlyChart] .main-svg").first).to_be_visible(
        timeout=60_000)


def _expect_settings(page: Page, title, settings, default_model):
    """The page's own widgets show the link's values, its chart the expected top answer."""
    sliders = {"top_k": "Top-k", "temperature": "Temperature", "nbrs": "Neighbours",
               "lens_k": "Tokens per layer", "rate": "Selected tokens"}
    for name, label in sliders.items():
        if name in settings or (name in VIEW and title in ("Predict", "Head anatomy")):
            wanted = settings.get(name) or VIEW[name]
            slider = page.locator("[data-testid=stSlider]", has_text=label).get_by_role("slider")
            expect(slider).to_have_value(wanted)
    if "words" in settings:
        field = page.locator("[data-testid=stTextInput]", has_text="words").locator("input")
        expect(field).to_have_value(settings["words"])
    if "mask" in settings:
        box = page.get_by_role("combobox", name=re.compile("^Mask"))
        expect(box).to_have_value(re.compile(f"^position {settings['mask']}:"))
    if title == "Predict":  # one chart per mask; the first is the picked "his"
        top = _expected_top(default_model, PICKED)
        assert _top_label(page.locator("[data-testid=stPlotlyChart]").first) == top
    if title == "Logit lens":
        top = _expected_top(default_model, int(settings["mask"]))
        expect(page.get_by_text(f"The final prediction “{top}” layer by layer")).to_be_visible()
    if title == "Masking lab":
        expect(page.get_by_role("spinbutton", name="Seed")).to_have_value(settings["seed"])


@pytest.mark.parametrize("title", PAGES)
def test_a_page_link_opens_that_view_and_every_page_keeps_it(browser, base_url, title,
                                                              default_model):
    path, settings = PAGES[title]
    query = {**VIEW, **settings}
    context = browser.new_context(viewport={"width": 1400, "height": 1000})  # a fresh browser
    try:
        page = context.new_page()
        page.goto(f"{base_url}/{path}?{urlencode(query)}")
        _settle(page)
        _expect_text_and_masks(page, title)
        _expect_settings(page, title, settings, default_model)
        assert query.items() <= _query(page).items(), page.url  # nothing dropped
        for other in PAGES:
            if other == title:
                continue
            _go_to(page, other)
            _expect_text_and_masks(page, other)
            for name, value in query.items():
                assert _query(page).get(name) == value, (other, name, page.url)
        _go_to(page, title)
        page.reload()
        _settle(page)
        _expect_text_and_masks(page, title)
        _expect_settings(page, title, settings, default_model)
    finally:
        context.close()


def test_presentation_mode_has_large_chart_labels_and_no_toolbar(browser, base_url):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        page.goto(f"{base_url}/?{urlencode({**VIEW, 'present': '1'})}")
        _settle(page)
        chart = page.locator("[data-testid=stPlotlyChart] .main-svg").first
        expect(chart).to_be_visible(timeout=60_000)
        sizes = page.evaluate(
            "() => [...document.querySelectorAll('[data-testid=stPlotlyChart] .xtick text,"
            " [data-testid=stPlotlyChart] .ytick text')]"
            ".map(e => parseFloat(getComputedStyle(e).fontSize))"
        )
        assert sizes and min(sizes) >= 18, sizes
        expect(page.get_by_test_id("stToolbarActions")).to_be_hidden()
        expect(page.get_by_test_id("stMainMenu")).to_be_hidden()
        page.get_by_test_id("stExpandSidebarButton").click()  # it starts folded away
        page.get_by_text("Presentation mode").click()  # off again: small labels
        page.wait_for_url(lambda url: "present=" not in url, timeout=60_000)
        _settle(page)
        expect(page.locator("[data-testid=stPlotlyChart] .ytick text").first).to_have_css(
            "font-size", "12px")
    finally:
        context.close()


def test_copy_link_copies_the_current_view_also_after_a_partial_rerun(browser, base_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    try:
        page = context.new_page()
        page.goto(f"{base_url}/lens?{urlencode({**VIEW, 'lens_k': '4'})}")
        _settle(page)
        slider = page.locator("[data-testid=stSlider]", has_text="Tokens per layer")
        # 4 -> 3: reruns only the page's fragment
        _step_slider(page, slider.get_by_role("slider"), "ArrowLeft", "lens_k", (3,))
        page.get_by_role("button", name="Copy link").click()
        expect(page.get_by_text("Copied.")).to_be_visible()
        copied = page.evaluate("() => navigator.clipboard.readText()")
        assert copied == page.url and "lens_k=3" in copied
        expect(page.get_by_label("Link to this view")).to_have_value(page.url)
    finally:
        context.close()
