"""A masked LM bundle: tokenizer + keras-hub encoder + our MaskedLMHead.

`MaskedLM` is what `mlmviz.load` returns and what the app and CLI use. It
owns the tokenizer, places masks itself, runs the encoder once per request,
and exposes the numbers later pages draw: per-layer hidden states at the
mask positions, the head and its tied embedding matrix, and a verdict on
whether the head looks trained.
"""

import functools
import math
from dataclasses import dataclass

import keras
import numpy as np

from mlmviz.compiled import Predictor
from mlmviz.distributions import check_temperature
from mlmviz.inspection import Inspector
from mlmviz.layers import MaskedLMHead


@dataclass(frozen=True)
class HeadCheck:
    """Whether the head looks trained, and a sentence saying why."""

    trained: bool
    message: str


def check_head(head, has_head_weights=True):
    """Judge whether `head` holds trained weights.

    A head restored from a checkpoint without head tensors, or whose output
    bias is all zero while its LayerNorm is still gamma=1, beta=0 (the
    initial values), has never been trained: its predictions are noise.
    """
    if not has_head_weights:
        return HeadCheck(
            False,
            "The checkpoint has no masked-LM head weights: the head is "
            "randomly initialised, so its predictions are meaningless.",
        )
    bias = keras.ops.convert_to_numpy(head.output_bias)
    gamma, beta = (keras.ops.convert_to_numpy(w) for w in head._intermediate_layer_norm.weights)
    fresh = (
        np.abs(bias).max() < 1e-6
        and np.abs(gamma - 1).max() < 1e-6
        and np.abs(beta).max() < 1e-6
    )
    if fresh:
        return HeadCheck(
            False,
            "The head looks freshly initialised (output bias 0, LayerNorm "
            "gamma 1 and beta 0): it was never trained, so its predictions "
            "are noise.",
        )
    return HeadCheck(True, "The head has trained weights.")


def describe(source, architecture, backbone, head, weight_hash):
    """The `metadata` dict of a `MaskedLM` built from a keras-hub backbone."""
    own = sum(math.prod(w.shape) for w in head.weights if "embeddings" not in w.path)
    return {
        "source": source,
        "architecture": architecture,
        "vocabulary_size": head.vocabulary_size,
        "hidden_dim": backbone.hidden_dim,
        "num_layers": backbone.num_layers,
        "max_length": backbone.max_sequence_length,
        "tied": head.token_embedding is not None,
        "parameters": backbone.count_params() + own,  # the tied embedding once
        "weight_hash": weight_hash,
    }


@dataclass(frozen=True)
class Masked:
    """A text tokenized and masked, ready for the model.

    Attributes:
        encoding: the tokenizer's `Encoding` of the original text.
        ids: token ids with the mask id written at `positions`.
        positions: sorted mask positions (typed mask tokens and chosen ones).
    """

    encoding: object
    ids: tuple
    positions: tuple


class MaskedLM:
    """Tokenizer, encoder and head of one checkpoint, never mutated after load.

    Args:
        tokenizer: an `mlmviz.tokenization.Tokenizer`.
        backbone: the encoder, a functional model (a keras-hub backbone, or
            the encoder of an `mlmviz.save` file) whose `input` is a dict of
            `token_ids`, `padding_mask` (and `segment_ids`), with a
            `token_embedding` attribute.
        head: our `MaskedLMHead`, usually tied to that token embedding.
        metadata: dict describing the checkpoint (source, architecture, ...).
        head_check: the `HeadCheck` verdict.

    Attributes:
        warnings: sentences about problems that do not stop loading, e.g.
            weights holding NaN or infinity (predictions then raise
            ValueError instead of returning NaN probabilities).
    """

    def __init__(self, tokenizer, backbone, head, metadata, head_check):
        if not isinstance(head, MaskedLMHead):
            raise TypeError(f"head must be an mlmviz MaskedLMHead, got {type(head)}")
        self.tokenizer = tokenizer
        self.backbone = backbone
        self.head = head
        self.metadata = metadata
        self.head_check = head_check
        unique = {id(w): w for w in backbone.weights + head.weights}  # the tie appears twice
        self.warnings = nonfinite_weights(unique.values())
        self._predictor = Predictor(backbone, head)
        self._inspector = Inspector(backbone, head)
        self.vocabulary = [
            tokenizer.id_to_token(i) or f"[unused id {i}]"
            for i in range(head.vocabulary_size)
        ]

    @functools.cached_property
    def token_index(self):
        """`{token string: id}` of `vocabulary`, built once (read it, do not change it)."""
        return {token: i for i, token in enumerate(self.vocabulary)}

    @property
    def embedding_matrix(self):
        """The input token embedding `(vocab, embedding_dim)`, float32 numpy.

        For a tied head this is also the output projection.
        """
        embeddings = self.backbone.token_embedding.embeddings
        return keras.ops.convert_to_numpy(embeddings).astype("float32")

    def warm_up(self):
        """Compile the prediction path ahead of the first request (takes ~1 s). The
        inspection paths compile at their first use."""
        self._predictor.warm_up()

    @property
    def output_matrix(self):
        """The rows the head scores against, `(vocab, feature_dim)` float32 numpy.

        The tied embedding matrix for a tied head, else the transposed
        `output_kernel`: logits = normed vector @ output_matrix.T + bias.
        """
        if self.head.token_embedding is not None:
            weights = self.head.token_embedding.embeddings  # (vocab, feature)
        else:
            weights = keras.ops.transpose(self.head.output_kernel)  # (vocab, feature)
        return keras.ops.convert_to_numpy(weights).astype("float32")

    @property
    def output_bias(self):
        """The head's output bias `(vocab,)`, float32 numpy."""
        return keras.ops.convert_to_numpy(self.head.output_bias).astype("float32")

    def maskable_positions(self, encoding):
        """Positions a user may mask: words, not special or already-masked tokens."""
        return [
            i for i, (special, token_id) in enumerate(zip(encoding.special, encoding.ids))
            if not special and token_id != self.tokenizer.mask_id
        ]

    def typed_masks(self, encoding):
        """Positions of the mask tokens typed in the text (`mask` masks them all)."""
        return [i for i, token_id in enumerate(encoding.ids) if token_id == self.tokenizer.mask_id]

    def mask(self, text, positions=()):
        """Tokenize `text` and mask its typed mask tokens plus `positions`.

        Args:
            text: the input; the model's mask token (e.g. "[MASK]") may be
                typed in it.
            positions: extra token positions to mask (indices into the
                tokens, special tokens included).

        Raises:
            ValueError: text that is empty or not a string of valid Unicode,
                no mask at all, or a position that is not an integer, out of
                range or on a special token.
        """
        if text is None or (isinstance(text, str) and not text.strip()):
            raise ValueError("The text is empty: type a sentence.")
        encoding = self.tokenizer.encode(text)
        ids = list(encoding.ids)
        chosen = {_check_position(position, encoding)
                  for position in _as_list(positions, "Mask positions must be a list of integers")}
        masked = tuple(sorted(chosen | set(self.typed_masks(encoding))))
        mask_token = self.tokenizer.mask_token
        if not masked and encoding.truncated and mask_token in self.tokenizer.spell_masks(text):
            raise ValueError(
                f"Nothing is masked: the text is longer than the model's "
                f"{self.tokenizer.max_length} tokens and its {mask_token} lies in the "
                "part that was cut off. Shorten the text or mask an earlier word."
            )
        if not masked:
            raise ValueError(
                f"Nothing is masked: type {mask_token} in the text "
                "or choose tokens to mask."
            )
        for position in masked:
            ids[position] = self.tokenizer.mask_id
        return Masked(encoding, tuple(ids), masked)

    def inspect(self, masked):
        """The `inspection.Inspection` of a masked text (`mask`'s output): every
        layer's states at the masks, the head's stages and the logit lens, from
        one compiled run, kept for the next caller (read-only arrays)."""
        return self._inspector.inspect(masked.ids, masked.positions)

    def layer_states(self, masked):
        """Hidden states at the mask positions after the embeddings and each layer.

        Returns:
            read-only float32 array `(num_layers + 1, masks, hidden_dim)`; the
            last entry is what the head reads.
        """
        return self.inspect(masked).states

    def stages(self, masked):
        """`MaskedLMHead.stages` for the masked text (batch of one; read-only arrays)."""
        return dict(self.inspect(masked).stages)

    def attention(self, masked):
        """Every layer's attention weights on a masked text.

        Returns:
            read-only float32 `(layers, heads, seq, seq)`: entry `[l, h, q, k]`
            is how much token `q` attends to token `k` in head `h` of layer
            `l`; each row over `k` sums to 1.

        Raises:
            ValueError: for an encoder without `TransformerEncoder` layers.
        """
        return self._inspector.attention(masked.ids)

    def batch_logits(self, token_ids, positions, batch_size=64):
        """Head logits for many equal-length sequences, run in chunks.

        Args:
            token_ids: `(batch, seq)` int ids, masks already written in.
            positions: `(batch, masks)` positions to score in each row.
            batch_size: rows per encoder call (bounds memory).

        Returns:
            float32 `(batch, masks, vocab)` logits before any activation.
        """
        token_ids = np.asarray(token_ids, dtype="int32")  # (batch, seq)
        positions = np.asarray(positions, dtype="int32")  # (batch, masks)
        chunks = [
            self._inspector.logits(token_ids[start:start + batch_size],
                                   positions[start:start + batch_size])  # (chunk, masks, V)
            for start in range(0, len(token_ids), batch_size)
        ]
        return np.concatenate(chunks)

    def fill_mask(self, text, top_k=5, temperature=1.0, positions=(), targets=()):
        """Top-k predictions at every mask of `text`, each mask on its own.

        The head predicts every mask independently from the same context (the
        other masks stay masked); see `fill_sequentially` for the alternative.

        Args:
            text: input text, with the model's mask token typed where wanted.
            top_k: predictions per mask (1 to the vocabulary size).
            temperature: softmax temperature, > 0.
            positions: extra token positions to mask (real words the user hid).
            targets: words whose probability and rank to report at each mask.

        Returns:
            dict with `model` (source), `tokens`, `truncated` and `masks`:
            one entry per mask in position order with
            - `position`, and `original`: the token there before masking;
            - `predictions`: dicts with `token`, `token_id`, `probability`
              and `logit`, most probable first;
            - `entropy` of the distribution, in nats;
            - `original_probability` and `original_rank` (1 = top) of the
              hidden word, or None where the mask token was typed;
            - `targets`: per target word, `word`, `token`, `token_id`,
              `probability`, `rank` and `split` (True when the word is
              several tokens: the first one is scored).

        Raises:
            ValueError: for bad text, positions, `top_k`, `temperature` or
                targets (not a list of words, or a word without tokens).
        """
        top_k = check_top_k(top_k, self.head.vocabulary_size)
        temperature = check_temperature(temperature)
        targets = _as_list(targets, "targets must be a list of words, e.g. ['door', 'window']")
        target_ids = [self._target(word) for word in targets]
        masked = self.mask(text, positions)
        queries = [  # (masks, 1 + targets): the hidden word, then the targets
            [masked.encoding.ids[position]] + [token_id for _, token_id, _ in target_ids]
            for position in masked.positions
        ]
        readout = self._predictor(masked.ids, masked.positions, queries, temperature, top_k)
        if not np.isfinite(readout["top_probabilities"]).all():
            raise ValueError(
                "The model's output is not a number (NaN or infinity): "
                + (" ".join(self.warnings) or "its weights or this input overflow.")
            )
        masks = [
            self._describe_mask(masked, index, readout, top_k, target_ids)
            for index in range(len(masked.positions))
        ]
        return {
            "model": self.metadata["source"],
            "tokens": list(masked.encoding.tokens),
            "truncated": masked.encoding.truncated,
            "masks": masks,
        }

    def fill_sequentially(self, text, positions=(), temperature=1.0):
        """Fill the masks one at a time, most confident first.

        At each step the model is run on the text with the masks still
        open, the single most probable (mask, token) pair is written in, and
        the model runs again. Unlike `fill_mask`, later choices see earlier
        ones.

        Returns:
            list of steps in fill order, dicts with `position`, `token`,
            `token_id` and `probability` (at the time of filling).
        """
        temperature = check_temperature(temperature)
        masked = self.mask(text, positions)
        ids, remaining, steps = list(masked.ids), list(masked.positions), []
        while remaining:
            queries = [[0]] * len(remaining)  # (open masks, 1): unused
            readout = self._predictor(ids, remaining, queries, temperature, 1)
            best = readout["top_probabilities"][:, 0]  # (open masks,)
            mask = int(np.argmax(best))
            token_id = int(readout["top_ids"][mask, 0])
            position = remaining.pop(mask)
            ids[position] = token_id
            steps.append({
                "position": position,
                "token": self.vocabulary[token_id],
                "token_id": token_id,
                "probability": float(best[mask]),
            })
        return steps

    def _target(self, word):
        """(word, token id of its first piece, split into several pieces?)."""
        if not isinstance(word, str):
            raise ValueError(f"Each target must be a word (a string). Received {word!r}")
        typed, word = word, word.strip()
        pieces = self.tokenizer.encode_words([word])[0] if word else []
        if not pieces:
            raise ValueError(f"The target {typed!r} has no tokens: give a word.")
        return word, pieces[0], len(pieces) > 1

    def _describe_mask(self, masked, index, readout, top_k, target_ids):
        """One mask's entry of `fill_mask` from the compiled read-out."""
        position = masked.positions[index]
        hidden = masked.encoding.ids[position] != self.tokenizer.mask_id
        probabilities = readout["query_probabilities"][index]  # (1 + targets,)
        ranks = readout["query_ranks"][index]  # (1 + targets,)
        top = zip(*(readout[name][index, :top_k]
                    for name in ("top_ids", "top_probabilities", "top_logits")))
        return {
            "position": position,
            "original": masked.encoding.tokens[position],
            "predictions": [
                {
                    "token": self.vocabulary[token_id],
                    "token_id": int(token_id),
                    "probability": float(probability),
                    "logit": float(logit),
                }
                for token_id, probability, logit in top
            ],
            "entropy": float(readout["entropy"][index]),
            "original_probability": float(probabilities[0]) if hidden else None,
            "original_rank": int(ranks[0]) if hidden else None,
            "targets": [
                {
                    "word": word,
                    "token": self.vocabulary[token_id],
                    "token_id": token_id,
                    "probability": float(probabilities[n]),
                    "rank": int(ranks[n]),
                    "split": split,
                }
                for n, (word, token_id, split) in enumerate(target_ids, start=1)
            ],
        }


def nonfinite_weights(weights):
    """One warning per weight holding NaN or infinity (empty when all are finite)."""
    warnings = []
    for weight in weights:
        values = keras.ops.convert_to_numpy(weight)
        bad = values.size - int(np.isfinite(values).sum())
        if bad:
            warnings.append(
                f"Weight {weight.path} holds {bad:,} NaN or infinite values of {values.size:,}."
            )
    return warnings


def _as_list(values, what):
    """`values` (a list, tuple, range, array ...) as a list, else `ValueError(what)`."""
    if not isinstance(values, (str, bytes)):
        try:
            return list(values)
        except TypeError:  # not iterable
            pass
    raise ValueError(f"{what}. Received {values!r}")


def _check_position(position, encoding):
    """`position` as an int if it is a word's position in `encoding`."""
    if isinstance(position, bool) or not isinstance(position, (int, np.integer)):
        raise ValueError(f"Mask positions must be integers. Received {position!r}")
    count = len(encoding.ids)
    if not 0 <= position < count:
        raise ValueError(
            f"Mask position {position} is outside the text's {count} tokens "
            f"(0 to {count - 1})."
        )
    if encoding.special[position]:
        raise ValueError(
            f"Position {position} is the special token {encoding.tokens[position]!r}; "
            "pick a word."
        )
    return int(position)


def check_top_k(top_k, vocabulary_size):
    """`top_k` capped at `vocabulary_size`; `ValueError` unless it is a positive integer."""
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ValueError(f"top_k must be a positive integer. Received {top_k!r}")
    return min(int(top_k), vocabulary_size)
