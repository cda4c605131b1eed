"""Downloads in a real Chromium: a chart's camera saves PNG or SVG, and a page's
numbers come as a file built when its button is clicked."""

import json
from pathlib import Path

from playwright.sync_api import Page, expect

from test_browser import _settle

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _camera_download(page: Page, chart):
    """Click the camera in the chart's modebar (shown on hover); the download it starts."""
    chart.hover()
    with page.expect_download(timeout=60_000) as download:
        chart.locator(".modebar-btn[data-title^='Download plot']").click()
    return download.value


def test_a_chart_saves_as_png_or_svg_and_the_page_downloads_its_numbers(page: Page, base_url):
    page.goto(base_url)
    _settle(page)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Head anatomy").click()
    _settle(page)
    chart = page.locator("[data-testid=stPlotlyChart]").first
    expect(chart.locator(".main-svg").first).to_be_visible(timeout=60_000)

    png = _camera_download(page, chart)
    assert png.suggested_filename == "mlmviz-anatomy_vectors.png"
    assert Path(png.path()).read_bytes()[:8] == PNG_MAGIC

    page.get_by_role("radio", name="SVG").check(force=True)
    _settle(page)
    svg = _camera_download(page, chart)
    assert svg.suggested_filename == "mlmviz-anatomy_vectors.svg"
    assert Path(svg.path()).read_text().startswith("<svg")

    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Stage vectors (CSV)").click()
    assert download.value.suggested_filename == "mlmviz-anatomy-stages.csv"
    lines = Path(download.value.path()).read_text().splitlines()
    assert json.loads(lines[0].removeprefix("# provenance: "))["model"] == "default"
    assert lines[1] == "dimension,gathered,dense,activated,normed"
    assert len(lines) == 2 + 128  # one row per dimension of the default model
