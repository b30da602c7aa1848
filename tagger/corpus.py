"""Reading and writing CoNLL column files, and what is done to the sentences read.

A CoNLL file holds one token a line in whitespace-separated columns, a blank
line between sentences, and ``-DOCSTART-`` lines between documents. Reading
streams sentence by sentence, so files of any size are read in bounded
memory; every error names the file and the line. Beside that: documents (their
starts, ids and context, and streams cut into chunks between them), a held-out
dev part, renamed entity types, and Hugging Face datasets in and out.
"""

from __future__ import annotations

import bz2
import codecs
import contextlib
import functools
import gzip
import hashlib
import io
import itertools
import lzma
import random
import re
import shlex
import sys
import warnings
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TextIO, TypeVar

from .errors import TaggerError, TaggerWarning, counted
from .schemes import (
    OUTSIDE, SchemeError, brackets_to_tags, detect_scheme, is_bracket_tag, looks_like_a_tag, spans_to_tags, split_tag,
    tags_to_spans,
)

if TYPE_CHECKING:  # datasets is imported only when used (0.75 s)
    import datasets

DOCSTART = "-DOCSTART-"
BYTE_ORDER_MARK = "\ufeff"  # what a byte-order mark decodes to, in any Unicode encoding

T = TypeVar("T")


class CorpusError(TaggerError):
    """Bad input in a corpus file; ``str()`` is one line: ``FILE:LINE: message``."""

    def __init__(self, source: str, line: int | None, message: str):
        self.source, self.line, self.message = source, line, message
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {message}")


@dataclass
class Sentence:
    """One sentence of a column file.

    ``lines`` keeps each token's input line (without its line break), so a
    writer can echo the input with a predicted column appended. ``document_start``
    is the raw ``-DOCSTART-`` line that preceded the sentence, if one did, and
    ``comments`` the comment lines (``read_conll``'s ``comment_prefix``).
    ``other_lines`` are the sentence's lines that are not tokens (CoNLL-U's
    multiword tokens and empty nodes), each as ``(position, line)``: it came
    before the token at ``position`` (``len(tokens)``: after the last).
    ``one_line``: the sentence was read from one line (a row of a table or JSON
    Lines file, a line of ``WORD|TAG`` tokens), not from a line a token.
    """

    tokens: list[str]
    labels: list[str] | None = None
    lines: list[str] | None = None
    document_start: str | None = None
    source: str = "<input>"
    first_line: int = 0
    comments: list[str] | None = None
    other_lines: list[tuple[int, str]] | None = None
    one_line: bool = False

    def __len__(self) -> int:
        return len(self.tokens)

    def line_of(self, position: int) -> int:
        """The input line of the token at ``position``, for errors: the sentence's own where it is ``one_line``."""
        if self.one_line:
            return self.first_line
        return self.first_line + position + sum(before <= position for before, _ in self.other_lines or ())


def open_binary(path: str | Path) -> BinaryIO:
    """``path`` opened to read bytes; a ``CorpusError`` naming it where it cannot be."""
    source = _source_name(path)
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise CorpusError(source, None, "no such file") from None
    except IsADirectoryError:
        raise CorpusError(source, None, "is a directory, expected a file") from None
    except PermissionError:
        raise CorpusError(source, None, "permission denied") from None
    except OSError as error:  # a path through a file (NotADirectoryError), a name too long, ...
        raise CorpusError(source, None, f"cannot be read ({error.strerror or error})") from None


def read_lines(path: str | Path, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of each line of ``path`` (``-``: standard input), line breaks removed.

    Lines are decoded as they are read, so a decoding error names its line. A
    byte-order mark at the start is dropped. Any encoding Python knows reads, UTF-16
    included, whose line breaks are two bytes; a file that begins with UTF-16's
    byte-order mark reads as UTF-16 where ``encoding`` is UTF-8 (no UTF-8 text begins
    with those bytes: it is what Windows Notepad saves as "Unicode"). A file compressed
    with gzip, bzip2 or xz (``train.conll.gz``), known by its first bytes, reads as the
    text it holds.
    """
    source = _source_name(path)
    file = sys.stdin.buffer if str(path) == "-" else open_binary(path)
    check_encoding(encoding, source)
    number, pending, start = 0, "", None

    def raw_lines(stream: BinaryIO) -> Iterator[bytes]:
        try:
            yield from stream
        except (OSError, EOFError, lzma.LZMAError) as error:  # what gzip, bz2 and lzma raise for a broken file
            if not isinstance(stream, (gzip.GzipFile, bz2.BZ2File, lzma.LZMAFile)):
                raise
            raise CorpusError(source, number + 1, f"cannot be decompressed ({error})") from None

    with file if file is not sys.stdin.buffer else contextlib.nullcontext(file):
        stream = _decompressed(file)
        if codecs.lookup(encoding).name == "utf-8" and stream.peek(2)[:2] in (codecs.BOM_UTF16_LE,
                                                                              codecs.BOM_UTF16_BE):
            encoding = "utf-16"
        # Bytes are split at b"\n", which in UTF-16 is half a character: an incremental decoder carries the
        # rest over, and the text is split into lines again.
        decoder = codecs.getincrementaldecoder(encoding)()
        raw_read = raw_lines(stream)
        for raw in itertools.chain(raw_read, [None]):  # None: the end, where the decoder gives what it holds
            if start is None:
                start = raw or b""
            state = decoder.getstate()
            try:
                pending += decoder.decode(b"", final=True) if raw is None else decoder.decode(raw)
            except UnicodeDecodeError as error:
                at = number + 1 + (pending + _decoded_before(error, state, raw or b"", encoding)).count("\n")
                advice = _encoding_advice(start, encoding)
                raise CorpusError(source, at, f"not valid {encoding} text ({error.reason}); {advice}") from None
            *lines, pending = pending.split("\n")
            if raw is None and pending:
                lines.append(pending)
            for line in lines:
                number += 1
                if number == 1 and "\x00" in line:  # valid UTF-8, but no text has it
                    raise CorpusError(source, number, _encoding_advice(start, encoding))
                yield number, (line.removeprefix(BYTE_ORDER_MARK) if number == 1 else line).rstrip("\r")


# The first bytes of a compressed file, and what reads it. bzip2's "BZh" could begin a text ("BZh O"):
# its block size digit and the magic number of its first block (or of its end, in an empty file) follow.
COMPRESSIONS: dict[re.Pattern[bytes], Callable[[BinaryIO], BinaryIO]] = {
    re.compile(rb"\x1f\x8b"): lambda stream: gzip.GzipFile(fileobj=stream),
    re.compile(rb"BZh[1-9](1AY&SY|\x17rE8P\x90)"): bz2.BZ2File,
    re.compile(rb"\xfd7zXZ\x00"): lzma.LZMAFile,
}


# What writes a file compressed, by its name's suffix (``tagged.conll.gz``), as pandas and datasets choose;
# gzip at its command's default level, 6: eng.train twice over (6.6 MB) is written in 0.16 s, at Python's 9 in 0.51.
COMPRESSED_WRITERS: dict[str, Callable[..., TextIO]] = {
    ".gz": functools.partial(gzip.open, compresslevel=6), ".bz2": bz2.open, ".xz": lzma.open,
}


def raise_where_undecodable(path: str | Path, encoding: str | None) -> None:
    """The ``CorpusError`` ``read_lines`` raises at the line of ``path`` that does not decode, naming what to try;
    nothing where every line decodes."""
    deque(read_lines(path, encoding or "utf-8"), maxlen=0)


def open_for_writing(path: str | Path) -> TextIO:
    """``path`` opened to write UTF-8 text, compressed where its suffix is ``.gz``, ``.bz2`` or ``.xz``."""
    return COMPRESSED_WRITERS.get(Path(path).suffix.lower(), open)(path, "wt", encoding="utf-8")


def _decompressed(file: BinaryIO) -> BinaryIO:
    """``file``, decompressed where its first bytes say it is compressed."""
    if not hasattr(file, "peek"):  # a stream standing in for standard input (io.BytesIO)
        file = io.BufferedReader(file)
    start = file.peek(10)[:10]
    return next((opener(file) for magic, opener in COMPRESSIONS.items() if magic.match(start)), file)


def check_encoding(encoding: str, source: str) -> None:
    """A ``CorpusError`` naming ``source`` where Python knows no ``encoding`` of that name."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise CorpusError(source, None, f"unknown encoding {encoding!r}") from None


def _decoded_before(error: UnicodeDecodeError, state: tuple[bytes, int], raw: bytes, encoding: str) -> str:
    """The text of ``raw`` before the bytes that failed to decode (a decoder in ``state`` read ``raw``)."""
    # The decoder read the bytes it held (state[0]) and raw together: the error's offset counts both.
    decoder = codecs.getincrementaldecoder(encoding)()
    decoder.setstate(state)
    return decoder.decode(raw[: max(error.start - len(state[0]), 0)])


# The first bytes of files that are no text, and what each is: a spreadsheet or a document given as a corpus.
_NOT_TEXT = {
    b"PK\x03\x04": "a ZIP archive (an Excel .xlsx, a Word .docx, an OpenDocument file?), not text: save it as CSV or "
                   "text",
    b"\xd0\xcf\x11\xe0": "an Office 97-2003 file (an Excel .xls, a Word .doc?), not text: save it as CSV or text",
    b"%PDF-": "a PDF document, not text: save its text first",
    b"PAR1": "a Parquet table, read as one where its name ends in .parquet",
}


def _encoding_advice(start: bytes, encoding: str) -> str:
    """What to try where ``start``, a file's first line, does not decode as ``encoding``."""
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and codecs.lookup(encoding).name != "utf-16":
        return "the file begins with a UTF-16 byte-order mark: try --encoding utf-16"
    kind = next((kind for magic, kind in _NOT_TEXT.items() if start.startswith(magic)), None)
    if kind is not None:
        return f"the file is {kind}"
    wide = codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))
    if b"\x00" in start and not wide:  # UTF-16 without a byte-order mark has a zero byte beside each ASCII character
        return "the file holds zero bytes, as UTF-16 text without a byte-order mark does (try --encoding utf-16-le " \
               "or utf-16-be) and binary files do"
    return "try --encoding latin-1"


def _source_name(path: str | Path) -> str:
    return "<stdin>" if str(path) == "-" else str(path)


# Comment lines that begin a document, as -DOCSTART- lines do: OntoNotes' CoNLL-2012 files' "#begin document",
# CoNLL-U's "# newdoc" ("# newdoc id = ..."), as UD treebanks and the corpora built on them mark documents, and
# JNLPBA's "###MEDLINE:96055242" before each abstract.
DOCUMENT_BEGINS = ("#begin document", "# newdoc", "###MEDLINE:")


def read_conll(
    path: str | Path,
    token_column: int = 0,
    label_column: int | None = -1,
    encoding: str = "utf-8",
    comment_prefix: str | None = None,
    column_separator: str = "whitespace",
    outside_tag: str = OUTSIDE,
) -> Iterator[Sentence]:
    """Sentences of a CoNLL column file, read lazily; ``path`` ``-`` reads standard input.

    ``label_column=None`` reads tokens only (a file to tag). Lines whose first
    column is ``-DOCSTART-`` separate documents and are not tokens. Every line
    of a file must have as many columns as its first token line. With
    ``comment_prefix`` (``"#"``), lines that begin with it before a sentence's
    first token are comments (CoNLL-U's ``# sent_id = 1``, MultiCoNER's ``# id ...``)
    and are kept apart from the tokens; within a sentence such a line is a token;
    ``#begin document`` (CoNLL-2012), ``# newdoc`` (CoNLL-U) and ``###MEDLINE:`` (JNLPBA) begin a document.
    Where the tokens are not in the first column,
    a line whose first column is a range of ids (CoNLL-U's multiword token ``1-2``, whose
    words follow it) or a decimal one (an empty node, ``8.1``) is not a token: it is kept in
    ``Sentence.other_lines``. Where both columns count from the start
    (to tag: a token column after the first), a line may be wider or narrower than the
    first if it holds them. Entities marked
    with brackets (OntoNotes' ``(PERSON*``, ``*``, ``*)``) are read as IOB2 tags.
    ``column_separator`` (``COLUMN_SEPARATORS``): ``"whitespace"`` splits a line at
    spaces and tabs, ``"tab"`` at tabs only, so that a token may be or hold a space.
    ``outside_tag``: the tag that marks a token outside every entity, read as ``O``
    (NAVER's Korean corpus writes ``-``); ``O`` reads as ``O`` either way.
    """
    yield from parse_conll(read_lines(path, encoding), _source_name(path), token_column, label_column, comment_prefix,
                           column_separator, outside_tag)


def parse_conll(
    lines_in: Iterable[tuple[int, str]], source: str, token_column: int = 0, label_column: int | None = -1,
    comment_prefix: str | None = None, column_separator: str = "whitespace", outside_tag: str = OUTSIDE,
) -> Iterator[Sentence]:
    """``read_conll`` over ``(line number, text)`` pairs already read (as ``read_lines`` gives them) from ``source``."""
    width: int | None = None
    width_line, width_number = "", 0  # the line that set the width, and its number
    # Columns given from the start hold their place whatever follows them: CoNLL-2012's lines have a column
    # for each predicate of their sentence, so their widths differ. Read from the end (-1), every line must
    # be as wide as the first, or a token holding a space would shift the tags unseen; and a file to tag read
    # from its first column must be, or text would be tagged as a word a line.
    counted_from_start = (label_column >= 0 and token_column >= 0) if label_column is not None else token_column > 0
    furthest = max(token_column, label_column or 0)
    document_start: str | None = None
    tokens: list[str] = []
    labels: list[str] = []
    lines: list[str] = []
    comments: list[str] = []
    other_lines: list[tuple[int, str]] = []
    first_line = 0

    bracketed = False  # whether the sentence's tags mark entities with brackets (read as IOB2 at its end)
    separator = _splitting_at(column_separator)

    def sentence() -> Sentence:
        read = labels
        if bracketed:
            try:
                read = brackets_to_tags(labels)
            except SchemeError as error:
                raise CorpusError(source, first_line + error.position[1], str(error)) from None  # a token a line
        return Sentence(
            tokens, read if label_column is not None else None, lines, document_start, source, first_line,
            comments or None, other_lines or None,
        )

    def no_words_after() -> CorpusError:
        return CorpusError(source, first_line, f"{other_lines[0][1]!r} is a multiword token or an empty node, and "
                           "no word follows it in its sentence")

    lines_in = iter(lines_in)  # an error about comment lines reads on past them, for its hint
    for number, line in lines_in:
        columns = split_columns(line, separator)
        if not columns:
            if tokens:
                yield sentence()
                tokens, labels, lines, comments, other_lines, document_start = [], [], [], [], [], None
                bracketed = False
            elif other_lines:
                raise no_words_after()
            continue
        if comment_prefix and not tokens and line.startswith(comment_prefix):
            comments.append(line)
            if line.startswith(DOCUMENT_BEGINS):
                document_start = line
            continue
        if columns[0] == DOCSTART:
            if tokens:
                yield sentence()
                tokens, labels, lines, comments, other_lines = [], [], [], [], []
                bracketed = False
            document_start = line
            continue
        if width is None and label_column is not None and _names_columns(columns, token_column, label_column):
            warnings.warn(TaggerWarning(f"{source}:{number}: {line.strip()!r} names the columns, as a table's header "
                                        "does: read as no sentence"))
            continue
        if token_column != 0 and _NOT_A_WORD_ID.fullmatch(columns[0]):
            if not tokens:
                first_line = number
            other_lines.append((len(tokens), line.rstrip()))
            continue
        if width is None:
            width, width_line, width_number = len(columns), line, number
            for name, index in (("token", token_column), ("label", label_column)):
                if index is not None and not -width <= index < width:
                    raise CorpusError(
                        source, number, f"{name} column {index} does not exist: the line has {width} columns"
                    )
        elif len(columns) != width and not (counted_from_start and len(columns) > furthest):
            # Read to be tagged (no labels), a file of words a line is most likely plain text.
            hint = "; if this is plain text, --input-format text reads it" if label_column is None else ""
            comment = width_line if width_line.startswith("#") else line
            if comment.startswith("#") and label_column is not None:
                # The lines past the comments show whether the comment prefix alone reads the file.
                rest = itertools.chain([] if line.startswith("#") else [(number, line)], lines_in)
                rows = _first_rows(rest, separator)
                hint += _comment_hint(comment, _column_options(rows, token_column, label_column))
            else:
                hint += _comment_hint(comment)
            tabs = width_line.count("\t")
            if separator is None and tabs and line.count("\t") == tabs:  # a space split a column between tabs
                hint += (f"; lines {width_number} and {number} have {tabs + 1} tab-separated columns each: "
                         "if a token is or holds a space, --column-separator tab reads the columns between tabs")
            raise CorpusError(
                source, number, f"expected {width} columns like the first line, got {len(columns)}: {line!r}{hint}"
            )
        if not columns[token_column]:
            raise CorpusError(source, number, f"token column {token_column} is empty: {line!r}")
        if not tokens and not other_lines:
            first_line = number
        tokens.append(sys.intern(columns[token_column]))  # a word's occurrences share one string
        lines.append(line.rstrip())
        if label_column is not None:
            label = columns[label_column]
            if "=" in label:  # a CoNLL-U MISC field (NorNE's, DaNE's): the tag is the value of one of its keys
                label = misc_tag(label)
                if label is None:  # a comment line read as a token (MultiCoNER's "# id 1<TAB>domain=en"), or not MISC
                    raise CorpusError(source, number, f"column {label_column}, {columns[label_column]!r}, holds no "
                                      "entity tag" + (_comment_hint(lines[0]) or (
                                          f": a CoNLL-U MISC field holds it under one of the keys "
                                          f"{', '.join(MISC_TAG_KEYS)} (SpaceAfter=No|name=B-PER); --label-column "
                                          "picks another column")))
            if label == outside_tag:
                label = OUTSIDE
            try:
                split_tag(label)
            except SchemeError as error:
                if is_bracket_tag(label):
                    bracketed = True
                    labels.append(sys.intern(label))
                    continue
                rows = [split_columns(text, separator) for text in lines]
                hint = (_outside_hint(label, rows, token_column, label_column)
                        or columns_hint(rows, token_column, label_column)
                        or _brackets_hint(columns) or _comment_hint(lines[0]))
                raise CorpusError(
                    source, number, f"{error}; is column {label_column} the entity tags? (--label-column picks "
                    f"another){hint}"
                ) from None
            labels.append(sys.intern(label))
    if tokens:
        yield sentence()
    elif other_lines:
        raise no_words_after()


# CoNLL-U's ids of lines that are not words: a multiword token's range of its words' ids ("1-2": "del", whose words
# "de" and "el" follow on lines 1 and 2), and an empty node's decimal id ("8.1", enhanced dependencies' elided word).
_NOT_A_WORD_ID = re.compile(r"[0-9]+-[0-9]+|[0-9]+\.[0-9]+")

# CoNLL-U's last column, MISC, holds KEY=VALUE pairs joined by "|". Corpora that add entities to a treebank write
# each token's tag there, under one of these keys (any case): NorNE and DaNE as name=B-PER, SpaceAfter=No|name=O.
MISC_TAG_KEYS = ("name", "ner", "ne", "entity")


def misc_tag(field: str) -> str | None:
    """The entity tag of a CoNLL-U MISC field (``SpaceAfter=No|name=B-PER`` -> ``B-PER``): the value of its
    first key of ``MISC_TAG_KEYS``; None where the field is not such pairs or has none of those keys."""
    if "=" not in field:
        return None
    for pair in field.split("|"):
        key, _, value = pair.partition("=")
        if key.lower() in MISC_TAG_KEYS:
            return value
    return None


# What separates the columns of a CoNLL line: ASCII spaces and tabs. Python's str.split() also splits at
# no-break and ideographic spaces, which tokens hold (French numbers' "10\u00a0000"; "\u3000" in Chinese text).
_COLUMN_SPACES = re.compile(r"[ \t\n\r\v\f]+")

# The ways to split a line into columns, by name: at runs of spaces and tabs (None), or at each tab only, so
# that a token may be or hold a space (KLUE's Korean corpus writes the space between words as a token: " \tO").
COLUMN_SEPARATORS = {"whitespace": None, "tab": "\t"}


def _splitting_at(name: str) -> str | None:
    try:
        return COLUMN_SEPARATORS[name]
    except KeyError:
        raise ValueError(f"column separator {name!r}: expected one of {', '.join(COLUMN_SEPARATORS)}") from None


def split_columns(line: str, separator: str | None = None) -> list[str]:
    """A CoNLL line's columns, split at ASCII spaces and tabs, or at each ``separator``; none for a line of
    whitespace alone."""
    if separator is not None:
        return line.split(separator) if not line.isspace() and line else []
    if line.isascii():  # most lines, and str.split() is several times faster than a pattern
        return line.split()
    if not line.strip():
        return []
    return _COLUMN_SPACES.split(line.strip(" \t\n\r\v\f"))


def read_corpus(path: str | Path, scheme: str | None = None, **options) -> list[Sentence]:
    """All sentences of a labelled CoNLL file; an error if it holds none, or if its tags are of no one scheme.

    ``scheme`` (e.g. ``"BMES"``): an error at the first tag that scheme lacks;
    None: any one scheme (``corpus_scheme``).
    """
    sentences = list(read_conll(path, **options))
    if not sentences:
        raise CorpusError(str(path), None, "no sentences: the file is empty or holds only blank or -DOCSTART- lines")
    check_columns(sentences[:100], options.get("token_column", 0), options.get("label_column", -1),
                  options.get("column_separator", "whitespace"))
    corpus_scheme(sentences, scheme)
    return sentences


def check_columns(sentences: Sequence[Sentence], token_column: int, label_column: int | None,
                  column_separator: str = "whitespace") -> None:
    """A ``CorpusError`` where the first sentences show that the columns read are not the tokens and tags:
    the tokens count 1, 2, 3, ... in every sentence (CoNLL-U's and GermEval 2014's first column), or every
    token is a tag and no tag has a prefix (MIT Movie and Restaurant write the tag first)."""
    first = sentences[0]
    tokens = [token for sentence in sentences for token in sentence.tokens]
    separator = _splitting_at(column_separator)
    hint = columns_hint([split_columns(line, separator) for line in first.lines or []], token_column, label_column)
    if len(tokens) > 2 and all(sentence.tokens == [str(i) for i in range(1, len(sentence.tokens) + 1)]
                               for sentence in sentences):
        raise CorpusError(first.source, first.first_line, f"column {token_column} numbers the tokens (1, 2, 3, ...), "
                          f"as CoNLL-U's and GermEval 2014's first column does{hint or '; --token-column picks the words'}")
    if label_column is None:
        return
    labels = [label for sentence in sentences for label in sentence.labels]
    if all(map(looks_like_a_tag, tokens)) and any(token != OUTSIDE for token in tokens) and not any(
            looks_like_a_tag(label) and label != OUTSIDE for label in labels):
        words = ", ".join(repr(label) for label in list(dict.fromkeys(labels))[:3])
        raise CorpusError(first.source, first.first_line, f"column {token_column} holds tags "
                          f"({', '.join(repr(token) for token in list(dict.fromkeys(tokens))[:3])}) and column "
                          f"{label_column} words ({words}): this file writes the tag first"
                          f"{hint or '; --token-column and --label-column pick the words and tags'}")


def columns_hint(rows: Sequence[Sequence[str]], token_column: int, label_column: int | None) -> str:
    """``"; --token-column 1 --label-column 2 reads its words and tags"``: the options that read a sentence's
    ``rows`` of columns where the ones given do not (``""`` where they do, or no better ones show)."""
    options = _column_options(rows, token_column, label_column)
    return f"; {_joined(options)} reads its words and tags" if options else ""


def _column_options(rows: Sequence[Sequence[str]], token_column: int, label_column: int | None,
                   outside_tag: str = OUTSIDE) -> dict[str, int]:
    """``{"--token-column": 1, "--label-column": 2}``: ``columns_hint``'s options, none where the columns
    given read a sentence's ``rows`` or no better ones show.

    The tags' column holds only tags (``O`` or ``outside_tag``, ``B-PER``; one at least not outside where
    there is one such column); the words' is the first other one that does not count its lines 1, 2, 3.
    """
    width = len(rows[0]) if rows else 0
    if not width or any(len(row) != width for row in rows):
        return {}
    columns = [[row[c] for row in rows] for c in range(width)]
    tagged = [c for c, values in enumerate(columns)
              if all(value == outside_tag or looks_like_a_tag(value) for value in values)]
    entities = [c for c in tagged if any(value not in (OUTSIDE, outside_tag) for value in columns[c])]
    tagged = entities or tagged
    numbers = [str(i) for i in range(1, len(rows) + 1)]
    words = [c for c, values in enumerate(columns) if c not in tagged and values != numbers]
    options = {}
    if words and token_column % width != words[0] and (token_column % width in tagged or columns[token_column] == numbers):
        options["--token-column"] = words[0]
    if label_column is not None and tagged and label_column % width not in tagged:
        options["--label-column"] = tagged[0]
    return options


def _outside_hint(tag: str, rows: Sequence[Sequence[str]], token_column: int, label_column: int) -> str:
    """A hint for an invalid ``tag`` of no letter or digit in the tags' column, which a corpus may write for the
    tokens outside entities (NAVER's Korean corpus: ``-``): the options that read the sentence's ``rows`` with
    it as ``O``; none where another column holds the tags (Universal NER's ``-`` columns beside its tags)."""
    if any(character.isalnum() for character in tag):
        return ""
    options: dict[str, object] = dict(_column_options(rows, token_column, label_column, outside_tag=tag))
    if "--label-column" in options:
        return ""
    options["--outside-tag"] = shlex.quote(tag)
    return f"; if {tag!r} marks the tokens outside entities, {_joined(options)} reads its words and tags"


def _joined(options: Mapping[str, object]) -> str:
    return " ".join(f"{option} {value}" for option, value in options.items())


def corpus_scheme(sentences: Sequence[Sentence], scheme: str | None = None) -> str:
    """The tag scheme the sentences are written in (``schemes.detect_scheme``), or ``scheme`` once checked.

    A tag of another scheme is a ``CorpusError`` naming its file and line, and
    the schemes tried.
    """
    reading: list[Sentence] = []  # the sentence being read: a tag at fault is in it

    def labels() -> Iterator[list[str]]:  # one pass, nothing kept: a corpus may be larger than memory
        for sentence in sentences:
            if sentence.labels:
                reading[:] = [sentence]
                yield sentence.labels

    try:
        return detect_scheme(labels(), scheme)
    except SchemeError as error:
        if error.position is None:
            raise
        _, i = error.position
        first = reading[0]
        hint = (_comment_hint(first.lines[0]) if first.lines else "") or _bare_outside_hint(first.labels)
        raise CorpusError(first.source, first.line_of(i), f"{error}{hint}") from None


def _bare_outside_hint(labels: Sequence[str]) -> str:
    """A hint for a sentence whose tags mix prefixed ones with a bare one on half its tokens or more, which a
    corpus may write for the tokens outside entities (``o``, ``OUT``): the option that reads it as ``O``."""
    bare = Counter(label for label in labels if not looks_like_a_tag(label) and label[:1].isalpha())
    if not bare or len(bare) == len(set(labels)):
        return ""
    tag, count = bare.most_common(1)[0]
    if 2 * count < len(labels):
        return ""
    return f"; if {tag!r} marks the tokens outside entities, --outside-tag {shlex.quote(tag)} reads it as O"


# What a header line above a file's columns names the tokens' and the tags' (pandas' to_csv writes one).
TOKEN_COLUMN_NAMES = frozenset({"word", "words", "token", "tokens", "form", "char", "character"})
TAG_COLUMN_NAMES = frozenset({"tag", "tags", "ner", "ner_tag", "ner_tags", "label", "labels", "entity", "iob", "bio"})


def _names_columns(columns: Sequence[str], token_column: int, label_column: int) -> bool:
    """Whether a file's first line names its token and tag columns (``word tag``) instead of holding a token."""
    if not all(-len(columns) <= column < len(columns) for column in (token_column, label_column)):
        return False
    return columns[token_column].lower() in TOKEN_COLUMN_NAMES and columns[label_column].lower() in TAG_COLUMN_NAMES


def _brackets_hint(columns: Sequence[str]) -> str:
    """A hint for a line with a column of entities in brackets, as OntoNotes' CoNLL-2012 files have (column 10)."""
    bracketed = next((c for c, value in enumerate(columns) if is_bracket_tag(value)), None)
    if bracketed is None:
        return ""
    return (f"; column {bracketed} holds entities in brackets ({columns[bracketed]!r}): --label-column {bracketed} "
            "reads them (OntoNotes' CoNLL-2012 files: --token-column 3 --label-column 10 --comment-prefix '#')")


def _comment_hint(line: str, column_options: Mapping[str, int] | None = None) -> str:
    """A hint for an error in a corpus where ``line`` may be a comment that was read as a token; with the
    options that read the words and tags of the lines between the comments where those given do not."""
    if not line.startswith("#"):
        return ""
    columns = f" (and {_joined(column_options)} the words and tags)" if column_options else ""
    return f"; if lines starting with # are comments, --comment-prefix '#' reads them so{columns}"


def _first_rows(lines: Iterable[tuple[int, str]], separator: str | None, limit: int = 1000) -> list[list[str]]:
    """The columns of each line of the first sentence in ``lines`` (``read_lines``' pairs) that is not a
    comment line starting with ``#``; within the first ``limit`` lines."""
    rows: list[list[str]] = []
    for _, text in itertools.islice(lines, limit):
        columns = split_columns(text, separator)
        if not columns or text.startswith("#"):
            if rows:
                break
            continue
        rows.append(columns)
    return rows


def file_record(path: str | Path) -> dict:
    """Where a corpus file is and what it holds: ``{"path": absolute path, "bytes": size, "sha256": digest}``.

    What a model directory keeps of the corpora it was trained on, so that a
    resumed run rereads them, and refuses others (``sources.check_record``).
    """
    path = Path(path)
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    except FileNotFoundError:
        raise CorpusError(str(path), None, "no such file") from None
    except IsADirectoryError:
        raise CorpusError(str(path), None, "is a directory, expected a file") from None
    except PermissionError:
        raise CorpusError(str(path), None, "permission denied") from None
    return {"path": str(path.resolve()), "bytes": path.stat().st_size, "sha256": digest.hexdigest()}


# The share of single-character tokens from which a corpus is written in characters: 99.6% of Weibo NER's;
# 15-17% of CoNLL-2003's, CoNLL-2002 Dutch's and WNUT-17's (punctuation, "a", digits).
CHARACTER_CORPUS_SHARE = 0.9
# The share of whitespace tokens from which a corpus of characters has the spaces between its words as tokens,
# as KLUE's Korean corpus writes them (" \tO"); Weibo NER has none.
SPACE_TOKEN_SHARE = 0.01
# How a model splits text into tokens, by the corpus it was trained on (``tokenization_of``).
WORDS, CHARACTERS, CHARACTERS_AND_SPACES = "words", "characters", "characters and spaces"


def tokenization_of(sentences: Iterable[Sentence]) -> str:
    """How a model trained on ``sentences`` splits text into tokens (``tagger.tokenizer``).

    ``CHARACTERS`` for a corpus whose tokens are single characters (``CHARACTER_CORPUS_SHARE``
    of them or more: Chinese, Japanese and Thai corpora are distributed so);
    ``CHARACTERS_AND_SPACES`` for one of those whose spaces between words are tokens too
    (``SPACE_TOKEN_SHARE`` of them or more, as in Korean corpora written a character a line);
    else ``WORDS``.
    """
    tokens = single = spaces = 0
    for sentence in sentences:
        tokens += len(sentence.tokens)
        single += sum(len(token) == 1 for token in sentence.tokens)
        spaces += sum(token.isspace() for token in sentence.tokens)
    if not tokens or single < CHARACTER_CORPUS_SHARE * tokens:
        return WORDS
    return CHARACTERS_AND_SPACES if spaces >= SPACE_TOKEN_SHARE * tokens else CHARACTERS


Context = tuple[list[str], list[str]]  # tokens read before a sentence, and after it


def document_contexts(sentences: Sequence[Sequence[str]], starts: Sequence[bool], size: int) -> list[Context]:
    """Up to ``size`` tokens before and after each token list, from its neighbours in the same document.

    ``starts[i]`` is True where sentence i begins a document (the first always
    does); context never crosses into another document.
    """
    contexts: list[Context] = []
    for i in range(len(sentences)):
        before: list[str] = []
        j = i
        while len(before) < size and j > 0 and not starts[j]:
            j -= 1
            before[:0] = sentences[j]
        after: list[str] = []
        j = i + 1
        while len(after) < size and j < len(sentences) and not starts[j]:
            after.extend(sentences[j])
            j += 1
        contexts.append((before[max(0, len(before) - size) :], after[:size]))
    return contexts


def read_lengths(sentences: Sequence[Sequence[str]], contexts: Sequence[Context] | None) -> list[int]:
    """Tokens read for each sentence: its own, plus its context's when there is one."""
    if contexts is None:
        return [len(tokens) for tokens in sentences]
    return [len(tokens) + len(before) + len(after) for tokens, (before, after) in zip(sentences, contexts)]


def entity_counts(sentences: Iterable[Sentence]) -> Counter[str]:
    """How many entities of each type the sentences' tags spell, in whatever scheme they are written."""
    return Counter(label for sentence in sentences for label, _, _ in tags_to_spans(sentence.labels))


def document_starts(sentences: Sequence[Sentence]) -> list[bool]:
    """Where each sentence of a column file begins a document: the first, and each after ``-DOCSTART-``."""
    return [i == 0 or sentence.document_start is not None for i, sentence in enumerate(sentences)]


def document_ids(starts: Sequence[bool]) -> list[int]:
    """The document number of each sentence, from where documents begin (the first sentence always does)."""
    ids, current = [], -1
    for i, start in enumerate(starts):
        current += bool(start) or i == 0
        ids.append(current)
    return ids


def document_chunks(items: Iterable[T], size: int, begins_document: Callable[[T], bool],
                    most: int | None = None) -> Iterator[list[T]]:
    """Lists of ``size`` items or more, ending where a document begins, but of ``most`` (2 x size) at most.

    For tagging a stream a chunk at a time: whole documents keep each sentence's
    context and memory, and with the default ``most`` no document of up to
    ``size`` items is cut. A ``TaggerError`` while reading is raised after the
    list of the items before it.
    """
    most = most or 2 * size
    iterator = iter(items)
    pending: list[T] = []
    while True:
        chunk, pending = pending, []
        try:
            for item in iterator:
                if len(chunk) >= size and begins_document(item):
                    pending = [item]
                    break
                chunk.append(item)
                if len(chunk) >= most:  # without reading the next item, which may be slow to come
                    break
        except TaggerError:
            if chunk:
                yield chunk
            raise
        if not chunk:
            return
        yield chunk


def parse_type_renames(pairs: Iterable[str]) -> dict[str, str]:
    """``OLD=NEW`` strings (``PERSON=PER``, ``MISC=O``) as the mapping ``rename_types`` takes."""
    renames: dict[str, str] = {}
    for pair in pairs:
        old, _, new = pair.partition("=")
        if not old or not new or any(character.isspace() for character in pair):
            raise ValueError(f"expected OLD=NEW (entity types, e.g. PERSON=PER), got {pair!r}")
        if old in renames:
            raise ValueError(f"{old} renamed twice")
        renames[old] = new
    return renames


def rename_types(sentences: Iterable[Sentence], renames: Mapping[str, str]) -> list[Sentence]:
    """The sentences with entity types renamed, as ``{"PERSON": "PER"}``; a type renamed ``"O"`` is dropped.

    For a corpus whose label set differs from a model's (or another corpus's).
    Entities are renamed whole: read as spans and written back in the corpus's
    own scheme, so that two adjacent entities that come to share a type stay two
    (in IOB1, ``I-LOC I-GPE`` with ``GPE`` renamed ``LOC`` becomes ``I-LOC B-LOC``).
    Sentences without a renamed type are kept as they are.
    """
    sentences = list(sentences)
    scheme = detect_scheme(sentence.labels for sentence in sentences if sentence.labels)
    renamed = []
    for sentence in sentences:
        spans = tags_to_spans(sentence.labels) if sentence.labels else []
        if any(label in renames for label, _, _ in spans):
            spans = [(renames.get(label, label), start, end) for label, start, end in spans]
            labels = spans_to_tags([span for span in spans if span[0] != OUTSIDE], len(sentence), scheme)
            sentence = replace(sentence, labels=labels)
        renamed.append(sentence)
    return renamed


def hold_out(sentences: Sequence[Sentence], fraction: float, seed: int
             ) -> tuple[Sequence[Sentence], Sequence[Sentence]]:
    """``sentences`` in two parts, each in corpus order: the rest, and about ``fraction`` of them held out (a dev set).

    Whole documents are held out, so that no document is both trained on and
    scored, where the corpus has ``HOLD_OUT_DOCUMENTS_FROM`` or more; single
    sentences otherwise. Which ones is drawn from ``seed``: the same seed gives the same parts.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction}")
    units = document_ids(document_starts(sentences))
    if len(sentences) and units[-1] + 1 < HOLD_OUT_DOCUMENTS_FROM:
        units = list(range(len(sentences)))
    count = units[-1] + 1 if units else 0
    if count < 2:
        source = sentences[0].source if sentences else "<input>"
        raise CorpusError(source, None,
                          f"{counted(len(sentences), 'sentence')}: too few to hold out a dev set from")
    held = set(random.Random(seed).sample(range(count), min(count - 1, max(1, round(fraction * count)))))
    parts = ([i for i, unit in enumerate(units) if unit not in held], [i for i, unit in enumerate(units) if unit in held])
    select = getattr(sentences, "select", None)  # a corpus read from disk (``sources.TableCorpus``) stays there
    if select is not None:
        return select(parts[0]), select(parts[1])
    return [sentences[i] for i in parts[0]], [sentences[i] for i in parts[1]]


# Documents a corpus needs for ``hold_out`` to hold out whole ones (a tenth is then one or more).
HOLD_OUT_DOCUMENTS_FROM = 10


def write_conll(sentences: Iterable[tuple[Sentence, list[str]]], stream: TextIO, token_separator: str = " ") -> None:
    """Write each sentence's input lines with a predicted tag appended as a last column.

    Sentences without input lines (tokens given directly) are written as ``TOKEN TAG``,
    ``token_separator`` between (a tab where a token may hold a space). Document separators are
    kept, with tag ``O``, comment lines as they were, and lines that are not tokens
    (``Sentence.other_lines``) in their place, with ``_``. A line whose columns are separated by
    tabs gets its tag after a tab, others after a space.
    """
    for sentence, tags in sentences:
        if sentence.document_start is not None and sentence.document_start not in (sentence.comments or ()):
            # (a comment that begins a document, CoNLL-2012's "#begin document", is written as the comment it is)
            stream.write(f"{sentence.document_start}{_separator(sentence.document_start)}O\n\n")
        stream.write("".join(f"{comment}\n" for comment in sentence.comments or ()))
        if sentence.lines is not None:
            written = [f"{line}{_separator(line)}{tag}\n" for line, tag in zip(sentence.lines, tags)]
        else:
            written = [f"{token}{token_separator}{tag}\n" for token, tag in zip(sentence.tokens, tags)]
        for position, line in reversed(sentence.other_lines or ()):  # from the last, so positions hold
            written.insert(position, f"{line}{_separator(line)}{NO_TAG}\n")
        stream.write("".join(written))
        stream.write("\n")


# What write_conll appends to a line that is not a token (CoNLL-U's multiword tokens and empty nodes): CoNLL-U's
# empty field, so that every line keeps the same number of columns.
NO_TAG = "_"


def _separator(line: str) -> str:
    return "\t" if "\t" in line else " "


def to_dataset(sentences: Iterable[Sentence], labels: Sequence[str] | None = None) -> datasets.Dataset:
    """A ``datasets.Dataset`` in the Hugging Face NER layout: ``tokens`` and ``ner_tags`` (a ClassLabel sequence).

    ``labels`` fixes the label names and their order (default: sorted, ``O`` first).
    """
    from datasets import ClassLabel, Dataset, Features, Sequence as SequenceFeature, Value

    sentences = list(sentences)
    if labels is None:
        found = {label for sentence in sentences for label in sentence.labels or ()}
        labels = sorted(found, key=lambda label: (label != "O", label))
    features = Features({"tokens": SequenceFeature(Value("string")), "ner_tags": SequenceFeature(ClassLabel(names=list(labels)))})
    return Dataset.from_dict(
        {"tokens": [s.tokens for s in sentences], "ner_tags": [s.labels for s in sentences]}, features=features
    )


def from_dataset(dataset: datasets.Dataset, tokens: str = "tokens", tags: str = "ner_tags") -> list[Sentence]:
    """Sentences of a Hugging Face NER dataset (e.g. ``datasets.load_dataset("conll2003")["train"]``).

    Tags may be ClassLabel ids (turned into their names) or strings.
    """
    feature = dataset.features[tags]
    names = getattr(getattr(feature, "feature", None), "names", None)
    sentences = []
    for number, row in enumerate(dataset):
        labels = [names[tag] for tag in row[tags]] if names else list(row[tags])
        for label in labels:
            try:
                split_tag(label)
            except SchemeError as error:
                raise CorpusError(f"dataset row {number}", None, str(error)) from None
        sentences.append(Sentence(list(row[tokens]), labels, source="<dataset>", first_line=number))
    return sentences
