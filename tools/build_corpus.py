#!/usr/bin/env python3
"""Build a small, balanced English sentence corpus for masked-LM training.

Usage::

    python tools/build_corpus.py OUT_DIR [--seed 13] [--cache-dir DIR]

Writes ``OUT_DIR/train.txt`` and ``OUT_DIR/heldout.txt``: one plain English
sentence (5-60 words) per line, deduplicated (case- and punctuation-
insensitive), shuffled with a fixed seed; the held-out split is ~1% of the
lines (at least 2,000) and shares no line with the training split.

Sources (all fetched as Debian packages with ``apt-get download``, so the
build is reproducible on any Debian bookworm machine; run ``apt-get update``
once first):

==================  ======================  ==================================
source              Debian package          licence
==================  ======================  ==================================
wordnet-examples    wordnet-base            WordNet 3.0 licence (permissive,
wordnet-glosses                             BSD-like, Princeton University)
austen              r-cran-janeaustenr      MIT (package); the six novels are
                                            public domain
bible               sword-text-web          World English Bible: public domain
==================  ======================  ==================================

* ``wordnet-examples``: the quoted usage examples in WordNet glosses
  (``"he opened the door"``) - the most everyday, modern sentences.
* ``wordnet-glosses``: definitions turned into sentences, e.g. "A dwarf is a
  plant or animal that is atypically small."  Capped at ``GLOSS_SHARE`` of the
  final corpus so definitional style does not dominate.
* ``austen``: the six Jane Austen novels of ``janeaustenr``, read from the R
  lazy-load database (``data/Rdata.rdb``/``.rdx``) with the PyPI ``rdata``
  parser (no R needed), joined into paragraphs and split into sentences.
* ``bible``: World English Bible (with deuterocanon), read from the SWORD
  zText module (``.bzs`` block index, ``.bzz`` zlib blocks of OSIS XML,
  ``.bzv`` verse index), tags and footnotes stripped, split into sentences.
  Capped at ``BIBLE_SHARE`` of the final corpus.

No GPL text is used (e.g. dict-gcide is deliberately excluded).
Requires: Python 3.9+, ``rdata`` (``pip install rdata``), ``apt-get`` and
``dpkg-deb``.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import re
import struct
import subprocess
import sys
import tempfile
import time
import unicodedata
import zlib
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

SEED = 13
MIN_WORDS, MAX_WORDS = 5, 60
HELDOUT_FRACTION, HELDOUT_MIN = 0.01, 2000
BIBLE_SHARE = 0.15   # max share of final lines from the Bible
GLOSS_SHARE = 0.35   # max share of final lines from WordNet definitions

DEBS = ("wordnet-base", "r-cran-janeaustenr", "sword-text-web")
LICENCES = {
    "wordnet-examples": "WordNet 3.0 licence (permissive)",
    "wordnet-glosses": "WordNet 3.0 licence (permissive)",
    "austen": "MIT (janeaustenr); novels public domain",
    "bible": "public domain (World English Bible)",
}
WORDNET_DIR = "usr/share/wordnet"
AUSTEN_DATA_DIR = "usr/lib/R/site-library/janeaustenr/data"
BIBLE_DIR = "usr/share/sword/modules/texts/ztext/engWEB2015eb"

# --------------------------------------------------------------------------
# Fetching the Debian packages
# --------------------------------------------------------------------------


def fetch_packages(cache_dir: Path) -> Path:
    """Download (if missing) and unpack the source packages; return the root.

    ``cache_dir/debs`` holds the .deb files, ``cache_dir/root`` their
    extracted contents.
    """
    deb_dir, root = cache_dir / "debs", cache_dir / "root"
    deb_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(deb_dir, 0o777)  # let apt's unprivileged _apt user write here
    missing = [p for p in DEBS if not list(deb_dir.glob(f"{p}_*.deb"))]
    if missing:
        try:
            subprocess.run(["apt-get", "download", *missing], cwd=deb_dir,
                           check=True, stdout=subprocess.DEVNULL)
        except (OSError, subprocess.CalledProcessError) as err:
            sys.exit(f"apt-get download {' '.join(missing)} failed ({err}); "
                     "run 'apt-get update' first")
    root.mkdir(exist_ok=True)
    for pkg in DEBS:
        deb = sorted(deb_dir.glob(f"{pkg}_*.deb"))[-1]
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root


# --------------------------------------------------------------------------
# Text normalisation, sentence splitting and filtering
# --------------------------------------------------------------------------

_TRANSLATE = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
    "\u2013": " - ", "\u2014": " - ", "\u2026": "...", "\u00a0": " ",
    "_": "", "`": "'",
})
_ALLOWED = re.compile(r"^[A-Za-z0-9 .,;:!?'\"()&%$/-]+$")
_ENDS_SENTENCE = re.compile(r"[.!?][\"')]*$")
_ABBREV = re.compile(
    r"\b(Mr|Mrs|Ms|Dr|St|Mt|Jr|Sr|Col|Capt|Gen|Lt|Rev|Esq|Prof|vs|etc|viz|"
    r"No|Co|[A-Z])\.(?=\s)")
_SENT_END = re.compile(r"([.!?]+[\"')]*)\s+(?=[\"'(]?[A-Z0-9])")
_DOT = "\x00"


def normalise(text: str) -> str:
    """Map typographic characters to ASCII, drop accents, squeeze spaces."""
    text = text.translate(_TRANSLATE).replace("--", " - ")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r" ([.,;:!?])", r"\1", text)


def split_sentences(text: str) -> List[str]:
    """Split a paragraph into sentences, keeping abbreviations like Mr. intact."""
    text = _ABBREV.sub(lambda m: m.group(1) + _DOT, text)
    text = _SENT_END.sub(lambda m: m.group(1) + "\n", text)
    return [s.replace(_DOT, ".").strip() for s in text.split("\n") if s.strip()]


def clean_sentence(text: str) -> Optional[str]:
    """Return a normalised sentence, or None if it should be dropped.

    Drops markup/odd characters, unbalanced brackets, lines without a
    lower-case letter, lines not ending like a sentence, and lines outside
    ``MIN_WORDS..MAX_WORDS`` words.  Unbalanced double quotes (a sentence
    cut out of longer dialogue) are removed rather than kept.
    """
    text = normalise(text).strip(" -")
    if text.count('"') % 2:
        text = re.sub(r"\s+", " ", text.replace('"', "")).strip()
    if not text or not _ALLOWED.match(text) or text.count("(") != text.count(")"):
        return None
    if not re.search(r"[a-z]", text) or not _ENDS_SENTENCE.search(text):
        return None
    if not re.match(r"[\"'(]?[A-Z0-9]", text):
        return None
    n_words = len(text.split())
    return text if MIN_WORDS <= n_words <= MAX_WORDS else None


def dedup_key(text: str) -> str:
    """Key under which two lines count as duplicates (case/punctuation-blind)."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


# --------------------------------------------------------------------------
# Source 1: WordNet examples and glosses
# --------------------------------------------------------------------------

_ABSTRACT_HEADS = ("the act", "the action", "the process", "the state",
                   "the quality", "the condition", "the property",
                   "the activity", "the practice", "the ability", "the art",
                   "the science", "the study", "the use")
_NOUN_DETERMINERS = ("a", "an", "the", "any", "someone", "something", "one")
_MASS_SUFFIXES = ("ness", "ism", "itis", "osis", "emia", "aemia", "penia",
                  "phobia", "ology", "ics", "ing", "ity")
_TAXON = re.compile(r"\b(?:genus|subgenus|family|subfamily|superfamily|order|"
                    r"suborder|class|subclass|phylum|division|tribe|species)\b")


def wordnet_synsets(wn_dir: Path) -> Iterator[Tuple[str, str, str]]:
    """Yield (pos, first lemma, gloss) for every synset in data.{pos}."""
    for pos in ("noun", "verb", "adj", "adv"):
        with open(wn_dir / f"data.{pos}", encoding="latin-1") as fh:
            for line in fh:
                if line.startswith("  ") or " | " not in line:
                    continue  # licence header
                fields, gloss = line.split(" | ", 1)
                lemma = fields.split()[4]
                lemma = re.sub(r"\(\w+\)$", "", lemma).replace("_", " ")
                yield pos, lemma, gloss.strip()


def indefinite_article(word: str) -> str:
    """Rough 'a'/'an' choice for a lower-case noun."""
    w = word.lower()
    if w.startswith(("uni", "use", "usu", "eu", "one", "once")):
        return "a"
    if w.startswith(("hour", "honest", "honor", "honour", "heir")):
        return "an"
    return "an" if w[:1] in "aeiou" else "a"


def gloss_sentence(pos: str, lemma: str, definition: str) -> Optional[str]:
    """Turn a WordNet definition into a plain sentence, or None if awkward."""
    if len(definition.split()) < 3 or definition.startswith("("):
        return None
    first = definition.split()[0].lower()
    if pos == "noun":
        if first not in _NOUN_DETERMINERS:
            return None  # mass nouns etc.: no safe article to add
        if lemma[:1].isupper() and _TAXON.search(definition):
            return None  # "Acanthoscelides is a genus of Bruchidae."
        if (lemma[:1].isupper() or definition.startswith(_ABSTRACT_HEADS)
                or lemma.endswith(_MASS_SUFFIXES)):
            subject = lemma[:1].upper() + lemma[1:]
        elif first == "the":
            subject = "The " + lemma
        else:
            subject = indefinite_article(lemma).capitalize() + " " + lemma
        return f"{subject} is {definition}."
    if pos == "verb":
        return f"To {lemma} is to {definition}."
    return f"{lemma[:1].upper() + lemma[1:]} means {definition}."


def wordnet_lines(root: Path) -> Iterator[Tuple[str, str]]:
    """Yield ("wordnet-examples"|"wordnet-glosses", raw sentence)."""
    for pos, lemma, gloss in wordnet_synsets(root / WORDNET_DIR):
        for example in re.findall(r'"([^"]*)"', gloss):
            example = example.strip()
            if example and example[-1] not in ".!?":
                example += "."
            yield "wordnet-examples", example[:1].upper() + example[1:]
        definition = gloss.split('"')[0].split(";")[0].strip()
        sentence = gloss_sentence(pos, lemma, definition)
        if sentence:
            yield "wordnet-glosses", sentence


# --------------------------------------------------------------------------
# Source 2: Jane Austen (R lazy-load database)
# --------------------------------------------------------------------------


def _r_unserialize(blob: bytes):
    """Unserialize one R object (gzip file, or 4-byte length + zlib block)."""
    import warnings

    import rdata  # imported lazily: only this source needs it

    if blob[:2] == b"\x1f\x8b":
        raw = gzip.decompress(blob)
    else:
        size = struct.unpack(">I", blob[:4])[0]
        raw = zlib.decompress(blob[4:])
        assert len(raw) == size, "corrupt lazy-load block"
    with warnings.catch_warnings():  # rdata: "Unknown file type: assumed RDS"
        warnings.simplefilter("ignore", UserWarning)
        return rdata.conversion.convert(rdata.parser.parse_data(raw))


def read_r_lazyload(data_dir: Path, name: str = "Rdata") -> Dict[str, object]:
    """Read every variable of an R lazy-load database (NAME.rdx + NAME.rdb)."""
    index = _r_unserialize((data_dir / f"{name}.rdx").read_bytes())
    rdb = (data_dir / f"{name}.rdb").read_bytes()
    return {var: _r_unserialize(rdb[int(off):int(off) + int(length)])
            for var, (off, length) in index["variables"].items()}


def paragraphs(lines: Iterable[str]) -> Iterator[str]:
    """Join consecutive non-blank lines into paragraphs."""
    buf: List[str] = []
    for line in list(lines) + [""]:
        if line and line.strip():
            buf.append(line.strip())
        elif buf:
            yield " ".join(buf)
            buf = []


def austen_lines(root: Path) -> Iterator[Tuple[str, str]]:
    """Yield ("austen", sentence) from the six novels."""
    books = read_r_lazyload(root / AUSTEN_DATA_DIR)
    for name in sorted(books):
        for para in paragraphs(str(x) for x in books[name]):
            for sentence in split_sentences(normalise(para)):
                yield "austen", sentence


# --------------------------------------------------------------------------
# Source 3: World English Bible (SWORD zText module)
# --------------------------------------------------------------------------


def read_ztext(module_dir: Path, testament: str) -> Iterator[str]:
    """Yield the raw OSIS text of every non-empty verse entry, in order."""
    bzs = (module_dir / f"{testament}.bzs").read_bytes()
    bzz = (module_dir / f"{testament}.bzz").read_bytes()
    bzv = (module_dir / f"{testament}.bzv").read_bytes()
    blocks = [struct.unpack_from("<III", bzs, i) for i in range(0, len(bzs), 12)]
    cache: Dict[int, bytes] = {}
    for i in range(0, len(bzv) - 9, 10):
        block, offset, size = struct.unpack_from("<IIH", bzv, i)
        if size == 0:
            continue
        if block not in cache:
            start, csize, _usize = blocks[block]
            cache = {block: zlib.decompress(bzz[start:start + csize])}
        yield cache[block][offset:offset + size].decode("utf-8")


_STRUCTURAL_TAGS = re.compile(r"</?(?:l|lb|lg|div|chapter|item|list|p)\b[^>]*>")


def osis_to_text(osis: str) -> str:
    """Strip footnotes, titles and all tags from OSIS XML."""
    osis = re.sub(r"<note\b.*?</note>", " ", osis, flags=re.S)
    osis = re.sub(r"<title\b.*?</title>", " ", osis, flags=re.S)
    osis = _STRUCTURAL_TAGS.sub(" ", osis)
    osis = re.sub(r"<[^>]+>", "", osis)
    return (osis.replace("&amp;", "&").replace("&lt;", "<")
            .replace("&gt;", ">").replace("&quot;", '"'))


def bible_lines(root: Path) -> Iterator[Tuple[str, str]]:
    """Yield ("bible", sentence); verses are joined so sentences can span them."""
    for testament in ("ot", "nt"):
        verses = (osis_to_text(v) for v in read_ztext(root / BIBLE_DIR, testament))
        text = normalise(" ".join(verses))
        for sentence in split_sentences(text):
            yield "bible", sentence


# --------------------------------------------------------------------------
# Assembly: clean, deduplicate, cap, shuffle, split, write, report
# --------------------------------------------------------------------------


def collect(root: Path) -> Dict[str, List[str]]:
    """Clean and deduplicate all sources; return source -> sentences.

    Sources are read in a fixed order; a duplicate keeps its first source.
    """
    seen: set = set()
    by_source: Dict[str, List[str]] = {}
    for generator in (wordnet_lines, austen_lines, bible_lines):
        for source, raw in generator(root):
            sentence = clean_sentence(raw)
            if sentence is None:
                continue
            key = dedup_key(sentence)
            if key in seen:
                continue
            seen.add(key)
            by_source.setdefault(source, []).append(sentence)
    return by_source


def apply_caps(by_source: Dict[str, List[str]], caps: Dict[str, float],
               rng: random.Random) -> Dict[str, List[str]]:
    """Subsample capped sources so each is at most its share of the total."""
    sizes = {s: len(v) for s, v in by_source.items()}
    binding = {s for s in caps if s in sizes}
    while binding:  # drop caps that do not bind, then solve for the total
        free = sum(n for s, n in sizes.items() if s not in binding)
        total = free / (1 - sum(caps[s] for s in binding))
        loose = {s for s in binding if sizes[s] <= caps[s] * total}
        if not loose:
            sizes.update({s: int(caps[s] * total) for s in binding})
            break
        binding -= loose
    return {s: (rng.sample(v, sizes[s]) if sizes[s] < len(v) else v)
            for s, v in by_source.items()}


def split_heldout(by_source: Dict[str, List[str]], rng: random.Random
                  ) -> Tuple[List[Tuple[str, str]], List[Tuple[str, str]]]:
    """Shuffle all (source, line) pairs and cut off the held-out part."""
    items = [(s, line) for s in sorted(by_source) for line in by_source[s]]
    rng.shuffle(items)
    n_heldout = max(HELDOUT_MIN, round(HELDOUT_FRACTION * len(items)))
    return items[n_heldout:], items[:n_heldout]


def write_lines(path: Path, items: List[Tuple[str, str]]) -> None:
    """Write one sentence per line (UTF-8, in fact ASCII)."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(line + "\n" for _, line in items)


def report(train: List[Tuple[str, str]], heldout: List[Tuple[str, str]]) -> None:
    """Print lines/words per source for both splits, plus the licences."""
    def stats(items):
        out: Dict[str, List[int]] = {}
        for source, line in items:
            row = out.setdefault(source, [0, 0])
            row[0] += 1
            row[1] += len(line.split())
        return out

    tr, ho = stats(train), stats(heldout)
    total_tr = [sum(r[i] for r in tr.values()) for i in (0, 1)]
    print(f"{'source':18} {'train lines':>11} {'train words':>12} {'%lines':>7}"
          f" {'%words':>7} {'heldout lines':>13} {'heldout words':>13}  licence")
    for source in sorted(tr):
        (tl, tw), (hl, hw) = tr[source], ho.get(source, [0, 0])
        print(f"{source:18} {tl:11,} {tw:12,} {100 * tl / total_tr[0]:6.1f}%"
              f" {100 * tw / total_tr[1]:6.1f}% {hl:13,} {hw:13,}  "
              f"{LICENCES[source]}")
    total_ho = [sum(r[i] for r in ho.values()) for i in (0, 1)]
    print(f"{'TOTAL':18} {total_tr[0]:11,} {total_tr[1]:12,} {'':7} {'':7}"
          f" {total_ho[0]:13,} {total_ho[1]:13,}")


def main(argv: Optional[List[str]] = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="keep downloaded .deb files here (default: temp)")
    args = parser.parse_args(argv)
    start = time.time()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="build_corpus_") as tmp:
        os.chmod(tmp, 0o755)  # apt's _apt user must reach tmp/debs
        root = fetch_packages(args.cache_dir or Path(tmp))
        by_source = collect(root)
    print("after cleaning and dedup (lines):",
          {s: len(v) for s, v in sorted(by_source.items())})
    by_source = apply_caps(by_source, {"bible": BIBLE_SHARE,
                                       "wordnet-glosses": GLOSS_SHARE}, rng)
    train, heldout = split_heldout(by_source, rng)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    write_lines(args.out_dir / "train.txt", train)
    write_lines(args.out_dir / "heldout.txt", heldout)
    report(train, heldout)
    print(f"wrote {args.out_dir}/train.txt and heldout.txt "
          f"in {time.time() - start:.0f}s")


if __name__ == "__main__":
    main()
