"""An uploaded corpus file as lines of text, or a clear reason why not.

A corpus is UTF-8 text, one sequence per line. The bytes are decoded
strictly (a file in another encoding is refused, not silently garbled) and
split as `open(path, encoding="utf-8")` splits a file (`\\n`, `\\r\\n` or
`\\r`), so the app numbers the lines as `python -m mlmviz evaluate` does.
"""

import io


def corpus_lines(name, data):
    """The lines of an uploaded corpus, each without its line end.

    Args:
        name: the file's name (for the messages).
        data: its bytes.

    Returns:
        list of str, one per line of the file (blank lines included: they
        keep the line numbers; the evaluation skips them).

    Raises:
        ValueError: the file is not UTF-8, or holds no text line.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise ValueError(
            f"{name} is not UTF-8 text: byte 0x{data[error.start]:02x} on line {line:,} "
            "cannot be read. Save the file as UTF-8 (plain text) and upload it again."
        ) from None
    lines = [line.rstrip("\r\n") for line in io.StringIO(text, newline=None)]
    if not any(line.strip() for line in lines):
        raise ValueError(f"{name} holds no text: upload a file with one sentence per line.")
    return lines
