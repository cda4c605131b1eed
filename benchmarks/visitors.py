"""What a student does on the app, through the protocol client, and what each
answer must show.

`Student` is one visitor on one `st_protocol.Session`: it opens the app, types
the sentences of `load_sessions.session_sentences` (each with one [MASK]),
clicks token pills (masks one more word, or unmasks one when two are
masked), changes top-k (up one, then back) and switches to another page and
back to Predict: the action mix of `benchmarks/load_sessions.py` plus top-k.
Each action returns a `Sample`; an answer that does not show what the
student expects raises `Mismatch` (see `predict_problems`).
"""

import random
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]
from bench_app import DEFAULT_TOP_K, Sentence, default_text  # noqa: E402
from load_sessions import PAGES, PREDICT, WITHOUT_PILLS, chart_title, session_sentences  # noqa: E402
from st_protocol import Session, charts, headings, problems  # noqa: E402

ACTIONS = ("type a sentence", "click a token", "change top-k", "switch page")


class Mismatch(Exception):
    """The app's answer does not show what the student expects."""


@dataclass
class Sample:
    """One timed interaction: `kind`, seconds from the rerun request to
    `script_finished`, bytes received, and how many charts were checked."""

    kind: str
    seconds: float
    received: int
    charts: int


def bars(figure):
    """The number of bars of a probability chart (its first trace's categories)."""
    data = figure.get("data") or [{}]
    return len(data[0].get("y") or [])


def title(figure):
    heading = figure.get("layout", {}).get("title", {})
    return heading.get("text") if isinstance(heading, dict) else heading


def predict_problems(elements, titles, top_k, text):
    """What is wrong with the Predict page's `elements` (`Element` protos)
    for a student whose text is `text`, whose charts must be titled exactly
    `titles` (one per mask: a chart of an older text or mask is stale) with
    `top_k` bars each. Returns a list of lines; empty when all is right."""
    found = problems(elements)
    if PREDICT[1] not in headings(elements):
        found.append(f"the page's headings are {headings(elements)}, not {PREDICT[1]!r}")
    shown = [(title(f), bars(f)) for f in charts(elements)]
    if sorted(t for t, _ in shown) != sorted(titles):
        found.append(f"charts {[t for t, _ in shown]}, expected {titles}")
    found += [f"chart {t!r} has {n} bars, not {top_k}" for t, n in shown if n != top_k]
    boxes = [e.text_area.value for e in elements
             if e.WhichOneof("type") == "text_area" and e.text_area.set_value]
    if boxes and boxes[0] != text:
        found.append(f"the text box shows {boxes[0]!r}, not {text!r}")
    return found


def page_problems(elements, page):
    """What is wrong with the sidebar page `page` (a name of `PAGES`): its
    title missing, no chart, or an error box."""
    heading, _ = PAGES[page]
    found = problems(elements)
    if heading not in headings(elements):
        found.append(f"{page}: headings {headings(elements)}, not {heading!r}")
    if not charts(elements):
        found.append(f"{page}: no chart")
    return found


class Student:
    """One visitor: a `Session` on `base_url`, their own sentences (number
    `number`) and the state they expect the app to keep."""

    def __init__(self, base_url, number, timeout=30.0):
        self.session = Session(base_url, timeout=timeout)
        self.number, self.random = number, random.Random(number)
        self.sentences = session_sentences(number)
        self.sentence, self.picked, self.top_k, self.turn = Sentence(default_text()), set(), DEFAULT_TOP_K, 0
        self.pages = list(PAGES)

    def close(self):
        self.session.close()

    def expected_titles(self):
        positions = sorted(set(self.sentence.masks) | self.picked)
        return [chart_title(self.sentence, p) for p in positions]

    def sample(self, kind, run, checked):
        return Sample(kind, run.seconds, run.received, checked)

    def check_predict(self, kind, run):
        """The Predict page after `run`: raise `Mismatch`, or return the `Sample`."""
        elements = self.session.elements()
        found = predict_problems(elements, self.expected_titles(), self.top_k, self.sentence.text)
        if found:
            raise Mismatch(f"{kind}: " + "; ".join(found))
        return self.sample(kind, run, len(charts(elements)))

    # --- actions ------------------------------------------------------------------

    def open(self):
        self.sentence, self.picked, self.top_k = Sentence(default_text()), set(), DEFAULT_TOP_K
        return self.check_predict("open the app", self.session.open())

    def type_sentence(self):
        self.sentence = self.sentences[self.turn % len(self.sentences)]
        self.turn += 1
        self.picked = {p for p in self.picked if p in self.sentence.words}
        return self.check_predict("type a sentence",
                                  self.session.set_widget("text", self.sentence.text))

    def click_token(self):
        """Mask one more word, or unmask one when two are masked already."""
        if len(self.picked) >= 2:
            self.picked.discard(min(self.picked))
        else:
            words = [p for p in self.sentence.words[3:] if p not in self.picked]  # not "session N:"
            self.picked.add(self.random.choice(words))
        labels = self.session.widget("picked").proto.options
        value = [labels[self.sentence.pills.index(p)].content
                 for p in sorted(self.picked | {*self.sentence.masks})]  # typed masks stay pressed
        return self.check_predict("click a token", self.session.set_widget("picked", value))

    def change_top_k(self):
        self.top_k += 1 if self.top_k == DEFAULT_TOP_K else -1
        return self.check_predict("change top-k",
                                  self.session.set_widget("top_k", [float(self.top_k)]))

    def switch_page(self):
        """Another page from the sidebar (each in turn), then back to Predict:
        two samples."""
        name = self.pages[(self.number + self.turn) % len(self.pages)]
        run = self.session.switch_page(name)
        elements = self.session.elements()
        found = page_problems(elements, name)
        pills = [e for e in elements if e.WhichOneof("type") == "button_group"]
        if name in WITHOUT_PILLS and pills:
            found.append(f"{name}: token pills drawn")
        if found:
            raise Mismatch(f"to {name}: " + "; ".join(found))
        away = self.sample(f"to {name}", run, len(charts(elements)))
        back = self.check_predict("back to Predict", self.session.switch_page(PREDICT[0]))
        return [away, back]

    def act(self, action):
        """Do `action` (one of `ACTIONS`); returns a list of `Sample`s."""
        step = {"type a sentence": self.type_sentence, "click a token": self.click_token,
                "change top-k": self.change_top_k, "switch page": self.switch_page}[action]
        done = step()
        return done if isinstance(done, list) else [done]
