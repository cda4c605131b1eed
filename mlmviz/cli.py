"""Command line: `python -m mlmviz predict ...` and `python -m mlmviz train ...`."""

import argparse
import json
import os
import sys
from dataclasses import MISSING, fields

USAGE_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line on stderr and exit status 2."""

    def error(self, message):
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message}\n")


def build_parser():
    parser = _Parser(prog="python -m mlmviz", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    predict = commands.add_parser("predict", help="top-k predictions at each mask of TEXT")
    predict.add_argument("text", help="text with the model's mask token, e.g. [MASK]")
    predict.add_argument("--model", default="default", help="checkpoint source (default: %(default)s)")
    predict.add_argument("--top-k", type=int, default=5)
    predict.add_argument("--temperature", type=float, default=1.0)
    predict.add_argument("--json", action="store_true", help="print JSON instead of a table")

    from mlmviz.train import TrainConfig

    train = commands.add_parser("train", help="continue MLM training of a checkpoint")
    for field in fields(TrainConfig):
        flag = "--" + field.name.replace("_", "-")
        if field.default is MISSING:
            train.add_argument(flag, required=True, dest=field.name)
        else:
            train.add_argument(flag, type=type(field.default), default=field.default, dest=field.name)
    return parser


def main(argv=None):
    """Run the command line; return the exit status."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    from mlmviz.checkpoints import CheckpointError

    try:
        if args.command == "predict":
            _predict(args)
        else:
            _train(args)
    except (ValueError, CheckpointError, OSError) as error:
        print(f"mlmviz: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    return 0


def _predict(args):
    import mlmviz

    model = mlmviz.load(args.model)
    result = model.fill_mask(args.text, top_k=args.top_k, temperature=args.temperature)
    if args.json:
        print(json.dumps(_json_result(result)))
        return
    if result["truncated"]:
        print(f"(text cut to the model's {model.metadata['max_length']} tokens)")
    for mask in result["masks"]:
        print(f"position {mask['position']} ({mask['original']}):")
        for prediction in mask["predictions"]:
            print(f"  {prediction['token']:<20} {prediction['probability']:8.4f}")


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


def _train(args):
    from mlmviz.train import TrainConfig, train

    config = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
    train(config)
