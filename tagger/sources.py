"""Where a labelled corpus comes from: a CoNLL file, or a table read through 🤗 ``datasets``.

``read_labelled`` takes any of them by its name: a CoNLL column file (read by
``tagger.corpus``; a .tsv file of columns too), WebAnno TSV 3 (WebAnno's and
INCEpTION's export), spaCy's DocBin (``.spacy``), spaCy 2's training data saved as
JSON, JSON Lines / JSON, CSV / TSV or Parquet files with a tokens column and a tags
column (or a token a row; or, as annotation tools export them, a text column and
its entities' character spans), a folder of such files (``read_folder``), a folder
written by ``Dataset.save_to_disk`` (or ``DatasetDict.save_to_disk``), or the id of
a hub dataset in the local ``datasets`` cache (read offline). Tags may be strings
or integers named by a ``ClassLabel``; a ``SOURCE:SPLIT`` suffix picks a split
where there are several. Every error is one line naming the file (and the row,
where there is one).
"""

from __future__ import annotations

import ast
import bisect
import codecs
import collections
import hashlib
import itertools
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .corpus import (COMPRESSED_WRITERS, DOCSTART, CorpusError, Sentence, check_columns, check_encoding,
                     corpus_scheme, file_record, read_conll, read_corpus, read_lines)
from .errors import TaggerWarning
from .schemes import SchemeError, looks_like_a_tag, spans_to_tags, split_tag

if TYPE_CHECKING:  # datasets is imported only when a table is read (0.75 s)
    import datasets

# What ``datasets`` reads each kind of file with, by suffix.
TABLE_FORMATS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".tsv": "csv", ".parquet": "parquet"}
TOKENS_FIELD = "tokens"
TAGS_FIELD = "ner_tags"


def read_labelled(source: str | Path, *, split: str = "train", tokens_field: str = TOKENS_FIELD,
                  tags_field: str = TAGS_FIELD, sentence_field: str | None = None, scheme: str | None = None,
                  **conll_options) -> Sequence[Sentence]:
    """The sentences of a labelled corpus, whatever its kind (see the module's docstring).

    ``split``: the split read from a folder or hub dataset that has several, unless
    ``source`` names one (``conll2003:validation``). ``sentence_field``: as
    ``sentences_of``'s. ``scheme``: as ``read_corpus``'s. ``conll_options`` go to
    ``read_corpus`` (columns, encoding) for CoNLL files; their encoding to CSV and JSON files too.
    """
    path = Path(source)
    if conll_options.get("encoding"):
        check_encoding(conll_options["encoding"], str(source))
    folder, folder_split = _folder_and_split(str(source), split)
    if folder is not None and not _saved_dataset(folder):
        return read_folder(folder, folder_split, tokens_field=tokens_field, tags_field=tags_field,
                           sentence_field=sentence_field, scheme=scheme, **conll_options)
    if path.suffix.lower() == SPACY_SUFFIX and path.is_file():
        sentences = spacy_sentences([path], str(path), tags_field)
        corpus_scheme(sentences, scheme)
        return sentences
    if is_webanno(path, conll_options.get("encoding")):
        sentences = webanno_sentences([path], str(path), conll_options.get("encoding") or "utf-8", tags_field)
        corpus_scheme(sentences, scheme)
        return sentences
    if is_spacy2_json(path, conll_options.get("encoding")):
        sentences = spacy2_sentences(path, conll_options.get("encoding"))
        corpus_scheme(sentences, scheme)
        return sentences
    if is_piped(path, conll_options.get("encoding")):
        sentences = piped_sentences(path, conll_options.get("encoding"))
        corpus_scheme(sentences, scheme)
        return sentences
    columns = path.is_file() and (table_suffix(path) not in TABLE_FORMATS
                                  or _holds_columns(path, tokens_field, conll_options.get("encoding")))
    if columns or str(source) == "-":
        return read_corpus(source, scheme=scheme, **conll_options)
    dataset, name = load_table(str(source), split, conll_options.get("encoding"))
    sentences = sentences_of(dataset, name, tokens_field, tags_field, sentence_field)
    if not len(sentences):
        raise CorpusError(name, None, "no sentences: the table has no rows")
    corpus_scheme(sentences, scheme)
    return sentences


# Words that name a split in file names (CoNLL-2003's eng.testa, JNLPBA's devel): a folder whose file names
# hold one, but not as datasets reads split names, would be read whole, test and all; it is refused instead.
SPLIT_WORDS = frozenset({"train", "training", "dev", "devel", "development", "valid", "validation", "val", "test",
                         "testa", "testb", "testing", "eval", "evaluation"})


# What a corpus's folder holds beside the corpus, by name: read as data, a LICENSE's first line is an error.
_DOCUMENTATION = re.compile(r"(readme|licen[cs]e|notice|copying|changelog|citation|authors)(\.\w+)?$|.*\.md$", re.I)


def read_folder(folder: Path, split: str = "train", *, scheme: str | None = None, **options) -> Sequence[Sentence]:
    """The sentences of a folder of corpus files (not a ``save_to_disk`` folder) for ``split``.

    Files named by split as 🤗 ``datasets`` names them (``train.conll``, ``dev.conll``,
    ``test-2.conll``, ``train/doc1.conll``; ``datasets.data_files.get_data_patterns``)
    are that split's; in a folder without such names every file is one corpus (hidden
    files, READMEs, licences and the like left out). One file is read as
    ``read_labelled`` reads it; several CoNLL files in the order of their paths, each
    beginning a document; several table files of one format as one table; brat's
    ``.txt`` and ``.ann`` files as ``brat_sentences`` reads them, WebAnno TSV files as
    ``webanno_sentences`` does, spaCy's ``.spacy`` files as ``spacy_sentences`` does, and
    spaCy 2's JSON files as ``spacy2_sentences`` does.
    """
    import datasets.data_files as data_files
    from datasets.exceptions import DataFilesNotFoundError

    try:
        patterns = data_files.get_data_patterns(str(folder))
    except (data_files.EmptyDatasetError, DataFilesNotFoundError):
        raise CorpusError(str(folder), None, "is a folder without corpus files") from None
    found = data_files.DataFilesDict.from_patterns(patterns, str(folder))
    name = str(folder)
    if patterns != {"train": ["**"]}:
        everything = data_files.DataFilesDict.from_patterns({"train": ["**"]}, str(folder))["train"]
        found = _named_splits({str(key): list(files) for key, files in found.items()}, everything, name)
        if split not in found:
            raise CorpusError(name, None, f"has no {split} files (it has {', '.join(map(str, found))}, named as "
                              f"train.conll, dev.conll, test.conll are): name one as {name}:SPLIT or pass a file")
        name = f"{folder}:{split}"
    else:
        named = [Path(file).name for file in found["train"] if SPLIT_WORDS & _name_words(file)]
        if named:
            raise CorpusError(name, None, f"its files {', '.join(named[:3])} look like splits, but are not named as "
                              "train.conll, dev.conll, test.conll are, so the folder would be read whole: pass a file")
    files = sorted(file for file in map(Path, found[split if split in found else "train"])
                   if not _DOCUMENTATION.match(file.name))
    if not files:
        raise CorpusError(name, None, "is a folder without corpus files")
    if any(file.suffix == ".ann" for file in files):
        sentences = brat_sentences(files, name, options.get("encoding") or "utf-8")
        corpus_scheme(sentences, scheme)
        return sentences
    if len(files) > 1 and all(file.suffix.lower() == SPACY_SUFFIX for file in files):
        sentences = spacy_sentences(files, name, options.get("tags_field", TAGS_FIELD))
        corpus_scheme(sentences, scheme)
        return sentences
    if len(files) > 1 and is_webanno(files[0], options.get("encoding")):  # INCEpTION's export: a file a document
        sentences = webanno_sentences(files, name, options.get("encoding") or "utf-8",
                                      options.get("tags_field", TAGS_FIELD))
        corpus_scheme(sentences, scheme)
        return sentences
    if len(files) > 1 and all(is_spacy2_json(file, options.get("encoding")) for file in files):
        sentences = [sentence for file in files for sentence in spacy2_sentences(file, options.get("encoding"))]
        corpus_scheme(sentences, scheme)
        return sentences
    if len(files) > 1 and all(is_piped(file, options.get("encoding")) for file in files):
        sentences = [sentence for file in files for sentence in piped_sentences(file, options.get("encoding"))]
        corpus_scheme(sentences, scheme)
        return sentences
    if len(files) == 1:
        return read_labelled(files[0], scheme=scheme, **options)
    tables = {TABLE_FORMATS.get(table_suffix(file)) for file in files
              if not _holds_columns(file, options.get("tokens_field", TOKENS_FIELD), options.get("encoding"))}
    if tables - {None}:
        if len(tables) > 1:
            raise CorpusError(name, None, f"holds files of {len(tables)} kinds ({', '.join(sorted(map(str, tables)))}"
                              "): pass one kind of file")
        sentences = sentences_of(_table_of_files(files, name, options.get("encoding")), name,
                                 options.get("tokens_field", TOKENS_FIELD), options.get("tags_field", TAGS_FIELD),
                                 options.get("sentence_field"))
    else:
        conll = {key: value for key, value in options.items()
                 if key not in ("tokens_field", "tags_field", "sentence_field")}
        sentences = conll_documents(files, name, **conll)
    corpus_scheme(sentences, scheme)
    return sentences


def _name_words(file: str) -> set[str]:
    """The words of a file's name, in lower case: ``{"eng", "testa"}`` for ``conll2003/eng.testa``."""
    return set(re.split(r"[^a-z]+", Path(file).name.lower()))


# Names of dev files that datasets reads as no split: JNLPBA's and BioBERT's NER corpora have devel.tsv.
DEV_WORDS = frozenset({"devel", "development"})


def _named_splits(found: dict[str, list[str]], everything: Sequence[str], name: str) -> dict[str, list[str]]:
    """The files of each split, as ``datasets`` names them (``found``) and as it does not: a ``devel`` file is
    the validation split's; a file named for two splits (BioBERT's train_dev.tsv) is left out of both, and a file
    named for a split that is no split's (``eng.testa``) is left out, each with a warning."""
    placed = {file for files in found.values() for file in files}
    devel = [file for file in everything if file not in placed and _name_words(file) & DEV_WORDS]
    if devel:
        found = {**found, "validation": sorted([*found.get("validation", []), *devel])}
    splits_of = collections.defaultdict(list)
    for split, files in found.items():
        for file in files:
            splits_of[file].append(split)
    twice = sorted(file for file, splits in splits_of.items() if len(splits) > 1)
    for file in twice:
        warnings.warn(TaggerWarning(f"{name}: {Path(file).name} is named for two splits "
                                    f"({', '.join(splits_of[file])}): left out of both; pass it as a file to read it"))
    unread = [Path(file).name for file in everything if file not in splits_of and _name_words(file) & SPLIT_WORDS
              and not _DOCUMENTATION.match(Path(file).name)]
    if unread:
        warnings.warn(TaggerWarning(f"{name}: {', '.join(unread[:3])} named as no split (train, dev or devel, test): "
                                    "left out; pass it as a file to read it"))
    return {split: kept for split, files in found.items() if (kept := [file for file in files if file not in twice])}


def conll_documents(files: Sequence[Path], name: str, **options) -> list[Sentence]:
    """The sentences of CoNLL files (``read_conll``'s ``options``), in order, each file beginning a document."""
    sentences: list[Sentence] = []
    for file in files:
        document = list(read_conll(file, **options))
        if document and sentences and document[0].document_start is None:
            document[0] = replace(document[0], document_start="-DOCSTART-")
        sentences += document
    if not sentences:
        raise CorpusError(name, None, "no sentences: its files are empty or hold only blank or -DOCSTART- lines")
    check_columns(sentences[:100], options.get("token_column", 0), options.get("label_column", -1),
                  options.get("column_separator", "whitespace"))
    return sentences


def brat_sentences(files: Sequence[Path], name: str, encoding: str = "utf-8") -> list[Sentence]:
    """The documents of brat's standoff files (each ``X.txt`` and the ``X.ann`` beside it), in the order of their
    paths, as sentences tagged in IOB2: each text's tokens (``tokenizer.tokenize``, or a character a token where
    the text has under one space in ``WORDS_SPACING`` characters), cut where an entity begins or ends inside one,
    split into sentences as ``tag.py`` splits text (at each line break, as brat shows a text, and within a line
    after a full stop), never inside an entity.

    Entities are the ``T`` lines (``T1<TAB>PER 0 5<TAB>Peter``; a discontinuous one, ``0 5;9 14``, reads as the
    whole extent); relations, events, attributes and notes are left out. Where entities nest or overlap, the
    outermost (of those that overlap, the first) is read and a ``TaggerWarning`` counts the others. A line that is
    not brat's, an offset out of the text, or a span whose text is not the line's is a ``CorpusError`` naming it.
    """
    from .tokenizer import character_sentence_starts, sentence_starts, tokenize, tokenize_characters

    sentences, inner, total = [], 0, 0
    for annotated in (file for file in files if file.suffix == ".ann"):
        text_file = annotated.with_suffix(".txt")
        if not text_file.is_file():
            raise CorpusError(str(annotated), None, f"no {text_file.name} beside it: brat's annotations need their "
                              "text")
        with open(text_file, encoding=encoding, newline="") as file:  # offsets count a \r\n as two characters
            text = file.read()
        spans = _brat_spans(annotated, text, encoding)
        total += len(spans)
        outermost = _outermost(spans)
        inner += len(spans) - len(outermost)
        split, starts_of = ((tokenize_characters, character_sentence_starts) if _written_without_spaces([text])
                            else (tokenize, sentence_starts))
        pieces, entities = _tokens_and_entities(text, outermost, split, str(annotated), None)
        inside = {i for _, first, end in entities for i in range(first + 1, end)}
        broken = {i for i in range(1, len(pieces)) if "\n" in text[pieces[i - 1][2]:pieces[i][1]]}  # a line each
        starts = sorted((set(starts_of(pieces, text)) | broken) - inside)
        lines, line, counted = [], 1, 0  # the line of each sentence's first token
        for begin in starts:
            line, counted = line + text.count("\n", counted, pieces[begin][1]), pieces[begin][1]
            lines.append(line)
        sentences += _document_sentences([sys.intern(token) for token, _, _ in pieces],
                                         spans_to_tags(entities, len(pieces), "IOB2"), list(zip(starts, lines)),
                                         str(text_file), first=not sentences)
    if not sentences:
        raise CorpusError(name, None, "no sentences: its brat texts are empty")
    if inner:
        warnings.warn(TaggerWarning(f"{name}: {inner:,} of {total:,} entities lie inside or across others and are "
                                    "left out (the outermost are read)"), stacklevel=2)
    return sentences


def _document_sentences(tokens: list[str], tags: list[str], starts: Sequence[tuple[int, int]], source: str,
                        first: bool) -> list[Sentence]:
    """A document's tokens and tags cut into sentences at ``starts``, the ``(token index, line number)`` of each
    sentence's first token; its first sentence begins a document unless it is the ``first`` of its corpus."""
    ends = [begin for begin, _ in starts[1:]] + [len(tokens)]
    return [Sentence(tokens[begin:end], tags[begin:end], document_start=None if k or first else "-DOCSTART-",
                     source=source, first_line=line) for k, ((begin, line), end) in enumerate(zip(starts, ends))]


def _outermost(spans: Sequence[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Of ``(start, end, type)`` spans, in order, those inside or across no other (of two that overlap, the first)."""
    outermost: list[tuple[int, int, str]] = []
    for span in sorted(spans, key=lambda span: (span[0], -span[1])):
        if not outermost or span[0] >= outermost[-1][1]:
            outermost.append(span)
    return outermost


def _brat_spans(path: Path, text: str, encoding: str) -> list[tuple[int, int, str]]:
    """The ``(start, end, type)`` of each entity (``T`` line) of a brat ``.ann`` file."""
    spans = []
    with open(path, encoding=encoding) as file:
        for number, line in enumerate(file, 1):
            if not line.startswith("T"):
                continue  # relations, events, attributes, normalizations, notes
            fields = line.rstrip("\r\n").split("\t", 2)  # the entity's text may hold a tab
            label, _, places = fields[1].partition(" ") if len(fields) > 1 else ("", "", "")
            try:
                fragments = [tuple(int(offset) for offset in place.split()) for place in places.split(";")]
            except ValueError:
                fragments = []
            if not label or not fragments or any(len(fragment) != 2 for fragment in fragments):
                raise CorpusError(str(path), number, f"{line.strip()!r} is not an entity as brat writes one "
                                  "(T1<TAB>TYPE START END<TAB>TEXT)")
            start, end = min(a for a, _ in fragments), max(b for _, b in fragments)
            if not 0 <= start < end <= len(text):
                raise CorpusError(str(path), number, f"{fields[0]} {label} {start}-{end} is out of its text "
                                  f"of {len(text)} characters")
            if len(fragments) == 1 and len(fields) > 2 and text[start:end].split() != fields[2].split():
                raise CorpusError(str(path), number, f"{fields[0]} {label} {start}-{end} is "
                                  f"{text[start:end]!r} in {path.with_suffix('.txt').name}, not {fields[2]!r}")
            spans.append((start, end, label))
    return spans


WEBANNO_FORMAT = "#FORMAT=WebAnno TSV 3"
# The layer of named entities, as DKPro Core names it in WebAnno's and INCEpTION's exports, and its feature.
WEBANNO_ENTITY_LAYER = "de.tudarmstadt.ukp.dkpro.core.api.ner.type.NamedEntity"
WEBANNO_ENTITY_FEATURE = "value"
_WEBANNO_TOKEN_ID = re.compile(r"([0-9]+)-([0-9]+)(\.[0-9]+)?")
_WEBANNO_ESCAPED = re.compile(r"\\(->|[\\\[\]|_;*tnr])")
_WEBANNO_UNESCAPED = {"t": "\t", "n": "\n", "r": "\r"}
_WEBANNO_ANNOTATION = re.compile(r"(.*?)(?:\[([0-9]+)\])?")


def is_webanno(path: Path, encoding: str | None = None) -> bool:
    """Whether ``path`` is a file of WebAnno TSV 3 (WebAnno's and INCEpTION's export): its first line says so."""
    if not path.is_file():
        return False
    with open(path, encoding=encoding or "utf-8", errors="replace") as file:
        return file.readline().lstrip("\ufeff").startswith(WEBANNO_FORMAT)


def webanno_sentences(files: Sequence[Path], name: str, encoding: str = "utf-8",
                      tags_field: str = TAGS_FIELD) -> list[Sentence]:
    """The documents of WebAnno TSV 3 files (a document a file, in order) as sentences tagged in IOB2.

    Each token line (``1-2<TAB>6-15<TAB>Blackburn<TAB>...``) is a token, and the file's sentences are
    its sentences; the entities are the annotations of the named-entity layer (``WEBANNO_ENTITY_LAYER``),
    typed by its feature ``value``, found among the layers the header declares (``#T_SP=``, ``#T_CH=``,
    ``#T_RL=``, each taking a column a feature); ``tags_field`` ``LAYER:FEATURE`` names another layer (a
    project's own, ``webanno.custom.Entity:label``; ``LAYER`` alone: its only feature). ``PER[3]`` on
    several tokens is one entity over them, ``PER`` one of one token, ``PER[3]|LOC[4]`` two on one token;
    an annotation of a part of a token (``1-2.1``) covers its token. Where entities nest or overlap, the
    outermost is read and a ``TaggerWarning`` counts the others, and those without a type (``*``); a
    sentence is never split inside an entity. A file without the layer, or a line that is not a token
    line, is a ``CorpusError``.
    """
    sentences: list[Sentence] = []
    left_out = total = 0
    for path in files:
        document, spans = _webanno_document(path, encoding, tags_field)
        typed = [span for span in spans if span[2]]
        outermost = _outermost(typed)
        total, left_out = total + len(spans), left_out + len(spans) - len(outermost)
        tokens = [token for sentence in document for token, _ in sentence]
        tags = spans_to_tags([(label, first, end) for first, end, label in outermost], len(tokens), "IOB2")
        inside = {i for first, end, _ in outermost for i in range(first + 1, end)}
        starts, position = [], 0
        for sentence in document:
            if position not in inside:
                starts.append((position, sentence[0][1]))
            position += len(sentence)
        sentences += _document_sentences(tokens, tags, starts, str(path), first=not sentences)
    if not sentences:
        raise CorpusError(name, None, "no sentences: its WebAnno files hold no tokens")
    if left_out:
        warnings.warn(TaggerWarning(f"{name}: {left_out:,} of {total:,} entities have no type, or lie inside or "
                                    "across others, and are left out (the outermost typed ones are read)"),
                      stacklevel=2)
    return sentences


def _webanno_document(path: Path, encoding: str,
                      tags_field: str) -> tuple[list[list[tuple[str, int]]], list[tuple[int, int, str]]]:
    """One WebAnno TSV 3 file's sentences, each a list of ``(token, line number)``, and its entity annotations as
    ``(first token, end token, type)`` over the document's tokens (type ``""`` where the annotation has none)."""
    source = str(path)
    column: int | None = None
    layers: list[str] = []
    sentences: list[list[tuple[str, int]]] = []
    places: dict[str, int] = {}  # a token's id ("1-2") -> its index in the document
    found: dict[tuple[str, str], list[int]] = {}  # a multi-token annotation (PER[3]: "PER", "3") -> its tokens
    singles: list[tuple[int, int, str]] = []
    width, count = 3, 0  # the columns of a token line; the tokens read

    if tags_field == TAGS_FIELD:
        wanted_layer, wanted_feature = WEBANNO_ENTITY_LAYER, WEBANNO_ENTITY_FEATURE
    else:
        wanted_layer, _, wanted_feature = tags_field.partition(":")

    def no_entity_layer(number: int | None) -> CorpusError:
        wanted = f"{wanted_layer}:{wanted_feature}" if wanted_feature else wanted_layer
        return CorpusError(source, number, f"the layer {wanted} is not among the layers its header declares "
                           f"({', '.join(layers) or 'none'}): --tags-field LAYER:FEATURE names the layer of the "
                           "entities and the feature of their types")

    with open(path, encoding=encoding) as file:
        for number, line in enumerate(file, 1):
            line = line.rstrip("\r\n").lstrip("\ufeff")
            if line.startswith(("#T_SP=", "#T_CH=", "#T_RL=")):
                layer, *features = line[len("#T_SP="):].split("|")
                layers.append(line[len("#T_SP="):])
                feature = wanted_feature or (features[0] if len(features) == 1 else WEBANNO_ENTITY_FEATURE)
                if layer == wanted_layer and feature in features:
                    column = width + features.index(feature)
                width += max(1, len(features))
                continue
            if not line.strip() or line.startswith("#"):
                if not line.strip() and sentences and sentences[-1]:
                    sentences.append([])
                continue
            if column is None:
                raise no_entity_layer(number)
            cells = line.split("\t")
            if len(cells) == width + 1 and cells[-1] == "":  # a tab after the last column
                cells.pop()
            token_id = _WEBANNO_TOKEN_ID.fullmatch(cells[0])
            if len(cells) != width or token_id is None:
                raise CorpusError(source, number, f"expected a WebAnno TSV token line of {width} tab-separated "
                                  f"columns (ID, offsets, token, a column a layer's feature), got {line!r}")
            if token_id.group(3) is None:  # a token, not a part of one
                if not sentences:
                    sentences.append([])
                places[token_id.group(0)], count = count, count + 1
                sentences[-1].append((sys.intern(_webanno_text(cells[2])), number))
            index = places.get(f"{token_id.group(1)}-{token_id.group(2)}")
            if index is None:
                raise CorpusError(source, number, f"{cells[0]} is a part of token "
                                  f"{token_id.group(1)}-{token_id.group(2)}, which no line before it is")
            if cells[column] == "_":
                continue
            for annotation in re.split(r"(?<!\\)\|", cells[column]):
                label, key = _WEBANNO_ANNOTATION.fullmatch(annotation).groups()
                label = "" if label == "*" else _webanno_text(label)
                if key is None:
                    singles.append((index, index + 1, label))
                else:
                    found.setdefault((label, key), []).append(index)
    sentences = [sentence for sentence in sentences if sentence]
    if column is None:
        raise no_entity_layer(None)
    spans = singles + [(min(indices), max(indices) + 1, label) for (label, _), indices in found.items()]
    return sentences, spans


def _webanno_text(escaped: str) -> str:
    """A token or feature value of WebAnno TSV with its escapes (``\\_``, ``\\|``, ``\\[``, ``\\t``, ...) undone."""
    return _WEBANNO_ESCAPED.sub(lambda match: _WEBANNO_UNESCAPED.get(match.group(1), match.group(1)), escaped)


SPACY_SUFFIX = ".spacy"


def spacy_sentences(files: Sequence[Path], name: str, tags_field: str = TAGS_FIELD) -> list[Sentence]:
    """The ``Doc`` objects of spaCy's DocBin files (``.spacy``, as ``spacy convert`` and ``DocBin.to_disk`` write
    them), in order, as sentences tagged in IOB2.

    A Doc's tokens are read as they are, but for spaCy's whitespace tokens (``"\\n"``, ``"  "``), which are no
    words; its sentences are its ``sents`` where it has sentence boundaries (an entity across two joins them),
    else it is one sentence. Its entities are ``doc.ents``, or with ``tags_field`` naming a span group, the spans
    of ``doc.spans[tags_field]`` (the outermost where they nest or overlap; a ``TaggerWarning`` counts the others).
    A ``-DOCSTART-`` word (CoNLL's document line, which ``spacy convert`` keeps as a word unless it is
    ``-DOCSTART- -X- O O``) is no word, and begins a document; without such words, where a Doc holds several
    sentences each Doc begins a document, and where every Doc is one sentence, each file does. A token whose
    entity annotation is missing (spaCy's unannotated ``ent_iob_ == ""``) reads as outside, counted in a
    warning; a file with none annotated is a ``CorpusError``, and so is one that is not a DocBin. A sentence's
    ``first_line`` is its Doc's number.
    """
    read, missing, left_out, total = [], 0, 0, 0
    for path in files:
        for number, doc in enumerate(_docbin_docs(path, name, tags_field), 1):
            if tags_field == TAGS_FIELD:
                spans = [(ent.start, ent.end, ent.label_) for ent in doc.ents]
                missing += sum(token.ent_iob == 0 for token in doc)
            else:
                spans = [(span.start, span.end, span.label_) for span in doc.spans.get(tags_field, [])]
            outermost = _outermost(spans)
            total, left_out = total + len(spans), left_out + len(spans) - len(outermost)
            starts = [sentence.start for sentence in doc.sents] if doc.has_annotation("SENT_START") else [0]
            read.append((path, number, [token.text for token in doc], outermost, starts))
    # spacy convert keeps CoNLL's document line as a word where it is not "-DOCSTART- -X- O O" (CoNLL-2002's
    # "-DOCSTART- -DOCSTART- O"): such a word begins a document. Where there is none, a Doc of several sentences
    # is a document, and where every Doc is one sentence, a file is.
    marked = any(DOCSTART in words for _, _, words, _, _ in read)
    by_documents = not marked and any(len(starts) > 1 for *_, starts in read)
    sentences: list[Sentence] = []
    previous = None
    for path, number, words, spans, starts in read:
        # Whitespace tokens and document lines are no words; positions count the words before them.
        is_word = [not (word.isspace() or word == DOCSTART) for word in words]
        kept = np.cumsum([0] + is_word)
        entities = [(label, int(kept[start]), int(kept[end])) for start, end, label in spans if kept[end] > kept[start]]
        tokens = [sys.intern(word) for word, word_kept in zip(words, is_word) if word_kept]
        if not tokens:
            continue
        tags = spans_to_tags(entities, len(tokens), "IOB2")
        inside = {i for _, first, end in entities for i in range(first + 1, end)}
        breaks = {int(kept[i]) for i, word in enumerate(words) if word == DOCSTART} - inside
        begins = sorted(({int(kept[start]) for start in starts} | breaks) - inside - {len(tokens)})
        edges = [begin for begin in begins if begin == 0 or begin in breaks] + [len(tokens)]
        for first, end in zip(edges, edges[1:]):
            begins_a_document = bool(sentences) and (first in breaks or (first == 0 and (by_documents or
                                                                                        path != previous)))
            sentences += _document_sentences(tokens[first:end], tags[first:end],
                                             [(begin - first, number) for begin in begins if first <= begin < end],
                                             str(path), not begins_a_document)
        previous = path
    if not sentences:
        raise CorpusError(name, None, "no sentences: its Docs hold no tokens")
    if missing:
        warnings.warn(TaggerWarning(f"{name}: {missing:,} tokens have no entity annotation (spaCy's missing value) "
                                    "and are read as outside any entity"), stacklevel=2)
    if left_out:
        warnings.warn(TaggerWarning(f"{name}: {left_out:,} of {total:,} spans lie inside or across others and are "
                                    "left out (the outermost are read)"), stacklevel=2)
    return sentences


def _docbin_docs(path: Path, name: str, tags_field: str) -> list:
    """The Docs of one DocBin file, checked to hold the entities ``spacy_sentences`` reads (``tags_field``)."""
    try:
        from spacy.tokens import DocBin
        from spacy.vocab import Vocab
    except ImportError:
        raise CorpusError(name, None, "reading spaCy's .spacy files needs spaCy: pip install spacy") from None
    try:
        stored = DocBin().from_disk(path)
        # No user data is read: spaCy unpacks each Doc's (spacy convert stores one) through a registry
        # look-up that cost 1 ms a Doc, 15 of the 16 s that CoNLL-2002 Dutch's 15,806 Docs took.
        stored.user_data = []
        docs = list(stored.get_docs(Vocab()))
    except ValueError as error:
        raise CorpusError(str(path), None, f"is not a spaCy DocBin file ({_first_line(error)})") from None
    groups = {key for doc in docs for key in doc.spans}
    if tags_field == TAGS_FIELD:
        if docs and not any(doc.has_annotation("ENT_IOB") for doc in docs):
            hint = f" (its span groups: {', '.join(sorted(groups))}; --tags-field names one)" if groups else ""
            raise CorpusError(str(path), None, f"its {len(docs):,} Docs have no entities annotated{hint}")
        if groups and not any(doc.ents for doc in docs):
            warnings.warn(TaggerWarning(f"{path}: no Doc has entities (doc.ents), but its span groups "
                                        f"({', '.join(sorted(groups))}) hold spans: --tags-field names one to read"),
                          stacklevel=3)
    elif not any(tags_field in doc.spans for doc in docs):
        raise CorpusError(str(path), None, f"no span group {tags_field!r} (it has {', '.join(sorted(groups)) or 'none'}"
                          "; doc.ents are read without --tags-field)")
    return docs


def table_suffix(path: Path) -> str:
    """The suffix that names a file's table format, in lower case: ``.jsonl`` for ``train.jsonl`` and, as
    ``datasets`` reads compressed files, for ``train.jsonl.gz``."""
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if len(suffixes) > 1 and suffixes[-1] in COMPRESSED_WRITERS:  # a compression's suffix
        return suffixes[-2]
    return suffixes[-1] if suffixes else ""


def _table_of_files(files: Sequence[Path], name: str, encoding: str | None = None) -> datasets.Dataset:
    """One ``datasets.Dataset`` of table files of one kind (by the first's suffix), text files read in ``encoding``
    (default UTF-8); a ``CorpusError`` naming ``name`` where ``datasets`` cannot read them."""
    import datasets

    datasets.logging.set_verbosity_error()
    datasets.disable_progress_bars()
    suffix = table_suffix(files[0])
    options = {"delimiter": "\t"} if suffix == ".tsv" else {}
    if encoding and codecs.lookup(encoding).name != "utf-8" and TABLE_FORMATS[suffix] in ("csv", "json"):
        options["encoding"] = encoding  # only where it is not datasets' own, so that its cache keys stay the same
    verbosity = datasets.logging.get_verbosity()
    datasets.logging.set_verbosity(datasets.logging.CRITICAL)  # its reader logs the error it then raises
    try:
        return datasets.load_dataset(TABLE_FORMATS[suffix], data_files=[str(file) for file in files], split="train",
                                     **options)
    except Exception as error:  # datasets raises many kinds, each with a long message
        if _caused_by(error, UnicodeDecodeError) and suffix != ".parquet":
            for file in files:
                _raise_where_undecodable(file, encoding)
        raise CorpusError(name, None, f"cannot be read as {TABLE_FORMATS[suffix]}: {_first_line(error)}") from None
    finally:
        datasets.logging.set_verbosity(verbosity)


def _raise_where_undecodable(path: Path, encoding: str | None) -> None:
    """The ``CorpusError`` ``read_lines`` raises at the line of ``path`` that does not decode, naming what to try;
    nothing where every line decodes."""
    collections.deque(read_lines(path, encoding or "utf-8"), maxlen=0)


def _caused_by(error: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``error``, or an error it was raised from or while handling, is a ``kind``."""
    while error is not None:
        if isinstance(error, kind):
            return True
        error = error.__cause__ or error.__context__
    return False


def _folder_and_split(source: str, split: str) -> tuple[Path | None, str]:
    """The folder ``source`` names, and the split asked for (``FOLDER:SPLIT`` names one); None if it names none."""
    if Path(source).is_dir():
        return Path(source), split
    folder, _, named = source.rpartition(":")
    return (Path(folder), named) if folder and Path(folder).is_dir() else (None, split)


def _saved_dataset(folder: Path) -> bool:
    """Whether a folder was written by ``Dataset.save_to_disk`` or ``DatasetDict.save_to_disk``."""
    return (folder / "state.json").is_file() or (folder / "dataset_dict.json").is_file()


def _holds_columns(path: Path, tokens_field: str, encoding: str | None) -> bool:
    """Whether a .tsv file is CoNLL columns, not a table: its first line names no ``tokens_field`` column, and a
    blank line parts two lines of its first thousand (a sentence break). GermEval 2014's and BioBERT's NER
    corpora come so; a table has a header and a row a line."""
    if table_suffix(path) != ".tsv":
        return False
    try:
        lines = [line.strip() for _, line in itertools.islice(read_lines(path, encoding or "utf-8"), 1000)]
    except CorpusError:  # a line that does not decode: the reader that reads the file says where
        return False
    if not lines or tokens_field in lines[0].lstrip("\ufeff").split("\t"):
        return False
    filled = [i for i, line in enumerate(lines) if line]
    return bool(filled) and any(not line for line in lines[filled[0]:filled[-1]])


def load_table(source: str, split: str = "train", encoding: str | None = None) -> tuple[datasets.Dataset, str]:
    """A ``datasets.Dataset`` from a table file (text in ``encoding``), a ``save_to_disk`` folder or a cached hub
    id; and its name for errors.

    Memory-mapped Arrow: ``datasets`` converts a file once and keeps it in its cache.
    """
    path = Path(source)
    if not path.exists() and ":" in source and Path(source.rsplit(":", 1)[0]).exists():
        source, split = source.rsplit(":", 1)
        path = Path(source)
    import datasets

    datasets.logging.set_verbosity_error()
    datasets.disable_progress_bars()
    if path.is_file():
        return _table_of_files([path], source, encoding), source
    if path.is_dir():
        try:
            loaded = datasets.load_from_disk(str(path))
        except (FileNotFoundError, ValueError) as error:
            raise CorpusError(source, None, "is a directory, but not one written by Dataset.save_to_disk "
                              f"({_first_line(error)})") from None
        return _split_of(loaded, split, source), f"{source}:{split}" if isinstance(loaded, dict) else source
    if ":" in source:
        source, split = source.rsplit(":", 1)
    return _split_of(_cached_hub_dataset(source, split), split, source), f"{source}:{split}"


def _cached_hub_dataset(name: str, split: str):
    """A hub dataset's split from the local cache, never from the network."""
    import datasets

    if name.startswith((".", "/")) or name.count("/") > 1 or Path(name).suffix:  # a path, not a hub id
        raise CorpusError(name, None, "no such file or directory")
    offline = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    datasets.config.HF_HUB_OFFLINE = True
    try:
        return datasets.load_dataset(name, split=split)
    except Exception as error:
        raise CorpusError(name, None, f"no such file, folder, or dataset in the local datasets cache "
                          f"({datasets.config.HF_DATASETS_CACHE}; reading offline): pass local files (CoNLL, JSON "
                          f"Lines, CSV, Parquet or a save_to_disk folder) [{type(error).__name__}]") from None
    finally:
        if offline is None:
            del os.environ["HF_HUB_OFFLINE"]
        else:
            os.environ["HF_HUB_OFFLINE"] = offline


def _split_of(loaded, split: str, source: str):
    """The split asked for of a ``DatasetDict`` (a ``Dataset`` is its own)."""
    if not isinstance(loaded, dict):
        return loaded
    if split not in loaded:
        raise CorpusError(source, None, f"has no split {split!r} (it has {', '.join(loaded)}): name one as "
                          f"{source}:SPLIT")
    return loaded[split]


def sentences_of(dataset: datasets.Dataset, source: str, tokens_field: str = TOKENS_FIELD,
                 tags_field: str = TAGS_FIELD, sentence_field: str | None = None) -> Sequence[Sentence]:
    """The rows of a table as sentences (a ``TableCorpus``): its tokens and tags columns, the tags as names.

    Every row is checked once, as it streams past: tags may be strings or
    ``ClassLabel`` ids; a CSV cell may hold a list as ``["EU", "rejects"]`` or as
    tokens separated by spaces. A row's number in errors is its line in a JSON
    Lines file, the line after the header in CSV. Rows without tokens are left out.

    A table of a token a row (Kaggle's GMB corpus: ``Sentence #,Word,POS,Tag``) is
    read by ``token_row_sentences``, its sentences told apart by ``sentence_field``
    (default: the first column named as ``SENTENCE_COLUMN`` reads, where every
    row of the table's first thousand holds one token).
    """
    missing = [field for field in (tokens_field, tags_field) if field not in dataset.column_names]
    if tokens_field not in dataset.column_names and _label_studio_tasks(dataset):
        return text_span_sentences(label_studio_spans(dataset, source), source, "label")
    spans_field = next((field for field in SPANS_FIELDS if _holds_spans(dataset.features.get(field))), None)
    if tokens_field not in dataset.column_names and TEXT_FIELD in dataset.column_names and spans_field:
        return text_span_sentences(dataset, source, spans_field)
    if missing:
        option = "--tokens-field" if missing[0] == tokens_field else "--tags-field"
        raise CorpusError(source, None, f"no column {missing[0]!r} (it has {', '.join(dataset.column_names)}); "
                          f"{option} names another{_fields_hint(dataset.column_names, tokens_field, tags_field)}")
    if sentence_field is None and _a_token_a_row(dataset, tokens_field):
        sentence_field = next((name for name in dataset.column_names if SENTENCE_COLUMN.fullmatch(name.lower())
                               and name not in (tokens_field, tags_field)), None)
        if sentence_field is None:
            raise CorpusError(source, None, f"every row holds one token, and no column says which sentence it is "
                              f"in (it has {', '.join(dataset.column_names)}): --sentence-field names the one that "
                              "does, or give a sentence a row")
    if sentence_field is not None:
        if sentence_field not in dataset.column_names:
            raise CorpusError(source, None, f"no column {sentence_field!r} (it has "
                              f"{', '.join(dataset.column_names)}); --sentence-field names another")
        return token_row_sentences(dataset, source, tokens_field, tags_field, sentence_field)
    corpus = TableCorpus(dataset, source, tokens_field, tags_field)
    empty = []
    for row, (number, (tokens, tags)) in enumerate(zip(corpus.line_numbers(), corpus.rows())):
        if len(tokens) != len(tags):
            raise CorpusError(source, number, f"{len(tokens)} tokens but {len(tags)} tags")
        _check_tags(tags, source, number, tags_field)
        if not tokens:
            empty.append(row)
    if empty:
        keep = np.ones(len(corpus), dtype=bool)
        keep[empty] = False
        corpus = corpus.select(np.flatnonzero(keep))
    return corpus


def _check_tags(tags: Sequence, source: str, number: int, tags_field: str) -> None:
    """A ``CorpusError`` naming line ``number`` where a tag of a table's row is not a string, or no scheme's."""
    for tag in tags:
        if not isinstance(tag, str):
            raise CorpusError(source, number, f"tags are {type(tag).__name__}s without names: give them as strings, "
                              "or as a ClassLabel feature")
        try:
            split_tag(tag)
        except SchemeError as error:
            raise CorpusError(source, number, f"{error}; is {tags_field!r} the entity tags? (--tags-field "
                              "names another)") from None


# Column names that hold a table's tokens or its tags (CoNLL's words, Kaggle's "Word" and "Tag"), to hint at.
TOKENS_NAMES = ("word", "words", "token", "form")
TAGS_NAMES = ("tag", "tags", "ner", "ner_tag", "label", "labels")


def _fields_hint(columns: Sequence[str], tokens_field: str, tags_field: str) -> str:
    """The options that name a table's tokens and tags columns, where its column names say which they are."""
    options = []
    for option, field, names in (("--tokens-field", tokens_field, TOKENS_NAMES), ("--tags-field", tags_field, TAGS_NAMES)):
        found = next((column for column in columns if column.lower() in names), None)
        if field not in columns and found is not None:
            options.append(f"{option} {found!r}" if " " in found else f"{option} {found}")
    return f"; {' '.join(options)} reads its tokens and tags" if options else ""


# How a table of a token a row names the column that says which sentence a row is in: GMB's "Sentence #",
# "sentence_id", "sent_id", "sentence_idx", "Sentence No" (not "sentiment").
SENTENCE_COLUMN = re.compile(r"sent(ence)?[\s_#.-]*(id|idx|index|no|nr|num|number)?[\s#.]*")


# Rows of a table that show whether it holds a token a row.
TOKEN_ROWS_SAMPLE = 1000


def _a_token_a_row(dataset: datasets.Dataset, tokens_field: str) -> bool:
    """Whether a table's tokens column holds strings of one token each, in every row of its first
    ``TOKEN_ROWS_SAMPLE`` (two at least): a table of a token a row, not of a sentence a row."""
    if getattr(dataset.features[tokens_field], "dtype", None) not in ("string", "large_string") or len(dataset) < 2:
        return False
    cells = dataset.select_columns([tokens_field])[:TOKEN_ROWS_SAMPLE][tokens_field]
    return all(len(_as_list(cell)) <= 1 for cell in cells)


def token_row_sentences(dataset: datasets.Dataset, source: str, tokens_field: str, tags_field: str,
                        sentence_field: str) -> list[Sentence]:
    """The sentences of a table of a token a row: a row whose ``sentence_field`` is neither blank nor the row
    before's starts a sentence (Kaggle's GMB corpus writes ``Sentence: 1`` on a sentence's first row only,
    others a sentence id on every row). A sentence's ``first_line`` is its first row's line, so that an error
    names a token's line; rows without a token are left out."""
    first_line = 2 if source.lower().endswith((".csv", ".tsv")) else 1
    names = getattr(dataset.features[tags_field], "names", None)
    sentences: list[Sentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    start = current = None
    table = dataset.select_columns([sentence_field, tokens_field, tags_field])
    for offset, batch in enumerate(table.iter(batch_size=10_000)):
        rows = zip(batch[sentence_field], batch[tokens_field], batch[tags_field])
        for row, (sentence, token, tag) in enumerate(rows, start=offset * 10_000):
            if sentence is not None and str(sentence).strip() and sentence != current:
                if tokens:
                    sentences.append(Sentence(tokens, tags, source=source, first_line=start))
                tokens, tags, start, current = [], [], None, sentence
            if token is None or not str(token).strip():
                continue
            if start is None:
                start = first_line + row
            if tag is None or str(tag).strip() == "":
                raise CorpusError(source, first_line + row, f"token {token!r} has no tag in column {tags_field!r}")
            if names is not None:
                tag = names[tag]
            _check_tags([tag], source, first_line + row, tags_field)
            tokens.append(sys.intern(str(token).strip()))
            tags.append(sys.intern(tag))
    if tokens:
        sentences.append(Sentence(tokens, tags, source=source, first_line=start))
    return sentences


# What annotation tools export: a "text" column, and beside it the entities as character spans, in a
# column named as one of these. doccano: "label", lists [start, end, type]; spaCy and Prodigy: "spans",
# records {"start", "end", "label"}; Label Studio's JSON-MIN: "label", records whose "labels" lists the type
# (its full JSON export nests them: label_studio_spans); doccano with relations: "entities", records
# {"start_offset", "end_offset", "label"};
# CLUENER: "label", a record {type: {mention: [[start, last], ...]}} whose spans end at their last character.
TEXT_FIELD = "text"
SPANS_FIELDS = ("label", "labels", "spans", "entities")
# Text written with spaces has one every 5 to 7 characters (English, Dutch); text written without has
# next to none, a few around Latin words. Texts of fewer spaces than one in 20 characters are cut into characters.
WORDS_SPACING = 20


def _written_without_spaces(texts: Sequence[str]) -> bool:
    """Whether texts are written without spaces (Chinese, Japanese, Thai): under one in ``WORDS_SPACING`` characters."""
    return sum(text.count(" ") for text in texts) * WORDS_SPACING < sum(map(len, texts))


def _label_studio_tasks(dataset: datasets.Dataset) -> bool:
    """Whether a table is Label Studio's JSON export: a task a row, its text in the record ``data``, its
    annotations a list in ``annotations``."""
    return isinstance(dataset.features.get("data"), dict) and "annotations" in dataset.column_names


def label_studio_spans(dataset: datasets.Dataset, source: str) -> datasets.Dataset:
    """Label Studio's JSON export (``_label_studio_tasks``) as a table of texts and their spans, a row a task:
    ``text`` (the task's ``data.text``, or its only text field) and ``label``, the spans of the ``labels``
    results of the task's first annotation that was not cancelled, as ``{"start", "end", "label"}``.

    A task without such an annotation is not annotated: its row has no text (and so no sentence), and a
    ``TaggerWarning`` counts such tasks.
    """
    import datasets

    fields = [name for name, feature in dataset.features["data"].items()
              if getattr(feature, "dtype", None) in ("string", "large_string")]
    field = TEXT_FIELD if TEXT_FIELD in fields else fields[0] if len(fields) == 1 else None
    if field is None:
        raise CorpusError(source, None, f"Label Studio tasks whose data has no one text field (it has "
                          f"{', '.join(dataset.features['data']) or 'none'}): name it 'text'")
    texts, spans, unannotated = [], [], 0
    for task in dataset.select_columns(["data", "annotations"]):
        annotation = next((annotation for annotation in task["annotations"] or ()
                           if isinstance(annotation, dict) and not annotation.get("was_cancelled")), None)
        if annotation is None:
            unannotated += 1
            texts.append("")
            spans.append([])
            continue
        texts.append(task["data"][field] or "")
        found = []
        for result in annotation.get("result") or ():
            value = result.get("value") if isinstance(result, dict) else None
            if not isinstance(value, dict) or result.get("type") != "labels":
                continue  # choices, relations, text areas: not entities
            labels = value.get("labels")
            found.append({"start": value.get("start"), "end": value.get("end"),
                          "label": labels[0] if isinstance(labels, list) and labels else labels})
        spans.append(found)
    if unannotated:
        warnings.warn(TaggerWarning(f"{source}: {unannotated:,} of {len(dataset):,} Label Studio tasks have no "
                                    "annotation (or only cancelled ones) and are left out"), stacklevel=3)
    span = {"start": datasets.Value("int64"), "end": datasets.Value("int64"), "label": datasets.Value("string")}
    return datasets.Dataset.from_dict({TEXT_FIELD: texts, "label": spans},
                                      features=datasets.Features({TEXT_FIELD: datasets.Value("string"),
                                                                  "label": [span]}))


def text_span_sentences(dataset: datasets.Dataset, source: str, spans_field: str) -> list[Sentence]:
    """A table of texts and their entities' character spans as sentences (``span_sentences``)."""
    first_line = 2 if source.lower().endswith((".csv", ".tsv")) else 1
    return span_sentences(list(zip(dataset[TEXT_FIELD], dataset[spans_field])), source, first_line)


def span_sentences(records: Sequence[tuple[str | None, object]], source: str, first_line: int = 1) -> list[Sentence]:
    """Texts and their entities' character spans (``records`` of both) as sentences: each text a sentence of
    ``tokenizer.tokenize``'s tokens (cut where an entity begins or ends inside one), tagged in IOB2; the k-th
    record's line ``first_line + k``.

    Texts written without spaces (Chinese, Japanese, Thai: under one space in ``WORDS_SPACING`` characters of
    all the texts') are cut into characters (``tokenizer.tokenize_characters``), as character corpora are.
    A span that is out of its text, covers no token, or overlaps another is a ``CorpusError`` naming the row.
    """
    from .tokenizer import tokenize, tokenize_characters

    split = tokenize_characters if _written_without_spaces([text or "" for text, _ in records]) else tokenize
    sentences = []
    for row, (text, value) in enumerate(records):
        number, text = first_line + row, text or ""
        spans = sorted(_character_spans(value, text, source, number))
        for (start, end, label), following in zip(spans, spans[1:]):
            if following[0] < end:
                raise CorpusError(source, number, f"spans {text[start:end]!r} ({label}) and "
                                  f"{text[following[0]:following[1]]!r} ({following[2]}) overlap")
        pieces, entities = _tokens_and_entities(text, spans, split, source, number)
        if pieces:
            tokens = [sys.intern(token) for token, _, _ in pieces]
            sentences.append(Sentence(tokens, spans_to_tags(entities, len(tokens), "IOB2"), source=source,
                                      first_line=number, one_line=True))
    if not sentences:
        raise CorpusError(source, None, f"no sentences: the {TEXT_FIELD!r} column holds no text")
    return sentences


# spaCy 2's training data, as its tutorials write it and users save it as JSON: [[text, {"entities": spans}], ...].
SPACY2_SPANS = "entities"


# A sentence a line, each token WORD|POS|TAG or WORD|TAG: WikiNER's corpora (aij-wikiner-*-wp2), the layout
# spaCy's iob converter reads.
PIPE = "|"


def is_piped(path: Path, encoding: str | None = None) -> bool:
    """Whether a file is a sentence a line of ``WORD|POS|TAG`` tokens (``piped_lines``, on its first 50 lines);
    never a table's (a Parquet file may hold no line break for megabytes)."""
    if not path.is_file() or table_suffix(path) in TABLE_FORMATS:
        return False
    try:
        return piped_lines([text for _, text in itertools.islice(read_lines(path, encoding or "utf-8"), 50)])
    except CorpusError:
        return False


def piped_lines(lines: Sequence[str]) -> bool:
    """Whether lines are sentences of ``WORD|POS|TAG`` tokens: some hold several tokens, each token has a ``|``,
    and the last part of half of them or more is a tag (a tag at fault is then an error at its line, as in any
    corpus)."""
    split = [line.split() for line in lines]
    fields = [field for tokens in split for field in tokens][:100]
    if not fields or not any(len(tokens) > 1 for tokens in split) or not all(PIPE in field for field in fields):
        return False
    return 2 * sum(looks_like_a_tag(field.rsplit(PIPE, 1)[1]) for field in fields) >= len(fields)


def piped_sentences(path: Path, encoding: str | None = None) -> list[Sentence]:
    """The sentences of a file of a sentence a line of ``WORD|POS|TAG`` tokens (``is_piped``): the first part of
    each token is its word and the last its tag; a blank line begins a document, as WikiNER parts its articles.
    A token with fewer parts than those of the first line is an error at its line."""
    name, sentences, parts, document_start = str(path), [], None, DOCSTART
    for number, line in read_lines(path, encoding or "utf-8"):
        fields = line.split()
        if not fields:
            document_start = DOCSTART if sentences else document_start
            continue
        parts = parts or min(field.count(PIPE) for field in fields) + 1  # a word may hold a | itself
        split = [field.rsplit(PIPE, parts - 1) for field in fields]
        short = next((field for field, pieces in zip(fields, split) if len(pieces) < parts or not pieces[0]), None)
        if short is not None:
            layout = PIPE.join(["WORD", *["POS"] * (parts - 2), "TAG"])
            raise CorpusError(name, number, f"token {short!r} is not {layout}, as the first line's tokens are")
        sentences.append(Sentence([sys.intern(pieces[0]) for pieces in split],
                                  [sys.intern(pieces[-1]) for pieces in split],
                                  document_start=document_start, source=name, first_line=number, one_line=True))
        document_start = None
    return sentences


def is_spacy2_json(path: Path, encoding: str | None = None) -> bool:
    """Whether a ``.json`` file begins as spaCy 2's training data does: a list whose first item is a list whose
    first item is a string (``[["Apple is ...", {"entities": [[0, 5, "ORG"]]}], ...]``)."""
    if path.suffix.lower() != ".json" or not path.is_file():
        return False
    with open(path, encoding=encoding or "utf-8", errors="replace") as file:
        start = file.read(64).lstrip("\ufeff")
    return re.match(r'\s*\[\s*\[\s*"', start) is not None


def spacy2_sentences(path: Path, encoding: str | None = None) -> list[Sentence]:
    """The sentences of spaCy 2's training data saved as JSON (``span_sentences``): a record's line is its
    position in the list, from 1."""
    import json

    try:
        with open(path, encoding=encoding or "utf-8") as file:
            data = json.load(file)
    except json.JSONDecodeError as error:
        raise CorpusError(str(path), error.lineno, f"not JSON: {error.msg}") from None
    except UnicodeDecodeError:
        _raise_where_undecodable(path, encoding)
        raise
    for number, item in enumerate(data, 1):
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) and isinstance(item[1], dict)):
            raise CorpusError(str(path), number, f"{str(item)[:60]} is not [text, {{{SPACY2_SPANS!r}: spans}}], as "
                              "spaCy 2's training data is")
    return span_sentences([(text, annotations.get(SPACY2_SPANS, [])) for text, annotations in data], str(path))


def _tokens_and_entities(text: str, spans: Sequence[tuple[int, int, str]], split: Callable, source: str,
                         number: int) -> tuple[list[tuple[str, int, int]], list[tuple[str, int, int]]]:
    """``split``'s ``(token, start, end)`` tokens of ``text``, cut where a span begins or ends inside one, and each
    span (``(start, end, type)``, character offsets) as ``(type, first token, end token)``."""
    edges = sorted({edge for start, end, _ in spans for edge in (start, end)})
    pieces = [piece for token in split(text) for piece in _cut(token, edges)]
    starts, ends = [start for _, start, _ in pieces], [end for _, _, end in pieces]
    entities = []
    for start, end, label in spans:
        first, last = bisect.bisect_left(starts, start), bisect.bisect_right(ends, end)
        if first >= last:
            raise CorpusError(source, number, f"span {start}-{end} ({label}) covers no token: {text[start:end]!r}")
        entities.append((label, first, last))
    return pieces, entities


def _holds_spans(feature) -> bool:
    """Whether a column's ``datasets`` feature may hold a row's spans: a list in each row, or a record (CLUENER's
    ``{type: {mention: spans}}``, a ``Json`` feature where its keys differ from row to row); a class label or a
    number does not."""
    import datasets

    kinds = tuple(kind for kind in (getattr(datasets, name, None) for name in ("List", "LargeList", "Sequence", "Json"))
                  if isinstance(kind, type))
    return isinstance(feature, (list, dict, *kinds))


def _character_spans(value, text: str, source: str, number: int) -> list[tuple[int, int, str]]:
    """A row's spans as ``(start, end, type)``, ``end`` exclusive: a list of spans (see ``_character_span``), or
    CLUENER's record ``{type: {mention: [[start, last], ...]}}``, each span checked against its mention."""
    if not isinstance(value, dict):
        return [_character_span(span, len(text), source, number) for span in _as_list(value)]
    spans = []
    for label, mentions in value.items():
        if not isinstance(mentions, dict | None):
            raise CorpusError(source, number, f"spans {value!r} are not {{type: {{mention: [[start, last], ...]}}}}")
        for mention, places in (mentions or {}).items():
            for place in places or ():  # a record read as a struct has None where a row lacks a key
                if not (isinstance(place, list) and len(place) == 2 and all(isinstance(i, int) for i in place)):
                    raise CorpusError(source, number, f"span {place!r} of {mention!r} ({label}) is not [start, last]")
                start, end = place[0], place[1] + 1
                if not 0 <= start < end <= len(text):
                    raise CorpusError(source, number, f"span {place!r} of {mention!r} ({label}) is out of its text "
                                      f"of {len(text)} characters")
                if text[start:end] != mention:
                    raise CorpusError(source, number, f"span {place!r} ({label}) is {text[start:end]!r} in its text, "
                                      f"not {mention!r} (CLUENER's spans end at their last character)")
                spans.append((start, end, label))
    return spans


def _character_span(span, length: int, source: str, number: int) -> tuple[int, int, str]:
    """``(start, end, type)`` of a span given as ``[start, end, type]`` or as a record with ``start``, ``end``
    (doccano's ``start_offset``, ``end_offset``) and ``label`` (or ``labels``, a list of one type)."""
    if isinstance(span, dict):
        label = span.get("label", span.get("labels"))
        start, end = span.get("start", span.get("start_offset")), span.get("end", span.get("end_offset"))
        label = label[0] if isinstance(label, list) and label else label
    elif isinstance(span, list | tuple) and len(span) == 3:
        start, end, label = span
    else:
        start = end = label = None
    if not (isinstance(start, int) and isinstance(end, int) and isinstance(label, str) and label):
        raise CorpusError(source, number, f"span {span!r} is not [start, end, type] or "
                          "{'start': ..., 'end': ..., 'label': ...}")
    if not 0 <= start < end <= length:
        raise CorpusError(source, number, f"span {start}-{end} ({label}) is out of its text of {length} characters")
    return start, end, label


def _cut(token: tuple[str, int, int], edges: Sequence[int]) -> list[tuple[str, int, int]]:
    """A ``(text, start, end)`` token cut at the ``edges`` (ascending character offsets) that fall inside it."""
    text, start, end = token
    inside = [edge for edge in edges if start < edge < end]
    bounds = [start, *inside, end]
    return [(text[a - start:b - start], a, b) for a, b in zip(bounds, bounds[1:])]


class TableCorpus(Sequence[Sentence]):
    """The sentences of a table, read from its memory-mapped Arrow file as they are needed, never all at once.

    Iterating reads a thousand rows at a time; ``corpus[i]`` reads one; ``select``
    is a subset, a ``TableCorpus`` too. Training reads a batch's rows at a time
    (``column``), so that a corpus larger than memory trains in memory that does
    not grow with it. Each word and tag read is one interned string.
    """

    def __init__(self, dataset: datasets.Dataset, source: str, tokens_field: str, tags_field: str,
                 rows: np.ndarray | None = None):
        self.source, self.tokens_field, self.tags_field = source, tokens_field, tags_field
        self._dataset = dataset.select_columns([tokens_field, tags_field])
        self._rows = np.arange(len(dataset)) if rows is None else rows  # row numbers in the whole table
        self._data = self._dataset if rows is None else self._dataset.select(rows)
        feature = dataset.features[tags_field]
        self._names = getattr(getattr(feature, "feature", None), "names", None)
        self._first_line = 2 if source.lower().endswith((".csv", ".tsv")) else 1

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.select(range(len(self))[index])
        row = self._data[int(index)]
        tokens, tags = self._row(row[self.tokens_field], row[self.tags_field])
        return Sentence(tokens, tags, source=self.source, first_line=self._first_line + int(self._rows[index]),
                        one_line=True)

    def __iter__(self) -> Iterator[Sentence]:
        for number, (tokens, tags) in zip(self.line_numbers(), self.rows()):
            yield Sentence(tokens, tags, source=self.source, first_line=number, one_line=True)

    def __reduce__(self):  # pickled by its table's cache files (as datasets pickles), for training in other processes
        return TableCorpus, (self._dataset, self.source, self.tokens_field, self.tags_field, self._rows)

    def select(self, indices: Sequence[int]) -> TableCorpus:
        """The sentences at ``indices`` (positions in this corpus), in that order."""
        return TableCorpus(self._dataset, self.source, self.tokens_field, self.tags_field,
                           self._rows[np.asarray(indices, dtype=np.int64)])

    def line_numbers(self) -> Iterator[int]:
        """Each sentence's line (or row) number in its file, as errors give it."""
        return (self._first_line + int(row) for row in self._rows)

    def rows(self, batch_size: int = 1000) -> Iterator[tuple[list[str], list[str]]]:
        """Each sentence's tokens and tags, read ``batch_size`` rows at a time."""
        for batch in self._data.iter(batch_size=batch_size):
            for tokens, tags in zip(batch[self.tokens_field], batch[self.tags_field]):
                yield self._row(tokens, tags)

    def token_counts(self) -> np.ndarray:
        """(N,) the number of tokens of each sentence, read from Arrow without building its tokens."""
        import pyarrow.compute

        counts = [pyarrow.compute.list_value_length(batch[self.tokens_field]).to_numpy(zero_copy_only=False)
                  if isinstance(batch[self.tokens_field].type, pyarrow.ListType | pyarrow.LargeListType)
                  else np.array([len(_as_list(cell)) for cell in batch[self.tokens_field].to_pylist()])
                  for batch in self._data.with_format("arrow").iter(batch_size=10_000)]
        return np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)

    def column(self, which: str, convert: Callable[[list[str]], list[str]] | None = None) -> TableColumn:
        """A sequence view of each sentence's ``"tokens"`` or ``"tags"`` (passed through ``convert``)."""
        return TableColumn(self, which, convert)

    def take(self, indices: Sequence[int]) -> tuple[list[list[str]], list[list[str]]]:
        """The tokens and tags of the sentences at ``indices``, in one read."""
        batch = self._data[[int(i) for i in indices]]
        pairs = [self._row(tokens, tags) for tokens, tags in zip(batch[self.tokens_field], batch[self.tags_field])]
        return [tokens for tokens, _ in pairs], [tags for _, tags in pairs]

    def _row(self, tokens, tags) -> tuple[list[str], list[str]]:
        tokens, tags = _as_list(tokens), _as_list(tags)
        if self._names is not None:
            tags = [self._names[tag] for tag in tags]
        return [sys.intern(str(token)) for token in tokens], [sys.intern(tag) if isinstance(tag, str) else tag
                                                             for tag in tags]


def token_count(sentences: Sequence[Sentence]) -> int:
    """The number of tokens in ``sentences``; a ``TableCorpus`` counts them from Arrow without reading them."""
    if isinstance(sentences, TableCorpus):
        return int(sentences.token_counts().sum())
    return sum(len(sentence) for sentence in sentences)


class TableColumn(Sequence[list[str]]):
    """One column of a ``TableCorpus`` as a sequence (``take`` reads many rows at once)."""

    def __init__(self, corpus: TableCorpus, which: str, convert: Callable[[list[str]], list[str]] | None = None):
        self._corpus, self._which, self._convert = corpus, which, convert

    def __len__(self) -> int:
        return len(self._corpus)

    def __getitem__(self, index: int) -> list[str]:
        return self.take([index])[0]

    def take(self, indices: Sequence[int]) -> list[list[str]]:
        tokens, tags = self._corpus.take(indices)
        values = tokens if self._which == "tokens" else tags
        return [self._convert(value) for value in values] if self._convert else values


def _as_list(value) -> list:
    """A cell as a list: lists as they are; a string of a list literal parsed (never evaluated), else split on spaces."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = ast.literal_eval(text)  # literals only: no code runs
            except (ValueError, SyntaxError):
                parsed = None
            if isinstance(parsed, list):
                return parsed
        return text.split()
    return list(value)


def source_record(source: str | Path) -> dict:
    """``corpus.file_record`` for a file; for a folder (``FOLDER:SPLIT`` too), one digest over its files; for a hub
    id, its name."""
    path = Path(source)
    if path.is_file():
        return file_record(path)
    folder, split = _folder_and_split(str(source), "")
    if folder is not None:
        digest, size = hashlib.sha256(), 0
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            record = file_record(file)
            digest.update(f"{file.relative_to(folder)}\0{record['sha256']}\n".encode())
            size += record["bytes"]
        return {"path": f"{folder.resolve()}:{split}" if split else str(folder.resolve()), "bytes": size,
                "sha256": digest.hexdigest()}
    return {"path": str(source), "bytes": None, "sha256": None}  # a cached hub dataset: read again by its id


def check_record(record: dict, path: str | Path | None = None) -> str:
    """The path to read a recorded corpus (``source_record``) from: ``path`` if given (a copy, moved), else the
    recorded one.

    A ``CorpusError`` naming the file unless it holds what was recorded, byte for byte.
    """
    given = path is not None
    if record["sha256"] is None:  # a hub dataset, read from the cache by its id
        if given and str(path) != record["path"]:
            raise CorpusError(str(path), None, f"not the dataset the run was trained on ({record['path']})")
        return record["path"]
    path = Path(path if given else record["path"])
    if not given and not path.exists() and _folder_and_split(str(path), "")[0] is None:
        raise CorpusError(str(path), None, "no such file, and the run was trained on it; if it moved, give its new "
                          "path (the same file, checked by its digest)")
    found = source_record(path)
    if found["sha256"] is None:
        raise CorpusError(str(path), None, "no such file or directory")
    if (found["bytes"], found["sha256"]) != (record["bytes"], record["sha256"]):
        what = "not the file the run was trained on" if given else "changed since the run was trained on it"
        raise CorpusError(str(path), None, f"{what} ({record['path']}: {record['bytes']:,} bytes, sha256 "
                          f"{record['sha256'][:12]}...; this: {found['bytes']:,} bytes, {found['sha256'][:12]}...)")
    return str(path)


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
