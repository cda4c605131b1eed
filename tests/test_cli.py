"""`python -m mlmviz predict` and `python -m mlmviz train`."""

import collections
import io
import json
import math

import numpy as np
import pytest
from hf_checkpoints import CORPUS, make_checkpoint, reference_logits
from nested import close
from safetensors.numpy import load_file

import mlmviz
from mlmviz.cli import main


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    return make_checkpoint("bert", tmp_path_factory.mktemp("cli") / "bert")


def test_predict_json_has_the_documented_shape(tiny_bert, capsys):
    status = main(["predict", "the [MASK] sat on the [MASK] .", "--model", str(tiny_bert),
                   "--top-k", "3", "--json"])
    assert status == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"text", "model", "tokens", "masks", "precision", "agreement"}
    assert (result["precision"], result["agreement"]) == ("float32", None)
    assert result["text"] == "the [MASK] sat on the [MASK] ."
    assert result["model"] == str(tiny_bert)
    assert [m["position"] for m in result["masks"]] == [2, 6]
    for mask in result["masks"]:
        assert set(mask) == {"position", "predictions"}
        assert len(mask["predictions"]) == 3
        assert all(set(p) == {"token", "token_id", "probability"} for p in mask["predictions"])
        probabilities = [p["probability"] for p in mask["predictions"]]
        assert probabilities == sorted(probabilities, reverse=True)
    expected = mlmviz.load(tiny_bert).fill_mask("the [MASK] sat on the [MASK] .", top_k=3)
    assert result["masks"][0]["predictions"][0]["token"] == expected["masks"][0]["predictions"][0]["token"]


def test_predict_prints_a_table(tiny_bert, capsys):
    assert main(["predict", "the [MASK] sat .", "--model", str(tiny_bert), "--top-k", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "position 2 ([MASK]):"
    assert len(lines) == 3


@pytest.mark.parametrize(
    "args, message",
    [
        (["predict", "no mask here"], "Nothing is masked"),
        (["predict", "a [MASK] b", "--top-k", "0"], "top_k"),
        (["predict", "a [MASK] b", "--temperature", "-1"], "temperature"),
        (["predict", "a [MASK] b", "--model", "/nonexistent"], "does not exist"),
        (["attention", "no mask here"], "Nothing is masked"),
        (["attention", "   "], "empty"),
        (["attention", "a [MASK] b", "--model", "/nonexistent"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_status_2(tiny_bert, capsys, args, message):
    if "--model" not in args:
        args = [*args, "--model", str(tiny_bert)]
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and message in captured.err


def test_usage_errors_are_one_line_too(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", "a [MASK] b", "--top-k", "many"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


SENTENCES = ["the [MASK] sat on the mat .", "the dog ran to the [MASK] .", "a [MASK] [MASK] b"]


def _records(out):
    return [json.loads(line) for line in out.splitlines()]


def _check_records(records, tiny_bert, sentences=SENTENCES):
    """One record per sentence, in order, each equal to that sentence predicted alone."""
    model = mlmviz.load(tiny_bert)
    assert [r["text"] for r in records] == sentences
    for record, text in zip(records, sentences):
        alone = model.fill_mask(text, top_k=2)
        assert record["tokens"] == alone["tokens"]
        assert [m["position"] for m in record["masks"]] == [m["position"] for m in alone["masks"]]
        assert [p["token"] for p in record["masks"][0]["predictions"]] == [
            p["token"] for p in alone["masks"][0]["predictions"]]


def test_several_sentences_as_arguments_give_one_json_line_each(tiny_bert, capsys):
    assert main(["predict", *SENTENCES, "--model", str(tiny_bert), "--top-k", "2", "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    _check_records(_records(captured.out), tiny_bert)


def test_sentences_from_a_file_skip_blank_lines(tiny_bert, tmp_path, capsys):
    path = tmp_path / "sentences.txt"
    path.write_text(f"{SENTENCES[0]}\n\n{SENTENCES[1]}\r\n   \n{SENTENCES[2]}\n", encoding="utf-8")
    assert main(["predict", "--file", str(path), "--model", str(tiny_bert), "--top-k", "2",
                 "--json"]) == 0
    _check_records(_records(capsys.readouterr().out), tiny_bert)


def test_sentences_from_standard_input_follow_the_arguments(tiny_bert, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(SENTENCES[1:]) + "\n"))
    assert main(["predict", SENTENCES[0], "--file", "-", "--model", str(tiny_bert),
                 "--top-k", "2", "--json"]) == 0
    _check_records(_records(capsys.readouterr().out), tiny_bert)


def test_a_bad_sentence_among_several_is_reported_alone_and_the_status_is_2(tiny_bert, capsys):
    sentences = [SENTENCES[0], "no mask here", SENTENCES[1]]
    assert main(["predict", *sentences, "--model", str(tiny_bert), "--top-k", "2", "--json"]) == 2
    captured = capsys.readouterr()
    records = _records(captured.out)
    assert [r["text"] for r in records] == sentences
    assert set(records[1]) == {"text", "error"} and "Nothing is masked" in records[1]["error"]
    _check_records([records[0], records[2]], tiny_bert, [sentences[0], sentences[2]])
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("mlmviz: error: sentence 2: Nothing is masked")


def test_several_sentences_print_a_block_each(tiny_bert, capsys):
    assert main(["predict", SENTENCES[0], "no mask here", "--model", str(tiny_bert),
                 "--top-k", "2"]) == 2
    blocks = capsys.readouterr().out.split("\n\n")
    assert blocks[0].splitlines()[:2] == [f"sentence 1: {SENTENCES[0]}", "position 2 ([MASK]):"]
    assert len(blocks[0].splitlines()) == 4
    assert blocks[1].splitlines()[0] == "sentence 2: no mask here"
    assert blocks[1].splitlines()[1].startswith("  error: Nothing is masked")


def test_no_sentence_at_all_is_one_line_and_status_2(tiny_bert, tmp_path, capsys):
    (tmp_path / "empty.txt").write_text("\n\n")
    assert main(["predict", "--file", str(tmp_path / "empty.txt"), "--model", str(tiny_bert)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "no text" in captured.err


def test_help_says_how_a_bad_sentence_among_several_is_reported(capsys):
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--file" in help_text and "standard input" in help_text
    assert "The others still run, and the exit status is then 2." in help_text


def test_train_smoke_run_writes_a_loadable_checkpoint(tiny_bert, tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(CORPUS[:32]) + "\n")
    heldout = tmp_path / "heldout.txt"
    heldout.write_text("\n".join(CORPUS[32:]) + "\n")
    out = tmp_path / "trained"
    status = main([
        "train", "--base", str(tiny_bert), "--corpus", str(corpus), "--heldout", str(heldout),
        "--out", str(out), "--steps", "4", "--batch-size", "4", "--sequence-length", "16",
        "--warmup-steps", "1", "--log-every", "2",
    ])
    assert status == 0
    report = json.loads((out / "training.json").read_text())
    assert len(report["loss"]) == 2 and all(np.isfinite(report["loss"]))
    assert 0 <= report["heldout_accuracy_after"] <= 1
    before = load_file(tiny_bert / "model.safetensors")
    after = load_file(out / "model.safetensors")
    assert after.keys() == before.keys()
    assert not np.array_equal(after["cls.predictions.bias"], before["cls.predictions.bias"])
    model = mlmviz.load(out)
    masked = model.mask("the [MASK] sat .")
    reference = reference_logits(out, np.array([masked.ids]))[0, list(masked.positions)]
    assert np.abs(model.stages(masked)["logits"][0] - reference).max() <= 1e-4


def _recompute(records, corpus_lines, tokenizer, maskable):
    """The evaluation summary from `--details` records alone (plus, for
    `by_frequency`, the token counts of the corpus lines that were scored)."""
    from mlmviz.analysis.evaluation import BANDS, BINS, TEMPERATURES

    n = len(records)
    correct = [r["predicted_id"] == r["label_id"] for r in records]
    bins = [[] for _ in range(BINS)]
    for record, right in zip(records, correct):
        bins[min(int(record["predicted_probability"] * BINS), BINS - 1)].append(
            (record["predicted_probability"], right))
    grid = [sum(r["temperature_losses"][t] for r in records) / n for t in range(len(TEMPERATURES))]
    best = min(range(len(grid)), key=grid.__getitem__)
    counts = collections.Counter()
    for line in sorted({r["line"] for r in records}):
        encoding = tokenizer.encode(corpus_lines[line])
        counts.update(encoding.ids[p] for p in maskable(encoding))
    rank = {token: i + 1 for i, (token, _) in enumerate(
        sorted(counts.items(), key=lambda item: (-item[1], item[0])))}
    bands = []
    for low, high in BANDS:
        inside = [right for r, right in zip(records, correct)
                  if low <= rank[r["label_id"]] <= (high or float("inf"))]
        bands.append({"low_rank": low, "high_rank": high, "count": len(inside),
                      "accuracy": sum(inside) / len(inside) if inside else None})
    loss = sum(r["loss"] for r in records) / n
    return {
        "masked_tokens": n,
        "lines": len({r["line"] for r in records}),
        "top1_accuracy": sum(correct) / n,
        "loss": loss,
        "perplexity": math.exp(loss),
        "ece": sum(abs(sum(c for _, c in b) - sum(p for p, _ in b)) for b in bins) / n,
        "reliability": [
            {"low": b / BINS, "high": (b + 1) / BINS, "count": len(rows),
             "confidence": sum(p for p, _ in rows) / len(rows) if rows else None,
             "accuracy": sum(c for _, c in rows) / len(rows) if rows else None}
            for b, rows in enumerate(bins)
        ],
        "best_temperature": {"temperature": TEMPERATURES[best], "loss": grid[best]},
        "by_frequency": bands,
    }


def _close(a, b):
    """Equal, floats to 1e-12 (the sums' order differs), through lists and dicts."""
    return close(a, b, rel=1e-12, abs_=1e-12)


def test_evaluate_json_and_details_round_trip(tiny_bert, tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    lines = [*CORPUS, "", " ".join(CORPUS)]  # a blank line, and one over the 40-token limit
    corpus.write_text("\n".join(lines) + "\n")
    details = tmp_path / "details.jsonl"
    status = main(["evaluate", "--model", str(tiny_bert), "--corpus", str(corpus), "--rate", "0.3",
                   "--seed", "1", "--batch-size", "4", "--json", "--details", str(details)])
    assert status == 0
    summary = json.loads(capsys.readouterr().out)
    records = [json.loads(line) for line in details.read_text().splitlines()]
    assert summary["model"] == str(tiny_bert) and not summary["interrupted"]
    assert summary["cut_lines"] == 1 and summary["skipped_lines"] == 1
    assert summary["lines"] == len(CORPUS) + 1
    model = mlmviz.load(tiny_bert)
    expected = _recompute(records, lines, model.tokenizer, model.maskable_positions)
    for key, value in expected.items():
        assert _close(summary[key], value), (key, summary[key], value)
    for record in records:
        assert record["position"] in record["positions"]
        assert record["label"] == model.vocabulary[record["label_id"]]
        assert record["predicted"] == model.vocabulary[record["predicted_id"]]
        assert record["label_probability"] == pytest.approx(math.exp(-record["loss"]), rel=1e-12)
        if record["label_id"] == record["predicted_id"]:
            assert record["label_probability"] == pytest.approx(record["predicted_probability"],
                                                                rel=1e-5)


def test_evaluate_max_lines_table_and_bad_input(tiny_bert, tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(CORPUS))
    assert main(["evaluate", "--model", str(tiny_bert), "--corpus", str(corpus),
                 "--max-lines", "3"]) == 0
    out = capsys.readouterr().out
    assert "lines          3" in out and "top1_accuracy" in out and "reliability" in out
    for args, message in [(["--rate", "0"], "mask rate"), (["--batch-size", "0"], "batch_size"),
                          (["--corpus", str(tmp_path / "missing.txt")], "missing.txt")]:
        argv = ["evaluate", "--model", str(tiny_bert), "--corpus", str(corpus), *args]
        assert main(argv) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.count("\n") == 1 and message in captured.err


@pytest.mark.parametrize("argv0, program", [
    ("/home/me/venv/bin/mlmviz", "mlmviz"),
    ("/repo/mlmviz/__main__.py", "python -m mlmviz"),
])
def test_usage_names_the_command_the_user_ran(monkeypatch, capsys, argv0, program):
    monkeypatch.setattr("sys.argv", [argv0])
    with pytest.raises(SystemExit) as stopped:
        main(["predict", "--top-k", "many"])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.startswith(f"{program} predict: error:")
