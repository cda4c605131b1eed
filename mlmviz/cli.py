"""Command line: `python -m mlmviz predict ...`, `attention ...`, `evaluate ...`,
`train ...`, `train-head ...`, `app [SOURCE]` and `serve`."""

import argparse
import contextlib
import functools
import importlib.util
import json
import os
import sys
from dataclasses import MISSING, fields
from pathlib import Path

from mlmviz.samples import HELDOUT_SAMPLE
from mlmviz.training.config import TrainConfig

USAGE_ERROR = 2
INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C
PREDICT_EPILOG = (
    "Sentences are the TEXT arguments, then the lines of --file (blank lines are skipped); "
    "each is predicted on its own. A bad sentence is reported on its own: an error line in "
    "its block, or a {\"text\", \"error\"} record with --json, and one line on stderr. "
    "The others still run, and the exit status is then 2."
)
EVALUATE_EPILOG = (
    "Each line of the corpus is one sequence; the given fraction of its tokens (at least one) "
    "is replaced by the mask token, drawn from --seed and the line number. Lines longer than "
    "the model's limit are cut and counted. Ctrl-C stops, reports the lines done so far and "
    "exits with status 130. "
    "With --compare, model B predicts the same masked lines (the two tokenizers must agree, "
    "else it stops with status 2); the JSON object is A's summary with a \"compare\" object "
    "holding B's summary and \"paired\": accuracy_difference (B - A top-1 accuracy), its "
    "95 % interval from 1000 bootstrap resamples of lines (seed 0), and the lines where B "
    "gains and loses most (line, masked_tokens, positions, labels, correct_a, correct_b, "
    "difference). --details then writes A's records and B's for each batch, each with a "
    "\"model\" field, \"A\" or \"B\". "
    "--pll adds pll_per_token (mean pseudo-log-likelihood per token, nats), "
    "pseudo_perplexity, pll_tokens and pll_lines to each model's summary: every token of every "
    "line is masked in turn, so it is much slower."
)


def _program_name():
    """How the user ran the CLI: the installed `mlmviz` script or `python -m mlmviz`."""
    return "mlmviz" if Path(sys.argv[0]).name == "mlmviz" else "python -m mlmviz"


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line on stderr and exit status 2."""

    def error(self, message):
        self.exit(USAGE_ERROR, f"{self.prog}: error: {_one_line(message)}\n")


def build_parser():
    parser = _Parser(prog=_program_name(), description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    predict = commands.add_parser(
        "predict", help="top-k predictions at each mask of TEXT", epilog=PREDICT_EPILOG
    )
    predict.add_argument("text", nargs="*", help="text with the model's mask token, e.g. [MASK]")
    predict.add_argument("--file", help="more sentences, one per line (- reads standard input)")
    _model_options(predict)
    predict.add_argument("--top-k", type=int, default=5)
    predict.add_argument("--temperature", type=float, default=1.0)
    predict.add_argument(
        "--json", action="store_true", help="print one JSON record per sentence (JSON Lines)"
    )

    attention = commands.add_parser(
        "attention", help="every layer's attention weights on TEXT",
        epilog="Without --json, prints per layer the token that the first token and each "
               "mask attend to most, averaged over heads.",
    )
    attention.add_argument("text", help="text with the model's mask token, e.g. [MASK]")
    _model_options(attention)
    attention.add_argument(
        "--json", action="store_true",
        help='print {"tokens": [...], "attention": [layer][head][query][key]}',
    )

    evaluate = commands.add_parser(
        "evaluate", help="masked-token accuracy, loss and calibration on a corpus",
        epilog=EVALUATE_EPILOG,
    )
    _model_options(evaluate)
    evaluate.add_argument("--corpus", default=str(HELDOUT_SAMPLE),
                          help="text file, one sequence per line (default: the held-out sample "
                               "shipped in the package)")
    evaluate.add_argument("--rate", type=float, default=0.15, help="fraction of tokens masked per line")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--max-lines", type=int, help="read at most N lines of the corpus")
    evaluate.add_argument("--batch-size", type=int, default=64)
    evaluate.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    evaluate.add_argument("--details", help="write one JSON line per masked token to this file")
    evaluate.add_argument("--compare", metavar="SOURCE_B",
                          help="a second checkpoint, evaluated on the same masked lines")
    evaluate.add_argument("--pll", action="store_true",
                          help="also the pseudo-log-likelihood of every line (slow; --ray shares it out)")
    evaluate.add_argument(
        "--ray", nargs="?", const="local", metavar="ADDRESS",
        help="shard the corpus over Ray actors: alone, a local Ray; auto, the cluster of "
             "`ray start --head`; ray://HOST:PORT, a remote one (needs Ray: pip install ray)",
    )
    evaluate.add_argument("--ray-workers", type=int, metavar="N",
                          help="Ray actors (default: one per GPU, else one per 4 CPUs)")

    train = commands.add_parser("train", help="continue MLM training of a checkpoint")
    for field in fields(TrainConfig):
        flag = "--" + field.name.replace("_", "-")
        if field.default is MISSING:
            train.add_argument(flag, required=True, dest=field.name)
        else:
            train.add_argument(flag, type=type(field.default), default=field.default, dest=field.name)
    _train_head_options(commands)

    app = commands.add_parser("app", help="serve the app in the browser (needs mlmviz[app])")
    app.add_argument("source", nargs="?", default="default",
                     help="checkpoint folder, .keras file, hf:ORG/NAME or a well-known model "
                          "such as bert-base-uncased (default: the embedded model)")
    app.add_argument("--port", type=int, default=8501, help="(default: %(default)s)")
    app.add_argument("--host", default="127.0.0.1",
                     help="address to listen on (default: %(default)s, this machine only)")
    _serve_options(commands)
    return parser


SERVE_EPILOG = (
    "Shared mode, for people you do not know (a class, a booth, a lab): visitors choose among "
    "the embedded model, the well-known models already in this machine's Hugging Face cache "
    "and the models of --models-dir (each sub-folder or .keras file, by its name); they cannot "
    "type a path, and no message shows a path of this machine. Uploads and downloads from the "
    "Hub are off unless allowed. With --replicas N above 1, N servers run behind nginx "
    "(Debian's: apt-get install nginx). See docs/serving-a-class.md."
)


def _serve_options(commands):
    """The `serve` subcommand: the app for others, in shared mode."""
    command = commands.add_parser(
        "serve", help="serve the app to others: they reach only the models you offer "
                      "(needs mlmviz[app])", epilog=SERVE_EPILOG)
    command.add_argument("--replicas", type=int, default=1,
                         help="app servers behind nginx (default: %(default)s, no nginx)")
    command.add_argument("--host", default="127.0.0.1",
                         help="address to listen on (default: %(default)s, this machine only; "
                              "0.0.0.0: every network interface)")
    command.add_argument("--port", type=int, default=8501, help="(default: %(default)s)")
    command.add_argument("--models-dir", type=Path, metavar="DIR",
                         help="the models offered: each sub-folder or .keras file of DIR")
    command.add_argument("--allow-uploads", action="store_true",
                         help="let visitors upload a checkpoint (kept per session, deleted "
                              "when it ends)")
    command.add_argument("--allow-downloads", action="store_true",
                         help="let visitors download well-known models from the Hub")
    command.add_argument("--disk-mb", type=float, default=2000,
                         help="disk for visitors' uploads and trained heads, all together "
                              "(default: %(default)g MB)")
    command.add_argument("--run-dir", type=Path,
                         help="with --replicas: nginx's config, the logs and replicas.json "
                              "(default: a new temp folder)")


TRAIN_HEAD_EPILOG = (
    "The encoder of --base stays frozen: its hidden states at 15 % of the corpus's tokens, "
    "all masked, are computed once (float16), and a freshly initialised head learns from them. "
    "Held-out accuracy is top-1 on the shipped held-out sample (mlmviz/assets/heldout-sample.txt). "
    "Writes DIR/model.keras (the encoder with the new head; mlmviz.load(DIR) reads it) and "
    "DIR/training.json. --json prints steps, seconds (training time), heldout_accuracy, loss "
    "and the curve as one JSON object."
)


def _train_head_options(commands):
    """The `train-head` subcommand: a fresh head on a frozen encoder (`training.head`)."""
    command = commands.add_parser(
        "train-head", help="train a fresh masked-LM head on a frozen encoder",
        epilog=TRAIN_HEAD_EPILOG,
    )
    command.add_argument("--base", required=True, help="checkpoint whose encoder is used")
    command.add_argument("--corpus", help="text file, one sentence per line "
                                          "(default: the training sample shipped in the package)")
    budget = command.add_mutually_exclusive_group()
    budget.add_argument("--seconds", type=float, help="training time (default: 60)")
    budget.add_argument("--steps", type=int, help="training steps")
    command.add_argument("--learning-rate", type=float, default=3e-3)
    command.add_argument("--batch-size", type=int, default=128)
    command.add_argument("--untied", action="store_true",
                         help="give the head its own output matrix instead of the token embedding")
    command.add_argument("--activation", choices=("gelu", "relu"), default="gelu",
                         help="the head's intermediate activation (default: %(default)s)")
    command.add_argument("--train-embedding", action="store_true",
                         help="let training change the tied token embedding too")
    command.add_argument("--positions", type=int, default=200_000,
                         help="masked positions cached from the corpus (default: %(default)s)")
    command.add_argument("--every", type=int, default=100,
                         help="a point of the curve every N steps (default: %(default)s)")
    command.add_argument("--seed", type=int, default=0)
    command.add_argument("--out", required=True, metavar="DIR", help="folder to write")
    command.add_argument("--json", action="store_true", help="print the result as one JSON object")


def _model_options(command):
    """--model and --precision, the options of every command that loads a model."""
    command.add_argument("--model", default="default", help="checkpoint source (default: %(default)s)")
    command.add_argument(
        "--precision", default="float32",
        help="float32 (default) or bfloat16: the dtype the weights are held and computed in; "
             "bfloat16 halves the weights' bytes and reports its agreement with float32",
    )


def _load(args, source=None):
    """`mlmviz.load` of `source` (default: --model) in --precision."""
    import mlmviz

    return mlmviz.load(args.model if source is None else source, precision=args.precision)


def main(argv=None):
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    command = {"predict": _predict, "attention": _attention, "evaluate": _evaluate,
               "train": _train, "train-head": _train_head, "app": _app_source,
               "serve": _check_serve}[args.command]
    try:
        with _quiet_stderr() as terminal:  # TensorFlow's C++ logs go to file descriptor 2
            args.terminal = terminal
            problems = command(args) or []
        if args.command == "app" and not problems:
            return _serve(args)
        if args.command == "serve" and not problems:
            return _serve_shared(args)
    except (ValueError, OSError) as error:  # CheckpointError is a ValueError
        problems = [str(error)]
    except KeyboardInterrupt:  # a command with a partial result has printed it
        print("mlmviz: interrupted", file=sys.stderr)
        return INTERRUPTED
    for problem in problems:  # printed here: stderr is quiet inside the command
        print(f"mlmviz: error: {_one_line(problem)}", file=sys.stderr)
    return USAGE_ERROR if problems else 0


def _one_line(message):
    """`message` on one printable line.

    An argument or a path may hold a newline, or a lone surrogate (undecodable
    bytes in argv), which a strict UTF-8 stream cannot write: it is escaped.
    """
    message = message.encode("utf-8", "backslashreplace").decode("utf-8")
    return " ".join(message.splitlines())


@contextlib.contextmanager
def _quiet_stderr():
    """Send file descriptor 2 (C++ logs included) to /dev/null for a while.

    Yields a text stream on the real standard error (for a progress bar).
    """
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
    terminal = os.fdopen(os.dup(saved), "w")
    try:
        yield terminal
    finally:
        terminal.close()
        os.dup2(saved, 2)
        os.close(saved)


def _predict(args):
    """Predict every sentence; return one problem per bad sentence."""
    from mlmviz.distributions import check_temperature
    from mlmviz.model import check_top_k
    from mlmviz.precision import describe_agreement

    sentences = _sentences(args.text, args.file)
    check_temperature(args.temperature)
    model = _load(args)
    check_top_k(args.top_k, model.head.vocabulary_size)
    several = len(sentences) > 1
    if args.precision != "float32" and not args.json:
        print(f"({describe_agreement(model.metadata)})")
    problems = []
    for number, text in enumerate(sentences, 1):
        if several and not args.json:  # a blank line between blocks
            print(("\n" if number > 1 else "") + f"sentence {number}: {_one_line(text)}")
        try:
            result = model.fill_mask(text, top_k=args.top_k, temperature=args.temperature)
        except ValueError as error:
            problems.append(f"sentence {number}: {error}" if several else str(error))
            if args.json:
                print(json.dumps({"text": text, "error": str(error)}), flush=True)
            elif several:
                print(f"  error: {_one_line(str(error))}")
            continue
        if args.json:
            print(json.dumps({"text": text, **_json_result(result), **_precision(model)}),
                  flush=True)
        else:
            _print_table(result, model.metadata["max_length"])
    return problems


def _sentences(texts, file):
    """The TEXT arguments, then the non-blank lines of `file` ("-": standard input)."""
    sentences = list(texts)
    if file is not None:
        stream = contextlib.nullcontext(sys.stdin) if file == "-" else open(file, encoding="utf-8")
        with stream as lines:
            sentences += [line.rstrip("\r\n") for line in lines if line.strip()]
    if not sentences:
        raise ValueError("no text: give TEXT with a mask, or --file FILE with one sentence a line")
    return sentences


def _print_table(result, max_length):
    if result["truncated"]:
        print(f"(text cut to the model's {max_length} tokens)")
    for mask in result["masks"]:
        print(f"position {mask['position']} ({mask['original']}):")
        for prediction in mask["predictions"]:
            print(f"  {prediction['token']:<20} {prediction['probability']:8.4f}")


def _precision(model):
    """The JSON record's `precision` and `agreement` (None for float32, the reference)."""
    return {"precision": model.metadata["precision"],
            "agreement": model.metadata.get("agreement")}


def _json_result(result):
    """The documented JSON shape: model, tokens, masks[position, predictions]."""
    return {
        "model": result["model"],
        "tokens": result["tokens"],
        "masks": [
            {
                "position": mask["position"],
                "predictions": [
                    {key: p[key] for key in ("token", "token_id", "probability")}
                    for p in mask["predictions"]
                ],
            }
            for mask in result["masks"]
        ],
    }


def _attention(args):
    """Print the attention weights of one text, as JSON or per-layer highlights."""
    from mlmviz.analysis.attention import attention, strongest_keys

    model = _load(args)
    masked = model.mask(args.text)
    weights = attention(model, masked)  # (layers, heads, seq, seq)
    tokens = list(masked.encoding.tokens)
    if args.json:
        print(json.dumps({"tokens": tokens, "attention": weights.tolist()}))
        return
    print(f"{len(tokens)} tokens, {weights.shape[0]} layers, {weights.shape[1]} heads; "
          "the token each one attends to most, averaged over heads:")
    for query in (0, *masked.positions):
        print(f"{tokens[query]} (position {query}):")
        for layer, (key, weight) in enumerate(strongest_keys(weights, query), 1):
            print(f"  layer {layer}: {tokens[key]} (position {key}) {weight:.3f}")


def _train(args):
    from mlmviz.training.train import train

    config = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
    train(config)


def _train_head(args):
    """Train a fresh head on --base's frozen encoder; write --out; print the result."""
    from mlmviz.training.head import HeadSettings, train_head

    if args.seconds is not None and not args.seconds > 0:
        raise ValueError(f"--seconds must be a positive number. Received {args.seconds}")
    if args.steps is not None and args.steps < 1:
        raise ValueError(f"--steps must be a positive integer. Received {args.steps}")
    for flag in ("positions", "every"):
        if getattr(args, flag) < 1:
            raise ValueError(f"--{flag} must be a positive integer. Received {getattr(args, flag)}")
    settings = HeadSettings(  # checks the learning rate, batch size and the embedding flag
        learning_rate=args.learning_rate, batch_size=args.batch_size, tied=not args.untied,
        activation=args.activation, train_embedding=args.train_embedding, seed=args.seed,
    )
    lines = None if args.corpus is None else _corpus_lines(args.corpus)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file: give a folder to write model.keras into.")
    seconds = 60.0 if args.seconds is None and args.steps is None else args.seconds
    log = None if args.json else (lambda text: print(text, flush=True))
    report = train_head(
        _load(argparse.Namespace(model=args.base, precision="float32")), lines, settings, out,
        seconds=seconds, steps=args.steps, positions=args.positions, every=args.every, log=log,
    )
    if args.json:
        print(json.dumps({key: report[key] for key in (
            "steps", "seconds", "heldout_accuracy", "loss", "baseline_accuracy", "curve", "out"
        )}), flush=True)


def _app_source(args):
    """Check `app`'s SOURCE by loading it, before any server starts, and make
    it a source the server reads wherever it runs: a well-known model's name
    becomes its `hf:` source (downloaded when not cached), a path absolute."""
    if importlib.util.find_spec("streamlit") is None:
        return ['the app needs Streamlit: pip install "mlmviz[app]"']
    import mlmviz
    from mlmviz.sources.known import KNOWN_MODELS

    source = args.source
    names = {name: model.repo_id for model in KNOWN_MODELS
             for name in (model.repo_id, model.repo_id.split("/")[1])}
    if source in names and not Path(source).exists():
        source = f"hf:{names[source]}"
    elif source != "default" and not source.startswith("hf:"):
        source = str(Path(source).expanduser().absolute())
    mlmviz.load(source)
    args.source = source


def _serve(args):
    """Become the app's Streamlit server on SOURCE (this process is replaced, so
    the model loaded to check SOURCE is not held twice); Ctrl-C stops it."""
    from mlmviz.app import SOURCE_ENV
    from mlmviz.app.replicas import streamlit_command

    command = streamlit_command(args.port, args.host)
    print(f"mlmviz app: http://{args.host}:{args.port}/ on {args.source} "
          "(Ctrl-C stops it)", flush=True)
    os.execve(sys.executable, command, {**os.environ, SOURCE_ENV: args.source})


def _check_serve(args):
    """`serve`'s arguments checked before anything starts: the problems, or none."""
    from mlmviz.app.replicas import NGINX

    if importlib.util.find_spec("streamlit") is None:
        return ['the app needs Streamlit: pip install "mlmviz[app]"']
    if args.replicas < 1:
        return ["--replicas must be at least 1"]
    if args.replicas > 1 and not Path(NGINX).exists():
        return [f"--replicas {args.replicas} runs nginx, and {NGINX} is missing: "
                "apt-get install nginx (or serve with --replicas 1)"]
    if args.models_dir is not None and not args.models_dir.is_dir():
        return [f"--models-dir {args.models_dir} is not a folder"]
    return []


def _serve_shared(args):
    """Serve the app in shared mode (`mlmviz.app.access`) until Ctrl-C or SIGTERM:
    one Streamlit server (this process is replaced), or `--replicas` behind nginx."""
    import signal
    import socket
    import tempfile

    from mlmviz.app import SOURCE_ENV, access, replicas

    # The servers inherit this environment: shared mode, and no model of `mlmviz app`.
    os.environ.update(access.environment(args.models_dir, args.allow_uploads,
                                         args.allow_downloads, args.disk_mb))
    os.environ.pop(SOURCE_ENV, None)
    offered = ", ".join(["embedded default", *access.server_models()])
    options = {"client.showErrorDetails": "none"}  # a traceback names the server's files
    loopback = args.host in ("127.0.0.1", "localhost", "::1")
    shown = args.host if loopback else socket.gethostname()
    print(f"mlmviz serve: http://{replicas.address(shown, args.port)}/ in shared mode; "
          f"models offered: {offered}; uploads {'on' if args.allow_uploads else 'off'}, "
          f"Hub downloads {'on' if args.allow_downloads else 'off'}.", flush=True)
    print("Only this machine can open it (--host 0.0.0.0 shares it on your network)." if loopback
          else f"Share that address: anyone who can reach this machine on port {args.port} can "
          "use the app, without a login.", flush=True)
    if args.replicas == 1:
        command = replicas.streamlit_command(args.port, args.host, options)
        os.execv(sys.executable, command)
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="mlmviz-serve-"))
    run_dir.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))  # stops every child
    return replicas.serve(args.replicas, args.port, run_dir.resolve(), host=args.host,
                          options=options)


def _corpus_lines(path):
    """The lines of a corpus file (strict UTF-8), or a ValueError saying why not."""
    from mlmviz.sources.corpus import corpus_lines

    return corpus_lines(path, Path(path).read_bytes())


def _evaluate(args):
    """Evaluate a model on a corpus; print the summary, write the details."""
    if args.ray is not None or args.ray_workers is not None:
        if args.precision != "float32":
            raise ValueError("--precision applies without --ray: Ray actors load float32")
        return _evaluate_on_ray(args)
    from mlmviz.analysis.evaluation import check_rate, evaluate
    from mlmviz.analysis.paired import check_same_tokenizer

    check_rate(args.rate)
    with open(args.corpus, encoding="utf-8") as corpus, contextlib.ExitStack() as stack:
        total = _count_lines(corpus.buffer, args.max_lines)
        corpus.seek(0)
        model = _load(args)
        other = None if args.compare is None else _load(args, args.compare)
        if other is not None:
            check_same_tokenizer(model, other)  # before the details file is opened
        write, bar = _details_and_progress(args, stack, total)
        summary = evaluate(
            model, corpus, rate=args.rate, seed=args.seed, max_lines=args.max_lines,
            batch_size=args.batch_size, on_progress=bar.update, on_details=write,
            pll=args.pll, compare=other,
        )
    _report(summary, args.json)


def _details_and_progress(args, stack, total):
    """`(write, bar)`: the details file's writer (None without --details) and a
    progress bar of `total` lines, both closed with `stack`."""
    write = None
    if args.details:
        details = stack.enter_context(open(args.details, "w", encoding="utf-8"))
        write = functools.partial(_write_lines, details)
    return write, stack.enter_context(_progress(args.terminal, total))


def _report(summary, as_json):
    """Print an evaluation summary; a partial one then exits as interrupted."""
    if as_json:
        print(json.dumps(summary), flush=True)
    else:
        _print_summary(summary)
    if summary["interrupted"]:
        raise KeyboardInterrupt  # the partial result is out: exit as interrupted


def _evaluate_on_ray(args):
    """`_evaluate`, the corpus sharded over Ray (`mlmviz.analysis.ray_evaluation`)."""
    from mlmviz.analysis.evaluation import check_rate
    from mlmviz.analysis.ray_evaluation import evaluate_on_ray, ray_session

    if args.ray is None:
        raise ValueError("--ray-workers needs --ray")
    if args.compare is not None:
        raise ValueError("--compare runs on one machine: leave out --ray to compare two models")
    check_rate(args.rate)
    with open(args.corpus, encoding="utf-8") as corpus, contextlib.ExitStack() as stack:
        total = _count_lines(corpus.buffer, args.max_lines)
        corpus.seek(0)
        stack.enter_context(ray_session(None if args.ray == "local" else args.ray))
        write, bar = _details_and_progress(args, stack, total)
        summary = evaluate_on_ray(
            args.model, corpus, rate=args.rate, seed=args.seed, max_lines=args.max_lines,
            batch_size=args.batch_size, workers=args.ray_workers, on_progress=bar.update,
            on_details=write, pll=args.pll,
        )
    _report(summary, args.json)


def _count_lines(stream, limit):
    """Lines in a binary stream (the last one without a newline counts), at most `limit`."""
    count, last = 0, b"\n"
    for block in iter(lambda: stream.read(1 << 20), b""):
        count, last = count + block.count(b"\n"), block[-1:]
    count += last != b"\n"
    return count if limit is None else min(count, limit)


def _progress(terminal, total):
    """A tqdm bar of corpus lines on `terminal` (hidden when it is not a terminal)."""
    from tqdm import tqdm

    return tqdm(total=total, unit=" lines", file=terminal, disable=None)


def _write_lines(stream, records):
    stream.writelines(json.dumps(record) + "\n" for record in records)


def _print_summary(summary):
    if summary["interrupted"]:
        print("Interrupted: the numbers cover the lines done so far.")
    _print_metrics(summary)
    if "compare" in summary:
        print("\ncompared with")
        _print_metrics(summary["compare"])
        _print_paired(summary["compare"]["paired"])


def _print_metrics(summary):
    print(f"model          {summary['model']}")
    for key in ("lines", "skipped_lines", "cut_lines", "masked_tokens"):
        print(f"{key:<15}{summary[key]:,}")
    if "pll_per_token" in summary and summary["pll_tokens"]:
        print(f"pll_per_token  {summary['pll_per_token']:.4f} nats over "
              f"{summary['pll_tokens']:,} tokens of {summary['pll_lines']:,} lines")
        print(f"pseudo_perplexity {summary['pseudo_perplexity']:.4f}")
    if not summary["masked_tokens"]:
        return
    for key in ("top1_accuracy", "top5_accuracy", "loss", "perplexity", "ece"):
        print(f"{key:<15}{summary[key]:.4f}")
    best = summary["best_temperature"]
    print(f"best T         {best['temperature']:.3f} (loss {best['loss']:.4f})")
    print("reliability    confidence  accuracy  count")
    for b in summary["reliability"]:
        if b["count"]:
            print(f"  {b['low']:.1f}-{b['high']:.1f}      {b['confidence']:.3f}"
                  f"       {b['accuracy']:.3f}  {b['count']:,}")
    print("frequency rank accuracy  count")
    for band in summary["by_frequency"]:
        ranks = f"{band['low_rank']}-{band['high_rank'] or ''}"
        accuracy = "-" if band["accuracy"] is None else f"{band['accuracy']:.3f}"
        print(f"  {ranks:<13}{accuracy:<9}{band['count']:,}")


def _print_paired(paired):
    print(f"\npaired, B - A over {paired['lines']:,} lines ({paired['masked_tokens']:,} masks)")
    if paired["accuracy_difference"] is None:
        return
    (low, high), bootstrap = paired["interval"], paired["bootstrap"]
    print(f"accuracy_difference {paired['accuracy_difference']:+.4f} "
          f"({bootstrap['level']:.0%} interval {low:+.4f} to {high:+.4f}, "
          f"{bootstrap['resamples']} bootstrap resamples of lines)")
    for key, title in (("gains", "gains most"), ("losses", "loses most")):
        if paired[key]:
            print(f"lines where B {title}:")
        for row in paired[key]:
            masks = row["masked_tokens"]
            print(f"  line {row['line']:,}: A {row['correct_a']}/{masks}, "
                  f"B {row['correct_b']}/{masks} ({row['difference']:+d}) "
                  f"{_one_line(' '.join(row['labels']))}")
