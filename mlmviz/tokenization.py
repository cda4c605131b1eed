"""Tokenization and mask placement, done by mlmviz itself.

keras-hub's MaskedLM preprocessor always masks at random and splits a typed
`[MASK]` into pieces, so mlmviz tokenizes with the checkpoint's own
`tokenizers` tokenizer, keeps the model's mask token whole, and writes the
mask id at the positions the user chose.
"""

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from mlmviz.sources import hf_tokenizer
from mlmviz.sources.checkpoints import CheckpointError

MASK_CANDIDATES = ("[MASK]", "<mask>")
# How people type a mask, whatever the model's own token: matched case-insensitively.
MASK_SPELLINGS = ("[mask]", "<mask>")


@dataclass(frozen=True)
class Encoding:
    """One tokenized text.

    Attributes:
        ids: token ids, special tokens included.
        tokens: the token strings (WordPiece `##` pieces as they are; a
            byte-level BPE token as the text it stands for, see `Tokenizer`).
        offsets: `(start, end)` character span of each token in the text
            (`(0, 0)` for special tokens).
        special: True where the token is a special token ([CLS], [SEP], ...).
        truncated: True when the text was cut to the model's length limit.
    """

    ids: tuple
    tokens: tuple
    offsets: tuple
    special: tuple
    truncated: bool

    @property
    def kept_characters(self):
        """How many characters of the text the tokens cover: all of them, or
        up to where the text was cut (0 when no token is left)."""
        ends = [end for (_, end), special in zip(self.offsets, self.special) if not special]
        return max(ends, default=0)


class Tokenizer:
    """A checkpoint's tokenizer with a known mask token and length limit.

    Args:
        tokenizer: a `tokenizers.Tokenizer` whose post-processor adds the
            model's special tokens.
        mask_token: the model's mask token string, e.g. "[MASK]".
        max_length: the longest sequence the model accepts, specials included.

    Attributes:
        mask_token, mask_id: the mask token and its id.
        unk_token: the token standing for characters the vocabulary lacks,
            or None (byte-level BPE has none).
        special_tokens: dict of every special token to its id.

    Token strings (`encode`'s, `id_to_token`'s) are what people read: a
    byte-level BPE token (RoBERTa's, ModernBERT's) is shown as the text its
    bytes spell ("Ġcafé" for "ĠcafÃ©" stands for " café": a leading space, not
    "Ġ"), a newline as "↵", a token of spaces only as "␣", bytes that are no
    whole character (or a control character) as `\\xNN`.
    """

    def __init__(self, tokenizer, mask_token, max_length):
        self._tokenizer = tokenizer
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length)
        self.mask_token = mask_token
        self.mask_id = tokenizer.token_to_id(mask_token)
        if self.mask_id is None:
            raise CheckpointError(f"The tokenizer has no mask token {mask_token!r}.")
        spellings = {re.escape(s) for s in (*MASK_SPELLINGS, mask_token)
                     if len(s) == len(mask_token)}
        self._typed_mask = re.compile("|".join(sorted(spellings)), re.IGNORECASE)
        self.max_length = max_length
        self.unk_token = getattr(tokenizer.model, "unk_token", None)
        self._bytes = BYTES_OF if type(tokenizer.decoder).__name__ == "ByteLevel" else None
        self.special_tokens = {
            token.content: token_id
            for token_id, token in tokenizer.get_added_tokens_decoder().items()
            if token.special
        }

    @classmethod
    def from_directory(cls, directory, max_length, mask_token=None):
        """The tokenizer of a Hugging Face checkpoint folder, built as
        `transformers.AutoTokenizer` builds it (see `mlmviz.sources.hf_tokenizer`):
        from `tokenizer.json`, `vocab.txt` (BERT) or `spiece.model` (ALBERT)
        and the settings of `tokenizer_config.json`.

        The mask token comes from `tokenizer_config.json` when present, else
        the first of "[MASK]" and "<mask>" that the vocabulary has.
        """
        directory = Path(directory)
        settings = hf_tokenizer.read_json(directory / "tokenizer_config.json") or {}
        tokenizer = hf_tokenizer.build(directory, settings)
        mask_token = mask_token or settings.get("mask_token")
        if isinstance(mask_token, dict):  # older tokenizer_config.json files
            mask_token = mask_token.get("content")
        if mask_token is None:
            vocabulary = tokenizer.get_vocab(with_added_tokens=True)
            mask_token = next((t for t in MASK_CANDIDATES if t in vocabulary), None)
        if mask_token is None:
            raise CheckpointError(f"{directory}: cannot tell the tokenizer's mask token.")
        return cls(tokenizer, mask_token, max_length)

    def spell_masks(self, text):
        """`text` with every typed mask written as the model's own mask token.

        "[mask]", "[MASK]", "<mask>" and the model's token in any case count
        as a mask. Only spellings as long as the model's token are replaced,
        so character offsets into `text` stay valid (all of these are 6
        characters for BERT, RoBERTa, DistilBERT and ALBERT).
        """
        return self._typed_mask.sub(self.mask_token, check_text(text))

    def encode(self, text):
        """Tokenize `text` into an `Encoding`; typed masks (`spell_masks`) stay whole.

        Raises:
            ValueError: when `text` is not a string of valid Unicode.
        """
        encoding = self._tokenizer.encode(self.spell_masks(text))
        return Encoding(
            ids=tuple(encoding.ids),
            tokens=tuple(self.readable(token) for token in encoding.tokens),
            offsets=tuple(tuple(o) for o in encoding.offsets),
            special=tuple(bool(s) for s in encoding.special_tokens_mask),
            truncated=bool(encoding.overflowing),
        )

    def encode_words(self, texts):
        """Token ids of each text, without special tokens (for training)."""
        texts = [check_text(text) for text in texts]
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=False)
        return [encoding.ids for encoding in encodings]

    def to_json(self):
        """The underlying `tokenizers` tokenizer as a JSON string."""
        return self._tokenizer.to_str()

    def id_to_token(self, token_id):
        """The string of one token id (readable: see the class), or None."""
        token = self._tokenizer.id_to_token(int(token_id))
        return None if token is None else self.readable(token)

    def readable(self, token):
        """A token string of the underlying tokenizer as the class shows it."""
        if self._bytes is None or token in self.special_tokens:
            return token
        try:
            spelled = bytes(self._bytes[character] for character in token)
        except KeyError:  # an added token, not in the byte alphabet
            return token
        text = spelled.decode("utf-8", errors="backslashreplace").translate(CONTROL_MARKS)
        text = "".join(f"\\x{ord(c):02x}" if unicodedata.category(c) == "Cc" else c
                       for c in text)
        return text.replace(" ", "␣") if text.isspace() else text


def _byte_alphabet():
    """{character: byte} of byte-level BPE (GPT-2's alphabet): printable Latin-1
    bytes stand for themselves, the other 68 for the characters from U+0100 on."""
    shown = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
             *range(ord("®"), ord("ÿ") + 1)]
    others = [byte for byte in range(256) if byte not in shown]
    characters = {byte: chr(byte) for byte in shown}
    characters.update({byte: chr(256 + i) for i, byte in enumerate(others)})
    return {character: byte for byte, character in characters.items()}


BYTES_OF = _byte_alphabet()
CONTROL_MARKS = str.maketrans({"\n": "↵", "\r": "␍", "\t": "⇥"})


def check_text(text):
    """`text` if it is a string the tokenizer can read, else `ValueError`.

    A Python string may hold lone surrogates (halves of a UTF-16 pair, e.g.
    from a badly decoded file), which are not Unicode characters.
    """
    if not isinstance(text, str):
        raise ValueError(f"The text must be a string. Received {type(text).__name__} {text!r:.80}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(
            f"The text is not valid Unicode: character {error.start} is the lone "
            f"surrogate {text[error.start]!r}."
        ) from None
    return text
