"""The text with its masks filled in: what the model's guesses say as a sentence.

The guesses are written into the user's own text at the masked tokens'
character spans, so the rest of the text keeps its spelling and spacing. A
guessed piece loses its tokenizer marks ("##" of WordPiece continuations,
"Ġ" and "▁" of word starts), so "play" + "##ing" reads "playing".
"""

WORD_MARKS = ("Ġ", "▁")
CONTINUATION = "##"


def readable(token):
    """`token` as it reads in text: no WordPiece "##", BPE/SentencePiece word marks as a space."""
    if token.startswith(CONTINUATION) and len(token) > len(CONTINUATION):
        return token[len(CONTINUATION):]
    for mark in WORD_MARKS:
        if token.startswith(mark):
            return " " + token[len(mark):]
    return token


def filled_segments(text, offsets, fills):
    """`text` cut into `(piece, filled)` segments, each fill at its token's span.

    Args:
        text: the text the encoding was made from.
        offsets: the encoding's `(start, end)` character span per token.
        fills: `{position: token string}` for the masked positions.

    Returns:
        list of `(string, is_fill)`; joining the strings gives the filled text.
        A word-start mark becomes a space only where the text had none.
    """
    segments, cursor = [], 0
    for position in sorted(fills):
        start, end = offsets[position]
        guess = readable(fills[position])
        if guess.startswith(" ") and (start == 0 or text[start - 1].isspace()):
            guess = guess[1:]
        if start > cursor:
            segments.append((text[cursor:start], False))
        segments.append((guess, True))
        cursor = max(cursor, end)
    if cursor < len(text):
        segments.append((text[cursor:], False))
    return segments
