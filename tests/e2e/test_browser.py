"""The app in a real Chromium: it loads, predicts, and reacts to the user."""

import json
import zipfile
from urllib.parse import urlencode

from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from hf_checkpoints import make_checkpoint

IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"


def _settle(page: Page):
    """Wait until Streamlit has finished the current run."""
    page.wait_for_selector(IDLE, timeout=120_000)
    expect(page.locator("[data-testid=stSkeleton]")).to_have_count(0, timeout=60_000)


def _choose(page: Page, box, name, tries=5):
    """Pick the option `name` of the selectbox whose input is `box`, by keyboard.

    Streamlit may redraw the box just after a run ends, and a list opened in
    that moment closes again (seen on a loaded machine: the box is focused, its
    list shut); so the list is opened again until the click lands, as a user
    would open it again.
    """
    option = page.get_by_role("option", name=name, exact=True)
    for attempt in range(tries):
        box.focus()
        box.press("ArrowDown")  # opens the list (a click may land off screen)
        last = attempt == tries - 1
        try:
            option.click(timeout=30_000 if last else 5_000)
            return
        except PlaywrightTimeout:
            if last:
                raise


def _step_slider(page: Page, slider, key, field, values):
    """Press `key` on `slider` once per value of `values`, each time waiting
    until the link shows `field=value`: a second press during the first's
    rerun is lost on a loaded machine."""
    for value in values:
        slider.focus()
        page.keyboard.press(key)
        page.wait_for_url(lambda url: f"{field}={value}" in url, timeout=60_000)
        _settle(page)


def test_first_view_shows_a_probability_chart(page: Page, base_url):
    page.goto(base_url)
    _settle(page)
    expect(page.get_by_text("Fill the mask")).to_be_visible()
    chart = page.locator("[data-testid=stPlotlyChart]")
    expect(chart).to_have_count(1, timeout=60_000)
    expect(chart.locator(".bars .point")).to_have_count(5)
    # Plotly draws the reversed category axis bottom-up: the last tick is the top bar.
    expect(chart.locator(".ytick").last).to_have_text("door")  # the default sentence
    expect(page.get_by_text("head runs on")).to_be_visible()


def test_top_k_slider_changes_the_number_of_bars(page: Page, base_url):
    page.goto(base_url)
    _settle(page)
    _step_slider(page, page.get_by_role("slider").first, "ArrowRight", "top_k", (6, 7))
    bars = page.locator("[data-testid=stPlotlyChart] .bars .point")
    expect(bars).to_have_count(7, timeout=60_000)


def _type_text(page: Page, base_url, text):
    """Open the app and replace the text, as a user would."""
    page.goto(base_url)
    _settle(page)
    box = page.get_by_label("Text", exact=True)
    box.fill(text)
    box.press("Control+Enter")
    _settle(page)


def test_typing_a_second_mask_adds_a_chart(page: Page, base_url):
    _type_text(page, base_url, "the [MASK] sat on the [MASK]")
    expect(page.locator("[data-testid=stPlotlyChart]")).to_have_count(2, timeout=60_000)


def test_clearing_the_text_shows_a_hint_not_an_error(page: Page, base_url):
    _type_text(page, base_url, "")
    expect(page.get_by_text("Type a sentence to start.")).to_be_visible()
    expect(page.locator("[data-testid=stException]")).to_have_count(0)


def test_clicking_a_token_masks_it_and_the_url_reproduces_the_view(page: Page, base_url):
    _type_text(page, base_url, "the cat sat on the mat.")
    expect(page.get_by_text("Nothing is masked")).to_be_visible()
    page.get_by_role("button", name="cat", exact=True).click()
    _settle(page)
    expect(page.get_by_text("Position 2: cat")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("The hidden word")).to_be_visible()
    shared_url = page.url
    assert "text=" in shared_url
    page.goto(shared_url)
    _settle(page)
    expect(page.get_by_label("Text", exact=True)).to_have_value("the cat sat on the mat.")
    expect(page.get_by_text("Position 2: cat")).to_be_visible(timeout=60_000)


def test_a_downloaded_view_loads_back(page: Page, base_url, tmp_path):
    _type_text(page, base_url, "paris is the capital of [MASK].")
    expect(page.get_by_text("Position 6: [MASK]")).to_be_visible(timeout=60_000)
    _settle(page)  # the run that drew the chart has also drawn the new download button
    with page.expect_download() as download:
        page.get_by_role("button", name="Download this view (JSON)").click()
    saved = tmp_path / "view.json"
    download.value.save_as(saved)
    bundle = json.loads(saved.read_text())
    assert bundle["text"] == "paris is the capital of [MASK]."
    assert bundle["masks"][0]["predictions"][0]["token"]
    assert bundle["provenance"]["link"].startswith(base_url)  # the browser's address, with the view
    assert "text=paris" in bundle["provenance"]["link"]

    page.goto(base_url)
    _settle(page)
    page.get_by_text("Load a saved view (.json)").click()
    page.locator("input[type=file]").set_input_files(saved)
    _settle(page)
    expect(page.get_by_label("Text", exact=True)).to_have_value("paris is the capital of [MASK].", timeout=60_000)


def test_a_broken_checkpoint_path_shows_an_error_and_keeps_the_model(page: Page, base_url, tmp_path):
    (tmp_path / "config.json").write_text("{broken")
    page.goto(base_url)
    _settle(page)
    page.get_by_role("radio", name="Checkpoint path").check(force=True)
    path = page.get_by_label("Path or hf:ORG/NAME", exact=True)  # not its help button
    expect(path).to_be_visible(timeout=60_000)
    path.fill(str(tmp_path))
    path.press("Enter")
    expect(page.get_by_text("previous model stays loaded")).to_be_visible(timeout=60_000)
    expect(page.locator("[data-testid=stPlotlyChart]")).to_have_count(1)


def test_the_url_selects_the_model(page: Page, base_url, tmp_path):
    checkpoint = make_checkpoint("bert", tmp_path / "tiny-bert")
    query = urlencode({"model_kind": "Checkpoint path", "model_path": str(checkpoint)})
    page.goto(f"{base_url}/?{query}")
    _settle(page)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text(str(checkpoint))).to_be_visible(timeout=60_000)
    expect(page.locator("[data-testid=stPlotlyChart]")).to_have_count(1, timeout=60_000)


def test_uploading_a_zipped_checkpoint_switches_the_model(page: Page, base_url, tmp_path):
    checkpoint = make_checkpoint("bert", tmp_path / "tiny-bert")
    archive = tmp_path / "tiny-bert.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for file in checkpoint.iterdir():
            out.write(file, f"tiny-bert/{file.name}")
    page.goto(base_url)
    _settle(page)
    page.get_by_role("radio", name="Upload").check(force=True)
    sidebar = page.get_by_test_id("stSidebar")
    upload = sidebar.locator("input[type=file]")
    expect(upload).to_have_count(1, timeout=60_000)
    upload.set_input_files(archive)
    expect(sidebar.get_by_text("mlmviz-uploads")).to_be_visible(timeout=60_000)
    expect(page.locator("[data-testid=stPlotlyChart]")).to_have_count(1, timeout=60_000)
