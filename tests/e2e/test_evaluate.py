"""The Evaluate page in a real Chromium: a run on the held-out sample shows its
progress and numbers, a hard line opens on Predict, and a second model gets
the paired comparison."""

from pathlib import Path
from urllib.parse import urlencode

from hf_checkpoints import noisy_default
from playwright.sync_api import Page, expect
from test_browser import _settle

import mlmviz
from mlmviz.analysis.evaluation import evaluate
from mlmviz.analysis.line_scores import line_scores, worst_lines
from mlmviz.samples import HELDOUT_SAMPLE

SAMPLE = HELDOUT_SAMPLE
LINES = 40


def test_a_run_shows_progress_and_the_hardest_line_opens_on_predict(
        page: Page, base_url, default_model):
    records = []
    with open(SAMPLE, encoding="utf-8") as corpus:
        summary = evaluate(default_model, corpus, max_lines=LINES, on_details=records.extend)
    hardest = worst_lines(line_scores(records), 1).iloc[0]
    text = SAMPLE.read_text(encoding="utf-8").splitlines()[hardest["line"]]

    page.goto(f"{base_url}/evaluate?elines={LINES}")
    _settle(page)
    page.get_by_role("button", name="Run the evaluation").click()
    expect(page.get_by_test_id("stProgress")).to_be_visible(timeout=60_000)
    _settle(page)
    expect(page.get_by_test_id("stProgress")).to_contain_text(f"Evaluated {LINES} lines in")
    top1 = page.get_by_test_id("stMetric").filter(has_text="Top-1 accuracy")
    expect(top1).to_contain_text(f"{summary['top1_accuracy']:.1%}")
    expect(page.locator("[data-testid=stPlotlyChart] .main-svg").first).to_be_visible()

    page.get_by_role("button", name="Open on Predict").first.click()
    _settle(page)
    expect(page.get_by_text("Fill the mask")).to_be_visible(timeout=60_000)
    expect(page.get_by_label("Text", exact=True)).to_have_value(text, timeout=60_000)
    charts = page.locator("[data-testid=stPlotlyChart]")
    expect(charts).to_have_count(len(hardest["positions"]), timeout=60_000)
    expect(page.locator("[data-testid=stException]")).to_have_count(0)


def test_a_second_model_shows_the_paired_difference_in_words(
        page: Page, base_url, default_model, tmp_path):
    other = noisy_default(tmp_path / "noisy")
    with open(SAMPLE, encoding="utf-8") as corpus:
        summary = evaluate(default_model, corpus, max_lines=LINES, compare=mlmviz.load(other))
    paired = summary["compare"]["paired"]
    points = abs(paired["accuracy_difference"]) * 100

    query = urlencode({"elines": LINES, "ecompare": 1, "compare_kind": "Checkpoint path",
                       "compare_path": other})
    page.goto(f"{base_url}/evaluate?{query}")
    _settle(page)
    page.get_by_role("button", name="Run the evaluation").click()
    expect(page.get_by_text("B against A, line by line")).to_be_visible(timeout=120_000)
    expect(page.get_by_text("B is right on")).to_contain_text(f"B is right on {points:.1f} points")
    rows = paired["gains"] + paired["losses"]
    expect(page.get_by_text("— B right on")).to_have_count(len(rows))
    expect(page.locator("[data-testid=stException]")).to_have_count(0)
