"""Where a labelled corpus comes from: CoNLL files, annotation tools' exports, tables read through 🤗 ``datasets``.

``read_labelled`` takes any of them by its name: a CoNLL column file (read by
``tagger.corpus``; a .tsv file of columns too), a sentence a line of ``WORD|POS|TAG``
tokens (WikiNER), brat's standoff files, WebAnno TSV 3, spaCy's DocBin (``.spacy``)
and spaCy 2's training data saved as JSON (read by ``tagger.annotations``), JSON
Lines / JSON, CSV / TSV or Parquet files with a tokens column and a tags column (or a
token a row; or, as annotation tools export them, a text column and its entities'
character spans), a folder of such files (``read_folder``), a folder written by
``Dataset.save_to_disk`` (or ``DatasetDict.save_to_disk``), or the id of a hub dataset
in the local ``datasets`` cache (read offline). Tags may be strings or integers named
by a ``ClassLabel``; a ``SOURCE:SPLIT`` suffix picks a split where there are several.
Every error is one line naming the file (and the row, where there is one).
"""

from __future__ import annotations

import ast
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

from .annotations import (SPACY_SUFFIX, SPANS_FIELDS, TEXT_FIELD, brat_sentences, is_spacy2_json, is_webanno,
                          label_studio_spans, label_studio_tasks, span_sentences, spacy2_sentences, spacy_sentences,
                          webanno_sentences)
from .corpus import (COMPRESSED_WRITERS, DOCSTART, CorpusError, Sentence, check_columns, check_encoding,
                     corpus_scheme, file_record, raise_where_undecodable, read_conll, read_corpus, read_lines)
from .errors import TaggerWarning, first_line
from .schemes import SchemeError, looks_like_a_tag, split_tag

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
        sentences = spacy_sentences([path], str(path), _named_field(tags_field))
        corpus_scheme(sentences, scheme)
        return sentences
    if is_webanno(path, conll_options.get("encoding")):
        sentences = webanno_sentences([path], str(path), conll_options.get("encoding") or "utf-8",
                                      _named_field(tags_field))
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


def _named_field(tags_field: str) -> str | None:
    """What ``--tags-field`` names in a WebAnno or spaCy file (a layer, a span group); None for the default, the
    file's own entities."""
    return None if tags_field == TAGS_FIELD else tags_field


# Words that name a split in file names (CoNLL-2003's eng.testa, JNLPBA's devel): a folder whose file names
# hold one, but not as datasets reads split names, would be read whole, test and all; it is refused instead.
SPLIT_WORDS = frozenset({"train", "training", "dev", "devel", "development", "valid", "validation", "val", "test",
                         "testa", "testb", "testing", "eval", "evaluation"})


# What a folder of corpus files holds beside them, by name: read as data, a LICENSE's first line is an error.
DOCUMENTATION = re.compile(r"(readme|licen[cs]e|notice|copying|changelog|citation|authors)(\.\w+)?$|.*\.md$", re.I)


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
                   if not DOCUMENTATION.match(file.name))
    if not files:
        raise CorpusError(name, None, "is a folder without corpus files")
    if any(file.suffix == ".ann" for file in files):
        sentences = brat_sentences(files, name, options.get("encoding") or "utf-8")
        corpus_scheme(sentences, scheme)
        return sentences
    if len(files) > 1 and all(file.suffix.lower() == SPACY_SUFFIX for file in files):
        sentences = spacy_sentences(files, name, _named_field(options.get("tags_field", TAGS_FIELD)))
        corpus_scheme(sentences, scheme)
        return sentences
    if len(files) > 1 and is_webanno(files[0], options.get("encoding")):  # INCEpTION's export: a file a document
        sentences = webanno_sentences(files, name, options.get("encoding") or "utf-8",
                                      _named_field(options.get("tags_field", TAGS_FIELD)))
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
              and not DOCUMENTATION.match(Path(file).name)]
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
                raise_where_undecodable(file, encoding)
        raise CorpusError(name, None, f"cannot be read as {TABLE_FORMATS[suffix]}: {first_line(error)}") from None
    finally:
        datasets.logging.set_verbosity(verbosity)


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
                              f"({first_line(error)})") from None
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
    if tokens_field not in dataset.column_names and label_studio_tasks(dataset):
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


def text_span_sentences(dataset: datasets.Dataset, source: str, spans_field: str) -> list[Sentence]:
    """A table of texts and their entities' character spans as sentences (``span_sentences``); a CSV cell's
    spans written as a list (``[[0, 2, "ORG"]]``) are read as one."""
    records = [(text, spans if isinstance(spans, dict) else _as_list(spans))
               for text, spans in zip(dataset[TEXT_FIELD], dataset[spans_field])]
    return span_sentences(records, source, 2 if source.lower().endswith((".csv", ".tsv")) else 1)


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


def _holds_spans(feature) -> bool:
    """Whether a column's ``datasets`` feature may hold a row's spans: a list in each row, or a record (CLUENER's
    ``{type: {mention: spans}}``, a ``Json`` feature where its keys differ from row to row); a class label or a
    number does not."""
    import datasets

    kinds = tuple(kind for kind in (getattr(datasets, name, None) for name in ("List", "LargeList", "Sequence", "Json"))
                  if isinstance(kind, type))
    return isinstance(feature, (list, dict, *kinds))


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

    def joined(self, sentences: Sequence[Sentence]) -> TableCorpus:
        """This corpus's sentences, then ``sentences``, as one corpus that stays on disk: this one's rows are
        written once more as lists of token and tag names (a ``datasets`` cache file, memory-mapped, where the
        table came from a file), and the sentences after them. A row's number is its place in the whole."""
        import datasets

        names = datasets.Sequence(datasets.Value("string"))
        features = datasets.Features({self.tokens_field: names, self.tags_field: names})

        def as_names(batch: dict) -> dict:
            rows = [self._row(tokens, tags) for tokens, tags in zip(batch[self.tokens_field], batch[self.tags_field])]
            return {self.tokens_field: [tokens for tokens, _ in rows], self.tags_field: [tags for _, tags in rows]}

        datasets.disable_progress_bars()
        rows = self._data.map(as_names, batched=True, features=features)
        after = datasets.Dataset.from_dict({self.tokens_field: [list(sentence.tokens) for sentence in sentences],
                                            self.tags_field: [list(sentence.labels) for sentence in sentences]},
                                           features=features)
        return TableCorpus(datasets.concatenate_datasets([rows, after]), self.source, self.tokens_field,
                           self.tags_field)

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

