"""A small, random, untrained masked LM for the app skeleton.

It stands in until the trained default model arrives (issue 3). Its weights
are random, so its predictions are noise; the app labels it as such. It is a
real Keras model all the same: a `ReversibleEmbedding`, a one-step "encoder"
(each token's embedding plus a sinusoidal position code plus the sentence
mean, so predictions depend on position and context) and our
`MaskedLMHead` tied to the embedding.
"""

import re

import keras
import numpy as np

from mlmviz.layers import MaskedLMHead, ReversibleEmbedding

NAME = "Random toy model (untrained)"
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[MASK]")
WORDS = tuple(
    """the a an and or but of to in on at by for with from is are was were be
    been has have had do does did not no yes this that these those it its he she
    they we you i me him her them us my your his our their who what where when
    why how all some many more most one two three cat dog bird fish horse cow
    man woman child people teacher student house school city country river sea
    mountain tree book car road day night year time water food bread milk tea
    red green blue white black big small old new good bad happy sad fast slow
    run runs ran walk sat sit eat eats ate see saw read reads write go went come
    came make made say said like likes love know think paris france london
    england king queen mat""".split()
)
VOCABULARY = SPECIAL_TOKENS + WORDS
MASK_TOKEN = "[MASK]"


class ToyModel:
    """Tokenizer, toy encoder and a randomly initialised, tied head.

    Args:
        seed: int. Seeds the random weights, so a seed gives the same model.
        hidden_dim: int. Width of the embedding and hidden states.
    """

    def __init__(self, seed=0, hidden_dim=32):
        self.vocabulary = VOCABULARY
        self._ids = {token: i for i, token in enumerate(VOCABULARY)}
        keras.utils.set_random_seed(seed)
        self.embedding = ReversibleEmbedding(
            len(VOCABULARY),
            hidden_dim,
            embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0),
        )
        self.head = MaskedLMHead(
            token_embedding=self.embedding,
            intermediate_activation="gelu",
            bias_initializer="random_normal",
        )

    def tokenize(self, text):
        """Lower-cased words and punctuation; unknown words become [UNK]."""
        words = re.findall(r"\[mask\]|\w+|[^\w\s]", text.lower())
        return [w.upper() if w == "[mask]" else w for w in words]

    def mask_positions(self, tokens, picked=()):
        """Sorted positions to predict: the `picked` ones and typed [MASK]s."""
        typed = {i for i, token in enumerate(tokens) if token == MASK_TOKEN}
        return sorted(typed | {p for p in picked if 0 <= p < len(tokens)})

    def mask_logits(self, tokens, positions):
        """Float32 logits `(len(positions), vocab)` with `positions` masked.

        Raises:
            ValueError: for an empty token list or invalid positions.
        """
        if not tokens:
            raise ValueError("The text has no tokens: type a sentence.")
        if not positions:
            raise ValueError("Nothing is masked: pick at least one token.")
        if not all(0 <= p < len(tokens) for p in positions):
            raise ValueError(
                f"Mask positions must lie in [0, {len(tokens)}). "
                f"Received {list(positions)}"
            )
        ids = [self._ids.get(t, self._ids["[UNK]"]) for t in tokens]
        ids = np.array([ids])  # (1, seq)
        ids[0, list(positions)] = self._ids[MASK_TOKEN]
        positions_code = _position_code(*ids.shape, self.embedding.output_dim)
        embedded = self.embedding(ids) + positions_code  # (1, seq, hidden)
        context = keras.ops.mean(embedded, axis=1, keepdims=True)  # (1, 1, hidden)
        hidden_states = embedded + context  # (1, seq, hidden)
        positions = np.array([list(positions)], dtype="int32")  # (1, masks)
        return self.head.stages(hidden_states, positions)["logits"][0]


def _position_code(batch, length, dim):
    """Sinusoidal position code `(batch, length, dim)`, float32."""
    position = np.arange(length)[:, None]  # (length, 1)
    frequency = 1.0 / 10000 ** (np.arange(dim // 2) / (dim // 2))  # (dim / 2,)
    angle = position * frequency  # (length, dim / 2)
    code = np.concatenate([np.sin(angle), np.cos(angle)], axis=-1)  # (length, dim)
    return np.broadcast_to(code, (batch, length, dim)).astype("float32")
