"""Corpora as annotation tools write them: texts, and their entities apart from the words.

brat's standoff files (``brat_sentences``), WebAnno TSV 3 as WebAnno and INCEpTION export it
(``webanno_sentences``), spaCy's DocBin files (``spacy_sentences``) and spaCy 2's training data
saved as JSON (``spacy2_sentences``), and the texts and character spans that doccano, Label
Studio, Prodigy and CLUENER export (``span_sentences``; ``label_studio_spans`` for Label
Studio's full export). Each gives sentences tagged in IOB2. Where a text is not already
tokenized, it is tokenized as ``tag.py`` tokenizes text, a token cut where an entity begins or
ends inside it. Where entities nest or overlap, the outermost are read and a ``TaggerWarning``
counts the others. Every error is a ``CorpusError`` naming the file and, where there is one,
the line or record.

``tagger.sources`` finds which of these a corpus is; this module reads each.
"""

from __future__ import annotations

import bisect
import re
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .corpus import DOCSTART, CorpusError, Sentence, raise_where_undecodable
from .errors import TaggerWarning, first_line
from .schemes import spans_to_tags

if TYPE_CHECKING:
    import datasets


def brat_sentences(files: Sequence[Path], name: str, encoding: str = "utf-8") -> list[Sentence]:
    """The documents of brat's standoff files (each ``X.txt`` and the ``X.ann`` beside it), in the order of their
    paths, as sentences tagged in IOB2: each text's tokens (``tokenizer.tokenize``, or a character a token where
    the text has under one space in ``tokenizer.WORDS_SPACING`` characters), cut where an entity begins or ends
    inside one, split into sentences as ``tag.py`` splits text (at each line break, as brat shows a text, and
    within a line after a full stop), never inside an entity.

    Entities are the ``T`` lines (``T1<TAB>PER 0 5<TAB>Peter``; a discontinuous one, ``0 5;9 14``, reads as the
    whole extent); relations, events, attributes and notes are left out. Where entities nest or overlap, the
    outermost (of those that overlap, the first) is read and a ``TaggerWarning`` counts the others. A line that is
    not brat's, an offset out of the text, or a span whose text is not the line's is a ``CorpusError`` naming it.
    """
    from .tokenizer import (character_sentence_starts, sentence_starts, tokenize, tokenize_characters,
                            written_without_spaces)

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
        split, starts_of = ((tokenize_characters, character_sentence_starts) if written_without_spaces([text])
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
                      layer: str | None = None) -> list[Sentence]:
    """The documents of WebAnno TSV 3 files (a document a file, in order) as sentences tagged in IOB2.

    Each token line (``1-2<TAB>6-15<TAB>Blackburn<TAB>...``) is a token, and the file's sentences are
    its sentences; the entities are the annotations of the named-entity layer (``WEBANNO_ENTITY_LAYER``),
    typed by its feature ``value``, found among the layers the header declares (``#T_SP=``, ``#T_CH=``,
    ``#T_RL=``, each taking a column a feature); ``layer`` ``LAYER:FEATURE`` names another layer (a
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
        document, spans = _webanno_document(path, encoding, layer)
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
                      layer: str | None) -> tuple[list[list[tuple[str, int]]], list[tuple[int, int, str]]]:
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

    if layer is None:
        wanted_layer, wanted_feature = WEBANNO_ENTITY_LAYER, WEBANNO_ENTITY_FEATURE
    else:
        wanted_layer, _, wanted_feature = layer.partition(":")

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


def spacy_sentences(files: Sequence[Path], name: str, span_group: str | None = None) -> list[Sentence]:
    """The ``Doc`` objects of spaCy's DocBin files (``.spacy``, as ``spacy convert`` and ``DocBin.to_disk`` write
    them), in order, as sentences tagged in IOB2.

    A Doc's tokens are read as they are, but for spaCy's whitespace tokens (``"\\n"``, ``"  "``), which are no
    words; its sentences are its ``sents`` where it has sentence boundaries (an entity across two joins them),
    else it is one sentence. Its entities are ``doc.ents``, or with ``span_group``, the spans
    of ``doc.spans[span_group]`` (the outermost where they nest or overlap; a ``TaggerWarning`` counts the others).
    A ``-DOCSTART-`` word (CoNLL's document line, which ``spacy convert`` keeps as a word unless it is
    ``-DOCSTART- -X- O O``) is no word, and begins a document; without such words, where a Doc holds several
    sentences each Doc begins a document, and where every Doc is one sentence, each file does. A token whose
    entity annotation is missing (spaCy's unannotated ``ent_iob_ == ""``) reads as outside, counted in a
    warning; a file with none annotated is a ``CorpusError``, and so is one that is not a DocBin. A sentence's
    ``first_line`` is its Doc's number.
    """
    read, missing, left_out, total = [], 0, 0, 0
    for path in files:
        for number, doc in enumerate(_docbin_docs(path, name, span_group), 1):
            if span_group is None:
                spans = [(ent.start, ent.end, ent.label_) for ent in doc.ents]
                missing += sum(token.ent_iob == 0 for token in doc)
            else:
                spans = [(span.start, span.end, span.label_) for span in doc.spans.get(span_group, [])]
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


def docbin_docs(path: Path, name: str | None = None) -> list:
    """The Docs of one DocBin file (``.spacy``), without their user data; a ``CorpusError`` where spaCy is not
    installed (``name``: what the message names then, the path by default) or the file is not a DocBin."""
    try:
        from spacy.tokens import DocBin
        from spacy.vocab import Vocab
    except ImportError:
        raise CorpusError(name or str(path), None, "reading spaCy's .spacy files needs spaCy: pip install spacy"
                          ) from None
    try:
        stored = DocBin().from_disk(path)
        # No user data is read: spaCy unpacks each Doc's (spacy convert stores one) through a registry
        # look-up that cost 1 ms a Doc, 15 of the 16 s that CoNLL-2002 Dutch's 15,806 Docs took.
        stored.user_data = []
        return list(stored.get_docs(Vocab()))
    except FileNotFoundError:
        raise CorpusError(str(path), None, "no such file") from None
    except ValueError as error:
        raise CorpusError(str(path), None, f"is not a spaCy DocBin file ({first_line(error)})") from None


def _docbin_docs(path: Path, name: str, span_group: str | None) -> list:
    """The Docs of one DocBin file, checked to hold the entities ``spacy_sentences`` reads (``span_group``)."""
    docs = docbin_docs(path, name)
    groups = {key for doc in docs for key in doc.spans}
    if span_group is None:
        if docs and not any(doc.has_annotation("ENT_IOB") for doc in docs):
            hint = f" (its span groups: {', '.join(sorted(groups))}; --tags-field names one)" if groups else ""
            raise CorpusError(str(path), None, f"its {len(docs):,} Docs have no entities annotated{hint}")
        if groups and not any(doc.ents for doc in docs):
            warnings.warn(TaggerWarning(f"{path}: no Doc has entities (doc.ents), but its span groups "
                                        f"({', '.join(sorted(groups))}) hold spans: --tags-field names one to read"),
                          stacklevel=3)
    elif not any(span_group in doc.spans for doc in docs):
        raise CorpusError(str(path), None, f"no span group {span_group!r} (it has {', '.join(sorted(groups)) or 'none'}"
                          "; doc.ents are read without --tags-field)")
    return docs


# What annotation tools export: a "text" column, and beside it the entities as character spans, in a
# column named as one of these. doccano: "label", lists [start, end, type]; spaCy and Prodigy: "spans",
# records {"start", "end", "label"}; Label Studio's JSON-MIN: "label", records whose "labels" lists the type
# (its full JSON export nests them: label_studio_spans); doccano with relations: "entities", records
# {"start_offset", "end_offset", "label"};
# CLUENER: "label", a record {type: {mention: [[start, last], ...]}} whose spans end at their last character.
TEXT_FIELD = "text"
SPANS_FIELDS = ("label", "labels", "spans", "entities")


def label_studio_tasks(dataset: datasets.Dataset) -> bool:
    """Whether a table is Label Studio's JSON export: a task a row, its text in the record ``data``, its
    annotations a list in ``annotations``."""
    return isinstance(dataset.features.get("data"), dict) and "annotations" in dataset.column_names


def label_studio_spans(dataset: datasets.Dataset, source: str) -> datasets.Dataset:
    """Label Studio's JSON export (``label_studio_tasks``) as a table of texts and their spans, a row a task:
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


def span_sentences(records: Sequence[tuple[str | None, object]], source: str, first_line: int = 1) -> list[Sentence]:
    """Texts and their entities' character spans (``records`` of both) as sentences: each text a sentence of
    ``tokenizer.tokenize``'s tokens (cut where an entity begins or ends inside one), tagged in IOB2; the k-th
    record's line ``first_line + k``.

    Texts written without spaces (Chinese, Japanese, Thai: under one space in ``tokenizer.WORDS_SPACING``
    characters of all the texts') are cut into characters (``tokenizer.tokenize_characters``), as character corpora are.
    A span that is out of its text, covers no token, or overlaps another is a ``CorpusError`` naming the row.
    """
    from .tokenizer import tokenize, tokenize_characters, written_without_spaces

    split = tokenize_characters if written_without_spaces([text or "" for text, _ in records]) else tokenize
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
        raise_where_undecodable(path, encoding)
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


def _character_spans(value, text: str, source: str, number: int) -> list[tuple[int, int, str]]:
    """A row's spans as ``(start, end, type)``, ``end`` exclusive: a list of spans (see ``_character_span``), or
    CLUENER's record ``{type: {mention: [[start, last], ...]}}``, each span checked against its mention."""
    if isinstance(value, list | tuple | None):
        return [_character_span(span, len(text), source, number) for span in value or ()]
    if not isinstance(value, dict):
        raise CorpusError(source, number, f"spans {value!r} are not a list of spans, or {{type: {{mention: spans}}}}")
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


