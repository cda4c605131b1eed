"""The text box every page shares: long texts, the truncation notice, odd tokens."""


import pytest
from streamlit.testing.v1 import AppTest

from mlmviz.app import ENTRY

APP = ENTRY
SENTENCE = "the old man walked his dog in the park every morning. "
LONG = SENTENCE * 60  # 660 words, 721 tokens: past the model's 512


def _open(page, text):
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.query_params.update({"text": text})
    app.switch_page(f"app_pages/{page}.py")
    return app.run()


def _kinds(app):
    return [type(node).__name__ for node in app.main]


@pytest.mark.parametrize("page", ["predict", "anatomy", "states", "lens", "masking_lab"])
def test_a_cut_text_is_announced_under_the_text_box(page):
    app = _open(page, LONG)
    assert not app.exception
    kinds = _kinds(app)
    assert kinds[kinds.index("TextArea") + 1] == "Warning"  # right under the box
    notice = app.warning[0].value
    assert "at most 512 tokens" in notice and f"of {len(LONG):,})" in notice
    kept = int(notice.split("(character ")[1].split(" ")[0].replace(",", ""))
    assert 0 < kept < len(LONG) and LONG[:kept].endswith(notice.split("… ")[1].split("”")[0])


def test_a_text_within_the_limit_has_no_notice():
    app = _open("lens", SENTENCE * 3)
    assert not app.exception and not app.warning


def test_many_tokens_put_the_pills_in_a_scrollable_box():
    for text, scrolls in ((SENTENCE, False), (LONG, True)):
        app = _open("predict", text)
        kinds = _kinds(app)
        box = [n for n in app.main if type(n).__name__ == "Block"][
            sum(k == "Block" for k in kinds[:kinds.index("ButtonGroup")]) - 1]
        assert box.proto.height_config.HasField("pixel_height") == scrolls, text[:20]
        assert len(app.pills(key="picked").options) == (12 if not scrolls else 510)


def test_an_unknown_token_pill_shows_the_characters_it_stands_for():
    app = _open("predict", "i love 😀 and 🎭 and 😀 so much")
    # As drawn: Streamlit shows a label that is one emoji as the pill's icon.
    labels = [o.content or o.content_icon for o in app.pills(key="picked").proto.options]
    assert "🎭" in labels and "😀₃" in labels and "😀₇" in labels
    assert not any("[UNK]" in label for label in labels)
    app.pills(key="picked").select(5).run()  # masks 🎭
    assert not app.exception
    assert app.query_params["picked"] == "5" and app.get("plotly_chart")


def test_the_text_box_takes_several_lines():
    text = "the old man walked his [MASK].\nthe children played in the park."
    app = _open("predict", text)
    assert not app.exception
    assert app.text_area(key="text").value == text
    assert app.get("plotly_chart")


def test_a_typed_mask_has_a_button_of_its_own_shown_masked():
    app = _open("predict", "he opened the [MASK] and walked in.")
    pills = app.pills(key="picked")
    labels = [o.content for o in pills.proto.options]
    assert labels[:5] == ["he", "opened", "the", "[MASK]", "and"]  # in its place, not missing
    assert pills.value == [4]  # shown masked (position 0 is [CLS])
    assert "delete it from the text" in pills.help
    pills.select(7).run()  # a click masks another word; the typed mask stays
    assert not app.exception
    assert app.pills(key="picked").value == [4, 7]
    assert app.query_params["picked"] == "7"  # the link holds the clicked word only
    app.pills(key="picked").unselect(4).run()  # a typed mask is unmasked in the text only
    assert app.pills(key="picked").value == [4, 7] and len(app.get("plotly_chart")) == 2
