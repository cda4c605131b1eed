"""The protocol-level load test: real Locust users against the real app server,
and the checks that make an interaction count as an error."""

import json
import subprocess
import sys
from pathlib import Path

from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.Element_pb2 import Element

from benchmarks import visitors

ROOT = Path(__file__).resolve().parents[2]
TEXT = "he opened the [MASK] and walked into the room."
TITLES = ["Position 4: [MASK]"]


def test_a_few_locust_users_work_without_errors(base_url, tmp_path):
    """3 StudentUsers for 10 s: no failure, and every user acted and had its charts checked.

    Latency is not asserted (it depends on the machine's load).
    """
    student = visitors.Student(base_url, 0, timeout=180)  # the first run loads the model
    try:
        student.open()
    finally:
        student.close()
    summary = tmp_path / "summary.json"
    done = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(ROOT / "benchmarks" / "locustfile.py"),
         "--host", base_url, "--headless", "-u", "3", "-r", "3", "-t", "10s",
         "--stop-timeout", "60", "--only-summary", "--summary-file", str(summary)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    print(done.stdout[-3000:], done.stderr[-3000:])
    raw = json.loads(summary.read_text())
    assert raw["failures"] == []
    assert done.returncode == 0
    acted = {user for user, kind, _, charts in raw["samples"] if kind != "open the app" and charts}
    assert acted == {1, 2, 3}, raw["samples"]


def _heading(text):
    element = Element()
    element.heading.body = text
    return element


def _chart(title, bars):
    element = Element()
    element.plotly_chart.spec = json.dumps({
        "data": [{"type": "bar", "y": [f"token{i}" for i in range(bars)]}],
        "layout": {"title": {"text": title}},
    })
    return element


def _page(*extra, title=TITLES[0], bars=5):
    return [_heading("Fill the mask"), _chart(title, bars), *extra]


def test_the_expected_predict_page_passes():
    assert visitors.predict_problems(_page(), TITLES, 5, TEXT) == []


def test_a_stale_chart_is_an_error():
    """The chart of the previous text (another mask) left on the page."""
    problems = visitors.predict_problems(_page(title="Position 6: [MASK]"), TITLES, 5, TEXT)
    assert len(problems) == 1 and "expected ['Position 4: [MASK]']" in problems[0], problems


def test_a_stale_top_k_is_an_error():
    problems = visitors.predict_problems(_page(bars=5), TITLES, 6, TEXT)
    assert problems == ["chart 'Position 4: [MASK]' has 5 bars, not 6"]


def test_an_exception_box_is_an_error():
    box = Element()
    box.exception.type = "ValueError"
    box.exception.message = "boom"
    assert visitors.predict_problems(_page(box), TITLES, 5, TEXT) == ["exception: ValueError: boom"]


def test_an_error_box_is_an_error():
    box = Element()
    box.alert.format = Alert.ERROR
    box.alert.body = "The model failed."
    assert visitors.predict_problems(_page(box), TITLES, 5, TEXT) == ["st.error: The model failed."]
    box.alert.format = Alert.INFO  # an st.info is not an error
    assert visitors.predict_problems(_page(box), TITLES, 5, TEXT) == []


def test_another_page_instead_of_predict_is_an_error():
    elements = [_heading("Inside the head"), _chart(TITLES[0], 5)]
    assert visitors.predict_problems(elements, TITLES, 5, TEXT) == [
        "the page's headings are ['Inside the head'], not 'Fill the mask'"]


def test_a_lost_text_is_an_error():
    box = Element()
    box.text_area.value, box.text_area.set_value = "something else", True
    assert visitors.predict_problems(_page(box), TITLES, 5, TEXT) == [
        f"the text box shows 'something else', not {TEXT!r}"]
