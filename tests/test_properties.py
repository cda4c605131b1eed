"""Property-based tests: whatever the input, a well-formed result or one ValueError.

Every public entry point gets arbitrary input (odd Unicode, control
characters, very long text, mask tokens anywhere, out-of-range or
non-integer positions, any top-k and temperature, odd targets) and must
either return a well-formed result (finite probabilities in [0, 1], sorted,
as many as asked for, entropies >= 0, ranks >= 1) or raise `ValueError`
with a one-line message naming what was wrong -- never another exception,
never NaN. Each property also states when an error is due, so a call that
should have been refused cannot pass quietly.

Example counts come from the Hypothesis profile in `conftest.py`:
`HYPOTHESIS_PROFILE=fuzz` (`make fuzz`) runs over 10,000 examples in all,
and `EXAMPLES` counts them for the summary printed at the end.

Regression tests for the bugs these properties found are at the bottom.
"""

import collections
import functools
import json
import math
import numbers
import re
from decimal import Decimal
from fractions import Fraction
from unittest import mock

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import mlmviz
from mlmviz import distributions
from mlmviz.cli import main
from mlmviz.figures.logits import lens_lines, logit_split_bars, norm_bias_scatter
from mlmviz.figures.probabilities import paired_probability_bars, probability_bars
from mlmviz.figures.strips import CORRUPTION_COLOURS, corruption_strip, surprise_strip
from mlmviz.figures.vectors import matrix_heatmap, scatter_2d, value_histogram, vector_heatmap
from mlmviz.layers import STAGE_NAMES

VOCAB = 30522  # the default model's vocabulary (checked below)
MASK = "[MASK]"
EXAMPLES = collections.Counter()  # property name -> examples run; conftest prints it
FEWER = settings(max_examples=max(10, settings.default.max_examples // 4))  # slow properties


def counted(test):
    """Count each example `test` runs in `EXAMPLES`."""
    @functools.wraps(test)
    def run(*args, **kwargs):
        EXAMPLES[test.__name__] += 1
        return test(*args, **kwargs)
    return run


# ---------------------------------------------------------------- strategies

WORDS = ["the", "a", "cat", "sat", "on", "mat", "door", "opened", ".", ",", "!", "?", "'s",
         "don't", "naïve", "café", "Straße", "İstanbul", "東京", "ﬁ", "①", "ＡＢＣ",
         "supercalifragilistic", "x" * 120, "1,000.5", "e\u0301", "HELLO"]
MARKERS = [MASK, MASK, MASK, "[mask]", "[ MASK ]", "[MASK][MASK]", "[MASK]x", "<mask>",
           "[CLS]", "[SEP]", "[PAD]", "[UNK]", "##ing", "[", "]"]
ODD = ["\x00", "\x01", "\x1b[31m", "\x7f", "\x85", "\u200b", "\u200d", "\u200e", "\u200f",
       "\u202e", "\u2066", "\ufeff", "\ufffd", "\u0301", "\u0327\u0301\u0308", "😀",
       "👩\u200d👩\u200d👧", "🇫🇷", "שלום", "مرحبا", "हिन्दी", "\t", "\n", "\r\n",
       "\u00a0", "\u3000", "\u2028", "\U0010ffff", "\ue000", "\U0001d573"]
SPACES = " \t\n\r\x0b\x0c\x1c\x85\u00a0\u1680\u2000\u2028\u2029\u3000\u200b\ufeff"

piece = st.one_of(
    st.sampled_from(WORDS), st.sampled_from(MARKERS), st.sampled_from(ODD), st.text(max_size=6)
)
short_texts = st.lists(
    st.tuples(piece, st.sampled_from([" ", " ", "", "  ", "\n"])), max_size=24
).map(lambda parts: "".join(p + s for p, s in parts))
long_texts = st.builds(  # past the model's 512 tokens, masks before, in and after the cut
    lambda head, unit, count, tail: head + unit * count + tail,
    short_texts,
    st.sampled_from(["word ", f"{MASK} ", "😀 ", "a\u0301 ", "x", "\x00 ", "東京"]),
    st.integers(100, 3000),
    short_texts,
)
masked_texts = st.builds(lambda before, after: f"{before} {MASK} {after}", short_texts, short_texts)
whitespace = st.text(alphabet=SPACES, max_size=20)
broken_texts = st.builds(  # lone surrogates, e.g. undecodable bytes of argv (surrogateescape)
    lambda text, at, surrogate: text[:at] + surrogate + text[at:],
    short_texts, st.integers(0, 50), st.sampled_from(["\ud800", "\udcff", "\udfff"]),
)
texts = st.one_of(short_texts, short_texts, short_texts, long_texts, whitespace, st.text(),
                  broken_texts)

valid_temperatures = st.one_of(
    st.floats(min_value=0.05, max_value=20),
    st.sampled_from([1, 1e-30, 1e-45, 5e-324, 1e30, 1e300, Fraction(1, 3), np.float32(0.5)]),
)
temperatures = st.one_of(
    st.floats(min_value=0.05, max_value=20),
    st.floats(),  # negative, 0, subnormal, huge, inf, NaN
    st.sampled_from([
        1, 2, 0, 0.0, -0.0, -1, 1e-30, 1e-38, 1e-45, 5e-324, 1e30, 1e38, 1e300, float("inf"),
        -float("inf"), float("nan"), True, False, None, "1", "hot", 1j, Decimal("0.5"),
        Fraction(1, 3), np.float32(0.5), np.float16(2), np.float64(1e-40), np.int64(3),
        np.bool_(True), np.array(0.5), [1.0], 10**400,
    ]),
)
valid_top_ks = st.one_of(
    st.integers(1, 40), st.sampled_from([32, 33, 64, 65, VOCAB, VOCAB + 1, 10**9, np.int64(7)])
)
top_ks = st.one_of(
    st.integers(-3, 40),
    st.sampled_from([0, -1, 1, 32, 33, 64, 65, VOCAB - 1, VOCAB, VOCAB + 1, 10**9, 2**64,
                     5.0, 0.5, True, False, None, "5", np.int32(3), np.int64(VOCAB), np.uint8(7),
                     np.bool_(True), float("nan")]),
)
valid_targets = st.lists(st.sampled_from(WORDS + [MASK, "[CLS]", "😀", " door "]), max_size=3)
targets_lists = st.one_of(
    st.lists(st.one_of(st.sampled_from(WORDS), st.sampled_from(ODD + MARKERS + ["", "  "]),
                       st.text(max_size=6)), max_size=4),
    st.lists(st.one_of(st.none(), st.integers(), st.binary(max_size=3), st.sampled_from(WORDS)),
             min_size=1, max_size=3),
    st.sampled_from([None, "door", 5, b"door", ("door", "window"), ["door", "door"]]),
)
one_position = st.one_of(
    st.integers(-3, 40),
    st.integers(-2**70, 2**70),
    st.floats(),
    st.booleans(),
    st.none(),
    st.text(max_size=2),
    st.integers(-2, 40).map(np.int64),
    st.integers(0, 40).map(np.float32),
)


def _positions(data, encoding, maskable):
    """Extra positions for `encoding`: valid ones, all words, specials, junk."""
    count = len(encoding.ids)
    specials = [i for i, s in enumerate(encoding.special) if s]
    kind = data.draw(st.sampled_from(
        ["none", "valid", "valid", "all", "repeated", "special", "junk", "junk", "not a list",
         "array"]), label="positions kind")
    if kind == "none":
        return ()
    if kind == "valid" and maskable:
        return data.draw(st.lists(st.sampled_from(maskable), max_size=5))
    if kind == "all":
        return list(maskable)
    if kind == "repeated" and maskable:
        return [data.draw(st.sampled_from(maskable))] * data.draw(st.integers(2, 4))
    if kind == "special":
        return data.draw(st.lists(st.sampled_from(specials + [count, -1, count + 1]), min_size=1,
                                  max_size=3))
    if kind == "not a list":
        return data.draw(st.sampled_from([None, 1, "12", 1.5, b"1", object()]))
    if kind == "array":
        return np.array(data.draw(st.lists(st.integers(-1, count), max_size=4)), dtype="int64")
    return data.draw(st.lists(one_position, max_size=5))


# ------------------------------------------------------------------- oracle

def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _temperature_ok(value):
    if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)):
        return False
    try:
        return math.isfinite(float(value)) and float(value) > 0
    except OverflowError:
        return False


def _is_unicode(text):
    return not any("\ud800" <= c <= "\udfff" for c in text)


def _position_errors(positions, encoding):
    if isinstance(positions, (str, bytes)):
        return {"position"}
    try:
        positions = list(positions)
    except TypeError:
        return {"position"}
    count = len(encoding.ids)
    for p in positions:
        if not _is_int(p) or not 0 <= p < count or encoding.special[p]:
            return {"position"}
    return set()


def _expected_errors(model, text, positions=(), top_k=5, temperature=1.0, targets=()):
    """The keywords of the errors this call deserves (empty: it must succeed)."""
    errors = set()
    if not _is_int(top_k) or top_k < 1:
        errors.add("top_k")
    if not _temperature_ok(temperature):
        errors.add("temperature")
    if isinstance(targets, (str, bytes)) or not isinstance(targets, (list, tuple)):
        errors.add("target")
    else:
        for word in targets:
            if not isinstance(word, str) or not model.tokenizer.encode_words([word.strip()])[0]:
                errors.add("target")
    if not text.strip():
        return errors | {"empty"}
    if not _is_unicode(text):
        return errors | {"not valid unicode"}
    encoding = model.tokenizer.encode(text)
    position_errors = _position_errors(positions, encoding)
    typed = model.tokenizer.mask_id in encoding.ids
    if not typed and not position_errors and not len(positions):
        errors.add("nothing is masked")
    return errors | position_errors


def _outcome(call, expected):
    """Run `call`: its result if `expected` is empty, else check its ValueError."""
    try:
        result = call()
    except ValueError as error:
        message = str(error)
        assert type(error) is ValueError, f"{type(error).__name__}: {message}"
        assert expected, f"refused a valid call: {message}"
        assert message and "\n" not in message, repr(message)
        assert any(word in message.lower() for word in expected), (message, expected)
        event(f"ValueError: {message[:30]}")
        return None
    assert not expected, f"accepted a call that deserves an error about {expected}"
    event("a result")
    return result


# ------------------------------------------------------------ well-formedness

def _assert_well_formed(model, result, text, positions, top_k, targets):
    encoding = model.tokenizer.encode(text)
    vocabulary = model.head.vocabulary_size
    assert set(result) == {"model", "tokens", "truncated", "masks"}
    assert result["tokens"] == list(encoding.tokens)
    assert result["truncated"] == encoding.truncated
    typed = {i for i, t in enumerate(encoding.ids) if t == model.tokenizer.mask_id}
    assert [m["position"] for m in result["masks"]] == sorted(typed | {int(p) for p in positions})
    k = min(int(top_k), vocabulary)
    for mask in result["masks"]:
        position = mask["position"]
        assert not encoding.special[position]
        assert mask["original"] == encoding.tokens[position]
        predictions = mask["predictions"]
        assert len(predictions) == k
        p = np.array([q["probability"] for q in predictions])
        assert np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all(), p
        assert (np.diff(p) <= 0).all(), "not sorted most probable first"
        assert p.sum() <= 1 + 1e-5
        if k == vocabulary:
            assert abs(p.sum() - 1) <= 1e-4
        ids = [q["token_id"] for q in predictions]
        assert len(set(ids)) == k and all(0 <= i < vocabulary for i in ids)
        assert all(q["token"] == model.vocabulary[q["token_id"]] for q in predictions)
        assert all(math.isfinite(q["logit"]) for q in predictions)
        assert math.isfinite(mask["entropy"])
        assert 0 <= mask["entropy"] <= math.log(vocabulary) + 1e-3
        hidden = position not in typed
        scored = [(encoding.ids[position], mask["original_probability"], mask["original_rank"])]
        assert (mask["original_rank"] is not None) == hidden
        scored = scored if hidden else []
        assert [t["word"] for t in mask["targets"]] == [w.strip() for w in targets]
        scored += [(t["token_id"], t["probability"], t["rank"]) for t in mask["targets"]]
        for token_id, probability, rank in scored:  # all read from the same float32 p
            assert math.isfinite(probability) and 0 <= probability <= p[0]
            assert 1 + (p > probability).sum() <= rank <= vocabulary
            if token_id in ids:  # in the top-k: its probability, ranked among them
                assert probability == p[ids.index(token_id)]
                assert rank == 1 + (p > probability).sum()
            else:
                assert probability <= p[-1]


# --------------------------------------------------------------- properties

def test_the_strategies_fit_the_default_model(default_model):
    assert default_model.head.vocabulary_size == VOCAB
    assert default_model.tokenizer.mask_token == MASK


@given(data=st.data(), text=texts, top_k=top_ks, temperature=temperatures,
       targets=targets_lists)
@counted
def test_fill_mask_returns_a_well_formed_result_or_a_value_error(
    default_model, data, text, top_k, temperature, targets
):
    _check_fill_mask(default_model, data, text, top_k, temperature, targets)


@given(data=st.data(), text=st.one_of(masked_texts, short_texts, long_texts),
       top_k=valid_top_ks, temperature=valid_temperatures, targets=valid_targets)
@counted
def test_fill_mask_with_valid_settings_fails_only_for_the_text_or_positions(
    default_model, data, text, top_k, temperature, targets
):
    # The property above with top_k, temperature and targets valid: most calls give a result.
    _check_fill_mask(default_model, data, text, top_k, temperature, targets)


def _check_fill_mask(default_model, data, text, top_k, temperature, targets):
    if _is_unicode(text):
        encoding = default_model.tokenizer.encode(text)
        maskable = default_model.maskable_positions(encoding)
        positions = _positions(data, encoding, maskable)
    else:
        maskable, positions = [], data.draw(st.lists(st.integers(0, 5), max_size=2))
    many_masks = len(maskable) > 64 or text.count(MASK) > 64
    if many_masks and _is_int(top_k) and top_k > 64:  # 500 masks x 30522 dicts: slow, not wrong
        top_k = data.draw(st.integers(1, 64), label="top_k for many masks")
    expected = _expected_errors(default_model, text, positions, top_k, temperature, targets)
    result = _outcome(
        lambda: default_model.fill_mask(text, top_k=top_k, temperature=temperature,
                                        positions=positions, targets=targets),
        expected,
    )
    if result is not None:
        _assert_well_formed(default_model, result, text, positions, top_k, targets)


@given(text=short_texts, masks=st.integers(1, 4), top_k=st.integers(1, 40),
       temperature=st.one_of(st.floats(1e-45, 1e-20), st.floats(1e20, 1e300),
                             st.sampled_from([5e-324, 1e-38, 1e38, 3.4e38, 1.7e308])))
@counted
def test_extreme_temperatures_give_one_hot_or_uniform_distributions(
    default_model, text, masks, top_k, temperature
):
    text = f"{MASK} " * masks + text
    result = default_model.fill_mask(text, top_k=top_k, temperature=temperature)
    _assert_well_formed(default_model, result, text, (), top_k, ())
    for mask in result["masks"]:
        p = [q["probability"] for q in mask["predictions"]]
        if temperature < 1:  # the arg-max (ties would share it)
            assert p[0] == 1.0 or (len(p) > 1 and p[0] == p[1])
            assert p[0] < 1.0 or mask["entropy"] == 0.0
        else:  # uniform
            assert p == pytest.approx([1 / VOCAB] * len(p), rel=1e-3)


@given(top_k=st.sampled_from([VOCAB, VOCAB + 1, 10**9]), text=short_texts,
       temperature=st.one_of(st.floats(0.05, 20), st.sampled_from([1e-30, 1e30])))
@FEWER
@counted
def test_the_whole_vocabulary_sums_to_one(default_model, top_k, text, temperature):
    text = f"{text} {MASK}"
    result = _outcome(lambda: default_model.fill_mask(text, top_k=top_k, temperature=temperature),
                      _expected_errors(default_model, text, (), top_k, temperature))
    if result is not None:
        _assert_well_formed(default_model, result, text, (), top_k, ())


@given(text=st.one_of(texts, st.text(alphabet=st.characters(codec="utf-8"))))
@counted
def test_encodings_stay_inside_the_text_and_specials_are_never_maskable(default_model, text):
    tokenizer = default_model.tokenizer
    if not _is_unicode(text):
        with pytest.raises(ValueError, match="The text is not valid Unicode: character"):
            tokenizer.encode(text)
        return
    encoding = tokenizer.encode(text)
    count = len(encoding.ids)
    assert count == len(encoding.tokens) == len(encoding.offsets) == len(encoding.special)
    assert 2 <= count <= tokenizer.max_length
    assert not encoding.truncated or count == tokenizer.max_length
    assert encoding.special[0] and encoding.special[-1]
    assert all(0 <= i < VOCAB for i in encoding.ids)
    starts = []
    for (start, end), special in zip(encoding.offsets, encoding.special):
        if special:
            assert (start, end) == (0, 0)
        else:
            assert 0 <= start < end <= len(text)
            starts.append(start)
    assert starts == sorted(starts)
    maskable = default_model.maskable_positions(encoding)
    assert maskable == sorted(set(maskable))
    for position in range(count):
        word = not encoding.special[position] and encoding.ids[position] != tokenizer.mask_id
        assert (position in maskable) == word
    if text.strip():
        for position in maskable[:3] + maskable[-3:]:
            assert position in default_model.mask(text, [position]).positions
        for position in (0, count - 1, count, -1):
            with pytest.raises(ValueError, match="(?i)position"):
                default_model.mask(text, [position])


@given(text=short_texts, masks=st.integers(1, 4), temperature=temperatures,
       positions=st.one_of(st.just(()), st.lists(st.integers(-2, 12), max_size=3)))
@FEWER
@counted
def test_fill_sequentially_fills_every_mask_once(default_model, text, masks, temperature,
                                                 positions):
    text = f"{MASK} " * masks + text
    steps = _outcome(
        lambda: default_model.fill_sequentially(text, positions=positions,
                                                temperature=temperature),
        _expected_errors(default_model, text, positions, temperature=temperature),
    )
    if steps is None:
        return
    masked = default_model.mask(text, positions)
    assert sorted(s["position"] for s in steps) == list(masked.positions)
    for step in steps:
        assert math.isfinite(step["probability"]) and 0 <= step["probability"] <= 1
        assert 0 <= step["token_id"] < VOCAB
        assert step["token"] == default_model.vocabulary[step["token_id"]]
    first = default_model.fill_mask(text, top_k=1, temperature=temperature, positions=positions)
    best = max(m["predictions"][0]["probability"] for m in first["masks"])
    assert steps[0]["probability"] == pytest.approx(best, rel=1e-4, abs=1e-7)


@st.composite
def head_calls(draw):
    """(inputs, positions, valid?) for the default model's head."""
    batch, seq, masks = draw(st.integers(1, 3)), draw(st.integers(1, 12)), draw(st.integers(0, 4))
    elements = st.floats(-1e6, 1e6, width=32, allow_subnormal=False)
    inputs = draw(hnp.arrays(np.float32, (batch, seq, 128), elements=elements))
    scale = draw(st.sampled_from([1.0, 1.0, 0.0, 1e-30, 1e-3, 1e3]))
    inputs = (inputs * np.float32(scale)).astype(np.float32)
    kind = draw(st.sampled_from(["valid", "valid", "valid", "range", "dtype", "rank", "batch"]))
    dtype = draw(st.sampled_from(["int32", "int64", "uint8", "int16"]))
    positions = draw(hnp.arrays(dtype, (batch, masks), elements=st.integers(0, seq - 1)))
    if kind == "range" and masks:
        bad = draw(st.sampled_from([-1, -seq - 1, seq, seq + 5, 2**31 - 1]))
        positions = positions.astype("int64")
        positions[draw(st.integers(0, batch - 1)), draw(st.integers(0, masks - 1))] = bad
    elif kind == "dtype":
        positions = positions.astype(draw(st.sampled_from(["float32", "float64", "bool"])))
    elif kind == "rank":
        positions = draw(st.sampled_from([positions.reshape(-1), positions[..., None]]))
    elif kind == "batch":
        positions = np.concatenate([positions, positions[:1]])
    return inputs, positions, kind == "valid" or (kind == "range" and not masks)


@given(call=head_calls())
@counted
def test_head_stages_are_finite_for_valid_positions_and_refuse_the_rest(default_model, call):
    inputs, positions, valid = call
    head = default_model.head
    if not valid:
        with pytest.raises(ValueError, match="mask_positions must"):
            head.stages(inputs, positions)
        return
    stages = head.stages(inputs, positions)
    assert list(stages) == list(STAGE_NAMES)
    batch, masks = positions.shape
    assert stages["gathered"].shape == (batch, masks, 128)
    assert stages["logits"].shape == stages["context_logits"].shape == (batch, masks, VOCAB)
    for name, values in stages.items():
        assert values.dtype == np.float32 and np.isfinite(values).all(), name
    rows = np.arange(batch)[:, None]
    np.testing.assert_array_equal(stages["gathered"], inputs[rows, positions.astype("int64")])
    np.testing.assert_array_equal(stages["logits"], stages["context_logits"] + stages["bias"])


def _numbers(strategy):
    return st.one_of(strategy, st.sampled_from([
        "0", "-1", "1", "5", "1e-45", "1e-300", "1e300", "nan", "inf", "-inf", "Infinity", "1_0",
        "٣", "0x10", "", " ", "five", str(VOCAB), "99999999999999999999", "1.5", "\n", "--json",
        "-h",
    ]), st.text(max_size=4))


@st.composite
def predict_argv(draw):
    argv = ["predict", draw(st.one_of(short_texts, broken_texts,
                                      st.sampled_from(["", "-x", "--", "-1"])))]
    if draw(st.booleans()):
        argv += ["--top-k", draw(_numbers(st.integers(-3, 50).map(str)))]
    if draw(st.booleans()):
        argv += ["--temperature", draw(_numbers(st.floats().map(repr)))]
    if draw(st.booleans()):
        argv.append("--json")
    if draw(st.integers(0, 4)) == 0:  # a stray argument somewhere
        argv.insert(draw(st.integers(1, len(argv))), draw(st.text(max_size=8)))
    return argv


@given(argv=predict_argv())
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@counted
def test_cli_predict_exits_0_or_2_with_one_line_per_error_on_stderr(default_model, capsys, argv):
    capsys.readouterr()
    status = None
    with mock.patch.object(mlmviz, "load", lambda source, precision: default_model):  # the real model
        try:
            status = main(argv)
        except SystemExit as exit_:  # argparse: usage errors (and --help)
            status = exit_.code
    out, err = capsys.readouterr()
    assert status in (0, 2), status
    if status == 2:  # one line per error (each failed sentence, or the one usage error)
        lines = err.splitlines()
        assert lines and err.endswith("\n"), (out, err)
        assert all(re.match(r"(python -m )?mlmviz( predict)?: error: ", line) for line in lines), err
        assert "Traceback" not in err
    elif out.startswith("usage:"):  # -h
        assert err == ""
    else:
        assert err == "" and out
    if out.startswith("{"):  # --json
        for record in map(json.loads, out.splitlines()):  # one record per sentence
            if "error" in record:
                assert set(record) == {"text", "error"} and status == 2
                continue
            # The fields a user's script reads (README's record); the CLI may add more.
            assert {"text", "model", "tokens", "masks"} <= set(record), sorted(record)
            for mask in record["masks"]:
                assert {"position", "predictions"} <= set(mask), sorted(mask)
                p = [q["probability"] for q in mask["predictions"]]
                assert all(math.isfinite(x) and 0 <= x <= 1 for x in p) and p == sorted(p)[::-1]


# -------------------------------------------------------------- figures

labels = st.text(max_size=12)
finite = st.floats(allow_nan=False, allow_infinity=False)
probabilities = st.floats(0, 1)


def _serialises(figure):
    assert isinstance(figure, go.Figure)
    assert isinstance(json.loads(figure.to_json()), dict)
    return figure


@given(tokens=st.lists(labels, max_size=12), data=st.data(), title=labels)
@counted
def test_bar_figures_serialise(tokens, data, title):
    n = len(tokens)
    values = st.lists(probabilities, min_size=n, max_size=n)
    table = pd.DataFrame({"token": tokens, "probability": data.draw(values)})
    assert len(_serialises(probability_bars(table, title)).data[0].y) == n
    split = pd.DataFrame({"token": tokens,
                          "context": data.draw(st.lists(finite, min_size=n, max_size=n)),
                          "bias": data.draw(st.lists(finite, min_size=n, max_size=n))})
    _serialises(logit_split_bars(split, title))
    figure = paired_probability_bars(tokens, data.draw(values), data.draw(values),
                                     data.draw(st.tuples(labels, labels)), title)
    assert len(_serialises(figure).data) == 2


@given(rows=st.integers(0, 6), dim=st.integers(1, 20), data=st.data(), title=labels)
@counted
def test_heatmaps_serialise_with_nan_cells(rows, dim, data, title):
    cells = st.floats(allow_infinity=False)  # NaN pads rows in the app
    vectors = data.draw(hnp.arrays(np.float32, (rows, dim),
                                   elements=st.floats(allow_infinity=False, width=32)))
    names = data.draw(st.lists(labels, min_size=rows, max_size=rows))
    _serialises(vector_heatmap(vectors, names, title))
    square = data.draw(hnp.arrays(np.float64, (rows, rows), elements=cells))
    zmid = data.draw(st.one_of(st.none(), finite))
    _serialises(matrix_heatmap(square, names, title, zmid=zmid))
    _serialises(value_histogram(vectors[np.isfinite(vectors)], title))
    surprise = data.draw(st.lists(st.floats(0, 1e6), min_size=rows, max_size=rows))
    _serialises(surprise_strip(names, surprise, title))


@given(n=st.integers(0, 10), data=st.data(), title=labels)
@counted
def test_scatter_figures_serialise(n, data, title):
    column = lambda values: data.draw(st.lists(values, min_size=n, max_size=n))  # noqa: E731
    points = pd.DataFrame({"x": column(finite), "y": column(finite), "label": column(labels),
                           "group": column(st.sampled_from(["a", "b", "😀", ""])),
                           "hover": column(labels)})
    _serialises(scatter_2d(points, title, *data.draw(st.tuples(labels, labels))))
    vocabulary = column(labels)
    highlight = data.draw(st.lists(st.integers(0, n - 1), max_size=5)) if n else []
    _serialises(norm_bias_scatter(np.array(column(finite)), np.array(column(finite)),
                                  vocabulary, highlight, title))


@given(n=st.integers(1, 8), data=st.data(), token=labels, title=labels)
@counted
def test_lens_and_corruption_figures_serialise(n, data, token, title):
    column = lambda values: data.draw(st.lists(values, min_size=n, max_size=n))  # noqa: E731
    ranks = column(st.integers(1, 10**9))
    figure = lens_lines(column(labels), column(probabilities), ranks, token, title)
    assert _serialises(figure).layout.yaxis2.range[0] >= math.log10(max(ranks))
    actions = column(st.sampled_from(list(CORRUPTION_COLOURS)))
    _serialises(corruption_strip(column(labels), column(labels), actions, title))


# ------------------------------------------------------ regression tests
# Each found by a property above; plain examples so they run on every `make test`.

@pytest.mark.parametrize("temperature", [1e-45, 1e-38, 5e-324, 1e-300])
def test_temperatures_below_float32_range_give_the_arg_max_not_nan(default_model, temperature):
    # Was: every probability NaN (logits / 0 in float32), then "output is not a number".
    text = "he opened the [MASK] and walked in."
    mask = default_model.fill_mask(text, top_k=3, temperature=temperature)["masks"][0]
    assert [p["probability"] for p in mask["predictions"]] == [1.0, 0.0, 0.0]
    assert mask["entropy"] == 0.0
    greedy = default_model.fill_mask(text, top_k=1)["masks"][0]["predictions"][0]["token"]
    assert mask["predictions"][0]["token"] == greedy
    steps = default_model.fill_sequentially("[MASK] [MASK] .", temperature=temperature)
    assert [s["probability"] for s in steps] == [1.0, 1.0]


def test_softmax_survives_extreme_temperatures():
    logits = np.array([[1.0, 3.0, 3.0, -2.0]], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow is fine
        np.testing.assert_array_equal(distributions.softmax(logits, 1e-300), [[0, 0.5, 0.5, 0]])
        np.testing.assert_allclose(distributions.softmax(logits, 1e300), [[0.25] * 4])


@pytest.mark.parametrize("temperature", [True, np.bool_(True), np.array([1.0, 2.0]), 10**400])
def test_temperature_must_be_a_real_number(default_model, temperature):
    # Was: True accepted as 1.0; an array gave numpy's "truth value ... ambiguous".
    with pytest.raises(ValueError, match="temperature must be > 0 and finite"):
        default_model.fill_mask("a [MASK] .", temperature=temperature)


@pytest.mark.parametrize("positions", [None, 3, "12", b"1"])
def test_positions_that_are_not_a_list_are_refused(default_model, positions):
    # Was: TypeError ('int' object is not iterable) for None and 3.
    with pytest.raises(ValueError, match="Mask positions must be a list of integers"):
        default_model.fill_mask("a [MASK] b", positions=positions)


def test_targets_must_be_a_list_of_words(default_model):
    # Was: a string scored each of its letters; None or 5 raised AttributeError.
    with pytest.raises(ValueError, match=r"targets must be a list of words, e.g. \['door'"):
        default_model.fill_mask("a [MASK] b", targets="door")
    for word in (None, 5, b"door"):
        with pytest.raises(ValueError, match="Each target must be a word"):
            default_model.fill_mask("a [MASK] b", targets=[word])
    with pytest.raises(ValueError, match="The target '  ' has no tokens"):
        default_model.fill_mask("a [MASK] b", targets=["  "])


@pytest.mark.parametrize("text, message", [
    (5, "The text must be a string. Received int 5"),
    (b"a [MASK]", "The text must be a string. Received bytes"),
    ("a \ud800 [MASK]", "not valid Unicode: character 2 is the lone surrogate '\\\\ud800'"),
])
def test_text_that_is_not_a_unicode_string_is_refused(default_model, text, message):
    # Was: AttributeError / TypeError from the tokenizer.
    with pytest.raises(ValueError, match=message):
        default_model.fill_mask(text)
    if isinstance(text, str):
        with pytest.raises(ValueError, match="not valid Unicode"):
            default_model.fill_mask("a [MASK]", targets=[text])


def test_a_mask_cut_off_with_the_long_text_is_explained(default_model):
    # Was: "Nothing is masked: type [MASK] in the text", though [MASK] was typed.
    with pytest.raises(ValueError, match="longer than the model's 512 tokens and its "
                                         r"\[MASK\] lies in the part that was cut off"):
        default_model.fill_mask("word " * 600 + "[MASK] .")


def test_head_refuses_inputs_that_are_not_3d(default_model):
    # Was: "one row per sequence ... 1 rows for a batch of 7" for (7, 128) inputs.
    with pytest.raises(ValueError, match=r"inputs must be 3-D.*Received shape \(7, 128\)"):
        default_model.head.stages(np.zeros((7, 128), "float32"), np.array([[1, 2]]))


def test_cli_errors_stay_on_one_line(capsys):
    # Was: a --model path or a stray argument holding a newline printed two lines.
    assert main(["predict", "a [MASK] .", "--model", "no\nsuch dir"]) == 2
    assert capsys.readouterr().err == "mlmviz: error: no such dir does not exist.\n"
    # A second argument is a second sentence: its error, newline and all, is one line.
    assert main(["predict", "a [MASK] .", "stray\nargument"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["predict", "a [MASK] .", "\udcff"]) == 2  # undecodable argv bytes
    assert capsys.readouterr().err.endswith("the lone surrogate '\\udcff'.\n")
