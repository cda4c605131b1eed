"""Uploaded corpus files: decoded strictly, split as the command line splits them."""

import pytest

from mlmviz.sources.corpus import corpus_lines


def test_lines_are_split_as_open_splits_a_file(tmp_path):
    data = "first line\r\nsecond\n\nthird\rfourth é\n".encode()
    path = tmp_path / "corpus.txt"
    path.write_bytes(data)
    with open(path, encoding="utf-8") as handle:
        expected = [line.rstrip("\r\n") for line in handle]
    assert corpus_lines("corpus.txt", data) == expected == [
        "first line", "second", "", "third", "fourth é"]


def test_a_file_in_another_encoding_is_refused_with_the_line():
    data = "good line\nun café\n".encode("latin-1")
    with pytest.raises(ValueError, match=r"notes.txt is not UTF-8 text: byte 0xe9 on line 2"):
        corpus_lines("notes.txt", data)


@pytest.mark.parametrize("data", [b"", b"\n  \n\t\n"])
def test_an_empty_or_blank_file_is_refused(data):
    with pytest.raises(ValueError, match="empty.txt holds no text"):
        corpus_lines("empty.txt", data)
