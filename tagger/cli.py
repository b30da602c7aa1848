"""``tag.py`` and ``tagger-tag``: tag CoNLL files or plain text, or score a model on a gold file."""

from __future__ import annotations

import argparse
import contextlib
import html
import itertools
import json
import math
import os
import queue
import re
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .corpus import COLUMN_SEPARATORS, DOCSTART, document_chunks, open_for_writing, split_columns
from .errors import HelpFormatter, TaggerError, program_name, run_command
from .schemes import OUTSIDE, SCHEMES, SchemeError, detect_scheme, looks_like_a_tag, normalized_name

if TYPE_CHECKING:  # imported when a command runs, so that --help stays fast
    from .api import Tagger

# Sentences read, tagged and written at a time: output streams, memory stays bounded. Larger chunks
# make longer batches of one length: 20 MB took 18.3-21.4 s with one network at 8,192 against
# 21.5-22.8 s at 2,048 (three runs each), in 859-882 MB instead of 805-806 MB.
CHUNK_SENTENCES = 8192


def _argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=program_name("tagger-tag"),
        description="Tag named entities in CoNLL files or plain text, or score a model on a gold CoNLL file.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("inputs", nargs="*", metavar="INPUT",
                        help="files to tag, or folders of them (each file below a folder, in the order of their "
                        "paths); '-' reads standard input; a .parquet table's rows are records, as a CSV table's are; "
                        "a .spacy file's Docs are tagged into --format spacy")
    parser.add_argument("--model", help="model directory written by train.py, or the name of a shipped model "
                        "(default: the English CoNLL-2003 model, en-conll03)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    inputs = parser.add_argument_group("input")
    inputs.add_argument("--input-format", choices=("auto", "conll", "text", "paragraphs", "jsonl", "csv", "tsv"),
                        default="auto",
                        help="auto: csv for a .csv file, jsonl when the first line is a JSON object, conll when the "
                        "lines are columns (of equal width, with blank lines between sentences, or -DOCSTART-), text "
                        "otherwise, and which is said on standard error; jsonl: JSON Lines, a record a line, each a "
                        "document whose text is its --text-field (or whose tokens are its --tokens-field), written "
                        "back with its fields and the entities found; csv, tsv: a table with a header, each row a "
                        "record as a JSON Lines one is, its text in its --text-field column; "
                        "conll: token per line, blank line between sentences; text: sentences, split at . ! ? before a "
                        "capital, blank lines between documents (--format jsonl writes a record a line); paragraphs: "
                        "text wrapped over lines, blank lines between paragraphs, a file one document; a record per "
                        "paragraph")
    inputs.add_argument("--encoding", default="utf-8",
                        help="text encoding of the inputs (e.g. latin-1; a file that begins with UTF-16's byte-order "
                        "mark reads as UTF-16)")
    inputs.add_argument("--comment-prefix", metavar="PREFIX",
                        help="in CoNLL inputs, read the lines that begin with PREFIX before a sentence as comments "
                        "(e.g. '#'; they are written out as they were)")
    inputs.add_argument("--column-separator", choices=COLUMN_SEPARATORS, default="whitespace",
                        help="what separates the columns of CoNLL inputs: spaces and tabs (whitespace), or tabs alone "
                        "(tab), so that a token may be or hold a space (KLUE writes the space between words as a "
                        "token)")
    inputs.add_argument("--token-column", type=int, default=0, help="CoNLL column of the token")
    inputs.add_argument("--label-column", type=int, default=-1,
                        help="CoNLL column of the gold tag (--eval; in a file to tag, the tags whose scheme is "
                        "written)")
    inputs.add_argument("--text-field", default="text",
                        help="in JSON Lines and table (csv, tsv, Parquet) input, the field of each record that holds "
                        "its text")
    inputs.add_argument("--tokens-field", default="tokens",
                        help="with --eval: the tokens column of a table or dataset; in JSON Lines and Parquet input, "
                        "the field that holds a record's tokens, a list of strings, where it has no --text-field")
    output = parser.add_argument_group("output")
    output.add_argument("--format", choices=("conll", "jsonl", "csv", "tsv", "inline", "html", "brat", "spacy"),
                        help="what to write (default: as --output's name ends, .jsonl, .csv, .tsv, .html, .spacy, .ann "
                        "for brat; else conll). conll: input lines plus a predicted tag column; jsonl: one JSON "
                        "object per input sentence (per line or paragraph of text); csv, tsv: the same objects as "
                        "a table's rows, under a header line of their fields, a list or an object in a cell as "
                        "JSON; inline: one line per sentence, with entities bracketed, [PER Angela Merkel]; html: "
                        "a self-contained page with the entities highlighted by type and their probabilities on "
                        "hover; brat: each text INPUT's entities as brat's standoff (.ann) lines, for --output "
                        "or, with several INPUTs, as NAME.ann (and NAME.txt) in the folder --output names; spacy: "
                        "spaCy Docs, a document each, with their entities, to the .spacy file --output names "
                        "(needs spaCy)")
    output.add_argument("--output", help="write here instead of standard output (compressed where the name ends "
                        "in .gz, .bz2 or .xz); a folder (one that exists, or a name that ends in /): a file there for "
                        "each INPUT, named as it with the suffix of --format")
    output.add_argument("--scheme", type=normalized_name, choices=SCHEMES,
                        help="tag scheme written (default: of CoNLL input with a column of tags, such as a gold "
                        "file, the scheme of those tags, read from its first 200 lines (from a pipe, its first "
                        "sentence); else the scheme of the model's training corpus)")
    output.add_argument("--min-score", type=float, default=0.0,
                        help="drop entities whose probability (score) is below this, from tags and entities")
    output.add_argument("--nbest", type=int, default=0, metavar="K",
                        help="with --format jsonl (csv, tsv): add the K most probable readings of each sentence")
    decode = parser.add_argument_group("decoding")
    decode.add_argument("--entity-bias", type=float, metavar="B",
                        help="add B to the score of every tag but O: higher finds more entities (recall up, precision "
                        "down), lower fewer (default: the model's, chosen on its dev corpus in training)")
    decode.add_argument("--unconstrained", action="store_true",
                        help="let decoding produce tag sequences the scheme forbids (as plain CRF decoding does)")
    scores = parser.add_argument_group("evaluation")
    scores.add_argument("--eval", metavar="GOLD",
                        help="score the model on a gold corpus instead of tagging: a CoNLL file, or any corpus "
                        "train.py takes (JSON Lines, CSV, Parquet, a folder of files, a save_to_disk folder, a cached "
                        "hub id; split: test)")
    scores.add_argument("--json", action="store_true", help="with --eval: print one JSON object")
    scores.add_argument("--errors", type=Path, metavar="REPORT.html",
                        help="with --eval: also write a page of the model's errors on GOLD (each kind counted, the "
                        "confusion of types, the sentences with the most errors, gold and predicted side by side)")
    scores.add_argument("--input-scheme", type=normalized_name, choices=SCHEMES,
                        help="with --eval: the tag scheme of GOLD; a tag of another is an error (default: detected)")
    scores.add_argument("--rename-type", action="append", metavar="OLD=NEW",
                        help="with --eval: rename an entity type of GOLD, e.g. PERSON=PER to match the model's; NEW O "
                        "drops OLD's entities (repeat for more types)")
    scores.add_argument("--outside-tag", default="O", metavar="TAG",
                        help="with --eval: the tag that marks the tokens outside entities in a CoNLL GOLD, read as O "
                        "(NAVER's Korean corpus writes '-')")
    scores.add_argument("--tags-field", default="ner_tags",
                        help="with --eval: the tags column of a table or dataset (WebAnno TSV: LAYER:FEATURE; "
                        ".spacy: a span group)")
    scores.add_argument("--sentence-field", metavar="FIELD",
                        help="with --eval: in a table of a token a row, the column that says which sentence a row "
                        "is in (default: one named as a sentence id is, as Sentence # or sentence_id, where every "
                        "row holds one token)")
    speed = parser.add_argument_group("speed")
    speed.add_argument("--quantize", action="store_true",
                       help="int8 weights for the LSTM and linear layers: faster on CPU, F1 within ~0.01 points")
    speed.add_argument("--onnx", action="store_true",
                       help="run the BiLSTM with ONNX Runtime: the same tags, faster on single sentences "
                       "(pip install 'tagger[onnx]'); with --quantize, its int8 LSTM, the fastest on large inputs")
    speed.add_argument("--device", default="auto",
                       help="where the network runs: cpu, cuda or cuda:N; auto: a CUDA GPU if there is one, else the "
                       "CPU (--quantize and --onnx run on the CPU)")
    speed.add_argument("--batch-size", type=int, default=256, help="sentences per batch")
    speed.add_argument("--threads", type=int,
                       help="torch threads of each process (default: torch's, all cores; with --workers, the cores "
                       "shared out among them). On a machine other work keeps busy, 1 is faster and steadier")
    speed.add_argument("--workers", type=int, default=1,
                       help="processes that tag at once, each with its own model: chunks of input go to them in "
                       "turn and come out in input order")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _argument_parser().parse_args(argv)
    # A name that ends in a separator is a folder, whether or not it exists yet (a Path forgets the separator).
    args.into_folder = args.output is not None and (args.output.endswith(("/", os.sep)) or Path(args.output).is_dir())
    args.output = Path(args.output) if args.output is not None else None
    args.format = args.format or (format_named_by(args.output) if args.output and not args.into_folder else "conll")
    args.formats_said = set()  # how inputs were read, said once a run (tag_file)
    if args.eval is None and not args.inputs:
        raise TaggerError("nothing to do: give INPUT files (or '-' for standard input), or --eval GOLD")
    if args.eval is not None and args.inputs:
        raise TaggerError("give either INPUT files to tag or --eval GOLD, not both")
    if args.json and args.eval is None:
        raise TaggerError("--json goes with --eval; to tag into JSON lines use --format jsonl")
    if args.workers > 1 and args.eval is not None:
        raise TaggerError("--workers tags INPUT files; --eval runs in one process")
    if args.errors is not None and args.eval is None:
        raise TaggerError("--errors reports the errors on --eval's gold corpus: it goes with --eval")
    if args.input_scheme and args.eval is None:
        raise TaggerError("--input-scheme is the scheme of --eval's gold file: it goes with --eval")
    if args.outside_tag != "O" and args.eval is None:
        raise TaggerError("--outside-tag reads the tags of --eval's gold file: it goes with --eval")
    if args.rename_type and args.eval is None:
        raise TaggerError("--rename-type renames the types of --eval's gold file: it goes with --eval")
    if args.sentence_field and args.eval is None:
        raise TaggerError("--sentence-field reads the sentences of --eval's gold table: it goes with --eval")
    for option in ("batch_size", "threads", "workers"):
        value = getattr(args, option)
        if value is not None and value < 1:
            raise TaggerError(f"--{option.replace('_', '-')} must be at least 1, got {value}")
    args.inputs = [file for path in args.inputs for file in files_to_tag(path)]
    for path in args.inputs:
        if _is_docbin(path) and args.format != "spacy":
            raise TaggerError(f"{path}: a .spacy file holds spaCy Docs, which tag.py tags into Docs: --format spacy "
                              "--output FILE.spacy (or scores, --eval)")
    if args.format == "brat" and (args.input_format in ("jsonl", "csv", "tsv") or any(
            path.lower().endswith(".jsonl") or _is_csv(path) or _is_parquet(path) for path in args.inputs)):
        raise TaggerError("--format brat annotates text files; JSON Lines and table records are written back with "
                          "their entities by --format jsonl (or csv)")
    if args.nbest and args.format not in RECORD_FORMATS:
        raise TaggerError("--nbest goes with --format jsonl (or csv, tsv)")
    if args.format == "brat" and args.eval is None and len(args.inputs) > 1 and args.output is None:
        raise TaggerError("--format brat writes a .ann file for each INPUT: --output names the folder for them")
    if args.format == "spacy" and args.eval is None and (args.output is None or args.workers > 1):
        raise TaggerError("--format spacy writes one binary .spacy file: --output names it" if args.output is None
                          else "--format spacy tags in one process: leave out --workers")
    if not 0.0 <= args.min_score <= 1.0:
        raise TaggerError(f"--min-score is a probability between 0 and 1, got {args.min_score}")
    if args.entity_bias is not None and not math.isfinite(args.entity_bias):
        raise TaggerError(f"--entity-bias must be a finite number, got {args.entity_bias}")
    for written in (args.output, args.errors):
        if written is not None and any(_same_file(written, source) for source in args.inputs or [args.eval]):
            raise TaggerError(f"{written}: is also an input; writing there would erase it before it is read")
    if args.errors is not None and not Path(args.errors).parent.is_dir():
        raise TaggerError(f"{args.errors}: cannot write, directory {Path(args.errors).parent} does not exist")
    # torch loads only from here on, so that --help stays fast
    args.threads = args.threads or (max(1, (os.cpu_count() or 1) // args.workers) if args.workers > 1 else None)
    with _torch_threads(args.threads):
        return _run(args)


# The --format an --output file's name asks for, by its suffix.
FORMATS_BY_SUFFIX = {".conll": "conll", ".jsonl": "jsonl", ".csv": "csv", ".tsv": "tsv", ".html": "html",
                     ".htm": "html", ".spacy": "spacy", ".ann": "brat"}


def format_named_by(output: Path) -> str:
    """The ``--format`` that an output file's name asks for (``tagged.jsonl``, ``news.html``, ``out.csv.gz``):
    ``FORMATS_BY_SUFFIX``, else ``conll``."""
    return FORMATS_BY_SUFFIX.get(_suffix(output), "conll")


def _suffix(path: str | Path) -> str:
    """A file's suffix in lower case, before that of a compression (``.csv`` for ``docs.CSV.gz``); "" for none."""
    from .corpus import COMPRESSED_WRITERS

    suffixes = [suffix.lower() for suffix in Path(path).suffixes]
    if suffixes and suffixes[-1] in COMPRESSED_WRITERS:
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def files_to_tag(path: str) -> list[str]:
    """The files an INPUT names: a file itself; a folder, the files in it and its subfolders in the order of their
    paths, but hidden ones, brat's ``.ann`` files (a brat project's annotations beside its texts) and the
    documentation ``train.py`` leaves out of a corpus's folder (READMEs, licences, ``.md`` files)."""
    folder = Path(path)
    if not folder.is_dir():
        return [path]
    from .sources import DOCUMENTATION

    files = sorted(str(file) for file in folder.rglob("*") if file.is_file()
                   and not any(part.startswith(".") for part in file.relative_to(folder).parts)
                   and file.suffix.lower() != ".ann" and not DOCUMENTATION.match(file.name))
    if not files:
        raise TaggerError(f"{path}: is a folder without files to tag")
    return files


@contextmanager
def _torch_threads(threads: int | None):
    """PyTorch on ``threads`` threads within the block, and on as many as before after it (``main`` may be called
    from Python, whose other work keeps its own setting)."""
    import torch

    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _run(args: argparse.Namespace) -> int:
    tagger = _loaded(args)
    if args.eval is not None:
        with _open_output(args.output) as output:
            evaluate(tagger, args, output)
        return 0
    with _shared_workers(args) as pool, _inputs_progress(args) as progress:
        if args.into_folder or args.output is not None and args.format == "brat" and len(args.inputs) > 1:
            write_into_folder(tagger, args, pool, progress)
            return 0
        with _open_output(args.output, spacy_docs=args.format == "spacy",
                          table_delimiter=TABLE_DELIMITERS.get(args.format)) as output:
            tag_inputs(tagger, args.inputs, args, output, pool, progress)
    return 0


@contextmanager
def _shared_workers(args: argparse.Namespace):
    """The ``--workers`` processes that tag every input of a run (None for one process): each loads the model
    once, not once an input."""
    if args.workers == 1:
        yield None
        return
    with _worker_pool(args) as pool:
        yield pool


def tag_inputs(tagger: Tagger, inputs: Sequence[str], args: argparse.Namespace, output: TextIO,
               pool=None, progress=None) -> None:
    """Tag ``inputs`` one after another into one ``output``, in ``args.format`` (with ``--workers``, in ``pool``;
    ``progress``: the run's bar over several inputs, ``_inputs_progress``)."""
    if args.format == "html":
        from .render import page_start

        output.write(page_start(f"Entities in {', '.join(_shown(path) for path in inputs)}", tagger.labels))
    for k, path in enumerate(inputs):
        if len(inputs) > 1:  # (one is one of write_into_folder's, which names it)
            _next_input(progress, k, len(inputs))
        if args.format == "html" and len(inputs) > 1:
            output.write(f"<h2>{html.escape(_shown(path))}</h2>\n")
        if args.format == "brat":
            output.write(brat_annotations(tagger, _brat_text(path, args, tagger), args.batch_size))
        elif _is_docbin(path):
            tag_docbin(tagger, path, args, output, progress)
        else:
            tag_file(tagger, path, args, output, after_another=k > 0, named=len(inputs) > 1, pool=pool,
                     progress=progress)
        if args.format == "spacy":
            output.end_document()  # a file ends its last document
    if args.format == "html":
        from .render import page_end

        output.write(page_end())


def _loaded(args: argparse.Namespace) -> Tagger:
    """The tagger ``args`` ask for."""
    from .api import Tagger

    tagger = Tagger.load(args.model, quantize=args.quantize, onnx=args.onnx, device=args.device)
    tagger.constrained = not args.unconstrained
    if args.entity_bias is not None:
        tagger.entity_bias = args.entity_bias
    return tagger


def _shown(path: str) -> str:
    """An input's name in messages: ``<stdin>`` for ``-``."""
    return "<stdin>" if path == "-" else path


def evaluate(tagger: Tagger, args: argparse.Namespace, output: TextIO) -> None:
    from .corpus import parse_type_renames, rename_types
    from .sources import read_labelled

    try:
        renames = parse_type_renames(args.rename_type or [])
    except ValueError as error:
        raise TaggerError(f"--rename-type: {error}") from None
    gold = rename_types(read_labelled(args.eval, split="test", tokens_field=args.tokens_field,
                                      tags_field=args.tags_field, sentence_field=args.sentence_field,
                                      scheme=args.input_scheme,
                                      token_column=args.token_column, label_column=args.label_column,
                                      encoding=args.encoding, comment_prefix=args.comment_prefix,
                                      column_separator=args.column_separator, outside_tag=args.outside_tag), renames)
    result = tagger.evaluate(gold, args.batch_size, min_score=args.min_score, progress=True)
    if args.errors is not None:
        from .report import error_report, write_report

        write_report(error_report(gold, result.predicted), args.errors, title=f"Errors of {args.model or 'en-conll03'} on {args.eval}",
                     labels=tagger.labels)
    unseen = sorted(set(result.types) - set(tagger.labels))
    if unseen:
        print(f"warning: {args.eval} has entity types the model never predicts: {', '.join(unseen)} "
              "(scored as missed entities; --rename-type OLD=NEW renames a gold type)", file=sys.stderr)
    if args.json:
        summary = {"precision": result.precision, "recall": result.recall, "f1": result.f1, "tokens": result.tokens,
                   "sentences": result.sentences, "seconds": round(result.seconds, 3), "types": result.types}
        output.write(json.dumps(summary) + "\n")
        return
    output.write(result.report())
    output.write(
        f"\nprecision {result.precision:.4f}  recall {result.recall:.4f}  F1 {result.f1:.4f}  "
        f"({result.sentences} sentences, {result.tokens} tokens, {result.seconds:.2f} s)\n"
    )


def tag_file(tagger: Tagger, path: str, args: argparse.Namespace, output: TextIO, after_another: bool = False,
             named: bool = False, pool=None, progress=None) -> None:
    """Tag one input and write it, a chunk of sentences at a time, with a progress bar on a terminal (``progress``,
    the run's bar over several inputs, or else one of its own).

    ``after_another``: the input follows another in ``output``; text written as CoNLL columns then begins with a
    ``-DOCSTART-`` line, so that each input reads back as a document of its own (a column file is written line
    for line, with the document lines it has). ``named``: the JSON objects of text and CoNLL input name it in
    their first field, ``file``, as the output holds others' too. ``pool``: the ``--workers`` processes to
    tag in (default: a pool of this input's own).
    """
    from .api import collector_paused
    from .corpus import parse_conll, read_lines
    from .sources import piped_lines

    lines: Iterator[tuple[int, str]] = read_lines(path, args.encoding)
    input_format = args.input_format
    if _is_parquet(path):  # a binary table, known by its name whatever --input-format says
        input_format = "parquet"
    elif input_format == "auto" and _is_csv(path):
        input_format = "csv"
        _say_how_read(args, path, "read as a CSV table, a record a row (--input-format text reads it as plain text)")
    elif input_format == "auto":
        # From a pipe or terminal, only the first line that is not blank: more may be slow to come.
        peeked, lines = _peek(lines, PEEK_LINES, _has_text if _arrives_slowly(path) else _never)
        texts = [line for _, line in peeked]
        comment = args.comment_prefix
        input_format = input_format_of(_uncommented(texts, comment), characters=tagger.reads_characters,
                                       column_separator=args.column_separator)
        if input_format == "text" and piped_lines(texts):
            raise TaggerError(f"{_shown(path)}: reads as a sentence a line of WORD|POS|TAG tokens (WikiNER's "
                              "layout), which tag.py scores (--eval) but does not tag; --input-format text tags its "
                              "lines as text")
        other = "conll" if input_format == "text" else "text"
        # Comment lines make a column file (CoNLL-U's, MultiCoNER's) read as text: say so.
        without_hashes = _uncommented(texts, "#")
        hint = ("; if lines starting with # are comments, --comment-prefix '#' reads it as CoNLL columns"
                if comment is None and input_format == "text" and len(without_hashes) < len(texts)
                and input_format_of(without_hashes, characters=tagger.reads_characters,
                                    column_separator=args.column_separator) == "conll" else "")
        if (input_format == "text" and args.column_separator == "whitespace" and any("\t" in text for text in texts)
                and input_format_of(_uncommented(texts, comment), characters=tagger.reads_characters,
                                    column_separator="tab") == "conll"):
            hint += "; if a token is or holds a space, --column-separator tab reads it as CoNLL columns"
        _say_how_read(args, path, f"read as {_FORMAT_NAMES[input_format]} (--input-format {other} reads it as "
                                  f"{_FORMAT_NAMES[other]}){hint}")
    # Written in the scheme of the input's own tags, where it has them, so that the two columns compare.
    scheme = args.scheme
    if scheme is None and input_format == "conll":
        peeked, lines = _peek(lines, PEEK_LINES, _has_sentence if _arrives_slowly(path) else _never)
        scheme = tag_column_scheme([line for _, line in peeked], args.label_column, args.comment_prefix,
                                   args.column_separator)
    args = argparse.Namespace(**{**vars(args), "scheme": scheme or tagger.corpus_scheme, "source": _shown(path),
                                 "file": _shown(path) if named else None})
    # Documents: -DOCSTART- lines separate them in column files, blank lines in text; wrapped text is one; a JSON
    # Lines record is one.
    if after_another and args.format == "conll" and input_format != "conll":
        output.write(f"{DOCSTART} O\n\n")
    chunk_size = CHUNK_SENTENCES
    if input_format in ("jsonl", "csv", "tsv", "parquet"):
        objects = (_json_objects(lines, _shown(path)) if input_format == "jsonl"
                   else _parquet_rows(path) if input_format == "parquet"
                   else _table_rows(lines, _shown(path), "\t" if input_format == "tsv" else ","))
        sentences = _records(objects, _shown(path), args.text_field, args.tokens_field)
        begins_document = _after_first_record
        chunk_size = CHUNK_RECORDS
    elif input_format == "text":
        sentences: Iterator = (line for _, line in lines)
        begins_document = _is_blank
    elif input_format == "paragraphs":
        sentences = _paragraphs(lines)
        begins_document = _never
    else:
        closing = _ClosingComments(lines, args.comment_prefix)
        lines = iter(closing)
        sentences = _checked_columns(parse_conll(lines, _shown(path), args.token_column, label_column=None,
                                                 comment_prefix=args.comment_prefix,
                                                 column_separator=args.column_separator),
                                     args.token_column, args.column_separator)
        begins_document = _after_docstart
    # The collector paused for reading and writing too, not only while tagging (``Tagger.predict``): both
    # make a few objects per token, none in a cycle, and collections walking them took a quarter of reading's time.
    with _input_progress(path, args, progress) as progress, collector_paused():
        # A chunk ends early at bad input: what was read before it is tagged and written first. From a
        # pipe or a terminal it also ends when input pauses, so that what has arrived is tagged at once.
        if _arrives_slowly(path):
            sentences = _with_pauses(sentences, INPUT_PAUSE_SECONDS, 2 * chunk_size)
        chunks = _chunks(sentences, chunk_size, begins_document)
        if args.workers == 1:
            for chunk in chunks:
                progress.update(_tag_chunk(tagger, chunk, begins_document, args, output))
        else:
            with contextlib.nullcontext(pool) if pool is not None else _worker_pool(args) as workers:
                for written, tokens in _in_order(workers, chunks, begins_document, args):
                    if isinstance(written, str):
                        output.write(written)
                    else:  # rows and their lines, for a table
                        output.add_rows(*written, args.source)
                    output.flush()
                    progress.update(tokens)
    if input_format == "conll" and args.format == "conll":
        output.write("".join(line + "\n" for line in closing.comments))


def _is_docbin(path: str) -> bool:
    """Whether an INPUT is a spaCy DocBin file, by its name (``.spacy``)."""
    return path.lower().endswith(".spacy")


def tag_docbin(tagger: Tagger, path: str, args: argparse.Namespace, output, progress=None) -> None:
    """Tag the Docs of a DocBin file as spaCy's pipeline component does (``EntityTagger``: their own tokens and
    sentences, ``doc.ents`` replaced, the span group with the probabilities) and add them to ``output``, a
    ``DocBinWriter``, with the rest of each Doc kept (part-of-speech tags, parses, other span groups; not its
    user data)."""
    from .annotations import docbin_docs
    from .integrations.spacy import EntityTagger

    docs = docbin_docs(Path(path), _shown(path))
    component = EntityTagger(tagger, batch_size=args.batch_size, min_score=args.min_score)
    with _input_progress(path, args, progress) as progress:
        for doc in component.pipe(docs):
            output.add_doc(doc)
            progress.update(len(doc))


class _ClosingComments:
    """A column file's ``(number, line)`` pairs, passed on, that keeps its closing comment lines: those after
    its last sentence (CoNLL-2012's ``#end document``), which precede no sentence to be written with."""

    def __init__(self, lines: Iterator[tuple[int, str]], comment_prefix: str | None):
        self.lines, self.comment_prefix = lines, comment_prefix
        self.comments: list[str] = []

    def __iter__(self) -> Iterator[tuple[int, str]]:
        in_sentence = False  # within a sentence, a line that begins with the prefix is a token
        for number, line in self.lines:
            if not line.strip():
                in_sentence = False
            elif self.comment_prefix and not in_sentence and line.startswith(self.comment_prefix):
                self.comments.append(line)
            else:
                in_sentence, self.comments = True, []
            yield number, line


def brat_annotations(tagger: Tagger, text: str, batch_size: int = 256) -> str:
    """The entities ``tagger`` finds in ``text`` as brat's standoff lines (``T1<TAB>PER 0 5<TAB>Peter``).

    Read as ``tag.py`` reads text: a line at a time, each split into sentences, blank lines between
    documents. Offsets count the text's characters as brat does (a ``\\r\\n`` is two).
    """
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    kept = [(offset, line.rstrip("\r\n")) for offset, line in zip(offsets, lines) if line.strip()]
    starts = [k == 0 or text.count("\n", kept[k - 1][0], offset) > 1 for k, (offset, _) in enumerate(kept)]
    tagged = tagger.predict([line for _, line in kept], batch_size, scheme="IOB2", document_starts=starts)
    written = []
    for (offset, _), result in zip(kept, tagged):
        for entity in result.entities:
            start, end = offset + entity.start_char, offset + entity.end_char
            written.append(f"T{len(written) + 1}\t{entity.label} {start} {end}\t{text[start:end]}\n")
    return "".join(written)


# The suffix of each input's own output file, by --format, where --output is a folder.
FOLDER_SUFFIXES = {"conll": ".conll", "jsonl": ".jsonl", "csv": ".csv", "tsv": ".tsv", "inline": ".txt",
                   "html": ".html", "brat": ".ann", "spacy": ".spacy"}


def write_into_folder(tagger: Tagger, args: argparse.Namespace, pool=None, progress=None) -> None:
    """Each INPUT tagged into a file of its own in the folder ``--output`` (made if need be for brat), named as
    the input with the suffix of ``--format`` (``FOLDER_SUFFIXES``). Inputs in subfolders of the folder that
    holds them all are written in the same subfolders. ``--format brat`` writes ``NAME.ann`` for each
    ``NAME.txt`` with a copy of the text where it is not there already, a folder brat opens, so that a brat
    project's folder given as both INPUT and ``--output`` gets each ``.ann`` file beside its text. An output
    that would replace an input, or another input's output, is an error before anything is written. Standard
    error says where one input went; of several, how many went where, in one line."""
    import shutil

    from .storage import write_atomically

    folder = args.output
    if "-" in args.inputs:
        raise TaggerError(f"{folder}: is a folder, a file for each INPUT: INPUTs are files, not standard input")
    common = Path(os.path.commonpath([Path(path).resolve().parent for path in args.inputs]))
    names = [(Path(path).resolve().parent / Path(path).stem).relative_to(common) for path in args.inputs]
    written = [folder / name.with_name(f"{name.name}{FOLDER_SUFFIXES[args.format]}") for name in names]
    twice = next((path for path in written if written.count(path) > 1), None)
    if twice is not None:
        raise TaggerError(f"two INPUTs named {twice.stem} would write one {twice}")
    replaced = next((path for path in written if any(_same_file(path, source) for source in args.inputs)), None)
    if replaced is not None:
        raise TaggerError(f"{replaced}: is also an input; writing there would erase it before it is read")
    entities = 0
    for k, (path, output) in enumerate(zip(args.inputs, written)):
        output.parent.mkdir(parents=True, exist_ok=True)
        _next_input(progress, k, len(args.inputs))
        if args.format != "brat":
            with _open_output(output, spacy_docs=args.format == "spacy",
                              table_delimiter=TABLE_DELIMITERS.get(args.format)) as stream:
                tag_inputs(tagger, [path], args, stream, pool, progress)
            continue
        annotations = brat_annotations(tagger, _brat_text(path, args, tagger), args.batch_size)
        write_atomically(output, lambda temporary: temporary.write_text(annotations, encoding="utf-8"))
        text_copy = output.with_suffix(".txt")
        if not (text_copy.exists() and text_copy.samefile(path)):
            shutil.copyfile(path, text_copy)
        entities += annotations.count("\n")
    found = f": {entities} entities" if args.format == "brat" else ""
    if progress is not None:
        progress.close()  # the bar's last state, then the line that sums it up
    if len(args.inputs) == 1:
        print(f"{_shown(args.inputs[0])}: tagged into {written[0]}{found}", file=sys.stderr)
    else:
        print(f"{len(args.inputs)} inputs tagged into {os.path.join(folder, '')}, a {FOLDER_SUFFIXES[args.format]} "
              f"file each{found}", file=sys.stderr)


def _brat_text(path: str, args: argparse.Namespace, tagger: Tagger) -> str:
    """A text INPUT for ``--format brat``; a ``TaggerError`` where it is a file of CoNLL columns (by
    ``--input-format``, or as its first lines read), whose lines would be annotated as text."""
    text = _read_text(path, args.encoding)
    input_format = args.input_format
    if input_format == "auto":
        lines = _uncommented(text.splitlines()[:PEEK_LINES], args.comment_prefix)
        input_format = input_format_of(lines, characters=tagger.reads_characters,
                                       column_separator=args.column_separator)
    if input_format == "conll":
        raise TaggerError(f"{_shown(path)}: reads as CoNLL columns, and --format brat annotates text files (brat's "
                          "offsets count a text's characters): --format conll adds a column of tags; "
                          "--input-format text annotates the file as text")
    return text


def _read_text(path: str, encoding: str | None) -> str:
    """A text INPUT whole, its line breaks as they are in the file (brat's offsets count them)."""
    try:
        if path == "-":
            return sys.stdin.read()
        with open(path, encoding=encoding or "utf-8", newline="") as file:
            return file.read()
    except (OSError, UnicodeDecodeError) as error:
        raise TaggerError(f"{path}: cannot read ({getattr(error, 'strerror', None) or error})") from None


def _checked_columns(sentences: Iterator, token_column: int, column_separator: str) -> Iterator:
    """The sentences, once the first shows that its token column holds words (``corpus.check_columns``: not
    CoNLL-U's numbers 1, 2, 3), before any is tagged."""
    from .corpus import check_columns

    first = next(sentences, None)
    if first is None:
        return
    check_columns([first], token_column, None, column_separator)
    yield first
    yield from sentences


def _worker_pool(args: argparse.Namespace):
    """``--workers`` processes, each loading the model once (``spawn``: a forked torch can hang)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start_worker, initargs=(args,))


def _in_order(pool, chunks: Iterable[list], begins_document: Callable[[object], bool],
              args: argparse.Namespace) -> Iterator[tuple[str | tuple[list[dict], list[int | None]], int]]:
    """Each chunk's output and tokens, in input order, its warnings given here; at most two chunks a worker in
    flight (memory stays bounded)."""
    import collections
    import warnings

    def done(tagged) -> tuple[str | tuple[list[dict], list[int | None]], int]:
        written, tokens, said = tagged.result()
        for message in said:
            warnings.warn(message)
        return written, tokens

    pending: collections.deque = collections.deque()
    for chunk in chunks:
        pending.append(pool.submit(_tag_in_worker, chunk, begins_document, args))
        if len(pending) >= 2 * args.workers:
            yield done(pending.popleft())
    while pending:
        yield done(pending.popleft())


_WORKER_TAGGER = None  # a worker process's model, loaded once by ``_start_worker``


def _start_worker(args: argparse.Namespace) -> None:
    global _WORKER_TAGGER
    if args.threads:  # a worker process of its own: its setting ends with it
        import torch

        torch.set_num_threads(args.threads)
    _WORKER_TAGGER = _loaded(args)


def _tag_in_worker(chunk: list, begins_document: Callable[[object], bool], args: argparse.Namespace
                   ) -> tuple[str | tuple[list[dict], list[int | None]], int, list[Warning]]:
    """In a worker: a chunk tagged and written as ``_tag_chunk`` writes it (for a table, its rows, which the
    table's one header goes above), its tokens, and the warnings it gave, for the run's process to show as it
    shows its own (a ``TaggerWarning`` once a run, on one line)."""
    import io
    import warnings

    from .api import collector_paused

    written = _Rows() if args.format in TABLE_DELIMITERS else io.StringIO()
    with collector_paused(), warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        tokens = _tag_chunk(_WORKER_TAGGER, chunk, begins_document, args, written)
    return written.getvalue(), tokens, [warning.message for warning in said]


def _progress(description: str, shown: bool):
    """A count of the tokens tagged so far and their rate, on standard error if it is a terminal (and ``shown``)."""
    from tqdm import tqdm

    return tqdm(desc=description, unit=" tokens", unit_scale=True, disable=None if shown else True,
                file=sys.stderr)


def _input_progress(path: str, args: argparse.Namespace, progress=None):
    """The bar an input's tokens are counted on: ``progress``, the run's over several inputs, or one of its own."""
    if progress is not None:
        return contextlib.nullcontext(progress)
    return _progress("<stdin>" if path == "-" else Path(path).name, _progress_shown(args))


def _say(message: str) -> None:
    """A line on standard error that a progress bar there moves below, rather than runs into."""
    from tqdm import tqdm

    tqdm.write(message, file=sys.stderr)


def _progress_shown(args: argparse.Namespace) -> bool:
    """Whether progress may show on standard error: not while the tagged text itself goes to the terminal, where
    the bar would break into it."""
    return args.output is not None or not sys.stdout.isatty()


@contextmanager
def _inputs_progress(args: argparse.Namespace):
    """One progress bar for a run of several inputs, which ``_next_input`` names as it goes ("3/40 files"):
    one line on the terminal however many files a folder holds. None for one input, which has a bar of its own."""
    if len(args.inputs) == 1:
        yield None
        return
    with _progress(f"0/{len(args.inputs)} files", _progress_shown(args)) as progress:
        yield progress


def _next_input(progress, done: int, count: int) -> None:
    """The run's bar (if any) says which of ``count`` inputs is being tagged: ``done`` have been."""
    if progress is not None:
        progress.set_description_str(f"{done + 1}/{count} files")


def _tag_chunk(tagger: Tagger, chunk: list, begins_document: Callable[[object], bool], args: argparse.Namespace,
               output: TextIO) -> int:
    """Tag one chunk of sentences (``Sentence``s, text lines or JSON Lines records), write them in ``args.format``;
    the tokens tagged."""
    from .corpus import Sentence, write_conll

    inputs = [item if isinstance(item, str) else item.tagged if isinstance(item, _Record) else item.tokens
              for item in chunk]
    starts = [i == 0 or begins_document(item) or _is_blank(chunk[i - 1]) for i, item in enumerate(chunk)]
    scores = args.format in (*RECORD_FORMATS, "html", "spacy")
    tagged = tagger.predict(inputs, args.batch_size, scheme=args.scheme, scores=scores,
                            nbest=args.nbest, document_starts=starts, min_score=args.min_score)
    if args.format in RECORD_FORMATS:
        written = [item.with_entities(result) if isinstance(item, _Record)
                   else {"file": args.file, **result.to_dict()} if args.file else result.to_dict()
                   for item, result in zip(chunk, tagged)]
        if args.format == "jsonl":
            output.write("".join(json.dumps(record, ensure_ascii=False, default=str) + "\n" for record in written))
        else:
            output.add_rows(written, [item.line if isinstance(item, _Record) else None for item in chunk], args.source)
    elif args.format == "html":
        from .render import DOCUMENT_BREAK, sentence_markup

        for item, result in zip(chunk, tagged):
            if begins_document(item):  # a blank line of text, or a sentence after -DOCSTART-
                output.write(DOCUMENT_BREAK + "\n")
            if result.tokens:
                output.write(sentence_markup(result) + "\n")
    elif args.format == "spacy":
        output.add(tagged, [begins_document(item) for item in chunk])
        return sum(len(result.tokens) for result in tagged)
    elif args.format == "inline":
        separator = "" if tagger.reads_characters else " "
        output.write("".join(_inline(result, separator) + "\n" for result in tagged))
    else:
        pairs = []
        for i, (item, result) in enumerate(zip(chunk, tagged)):
            if isinstance(item, Sentence):
                pairs.append((item, result.tags))
            elif result.tokens:  # a line of text, a blank one separating documents; or a record, a document each
                pairs += _text_sentences(result, begins_document=(starts[i] and i > 0) or begins_document(item))
        # A token of text that holds a space (Korean's space tokens) is written before a tab, as its corpus wrote it.
        write_conll(pairs, output, token_separator="\t" if tagger.tokens_hold_spaces else " ")
    output.flush()
    return sum(len(result.tokens) for result in tagged)


def _text_sentences(tagged, begins_document: bool) -> list:
    """A tagged line of text as CoNLL sentences (one for each of its sentences), with their tags.

    A line that begins a document (after a blank line) is marked as CoNLL-2003
    marks one, with ``-DOCSTART-``, so that the file reads back in the same documents.
    """
    from .corpus import Sentence

    starts = tagged.sentence_starts
    ends = [*starts[1:], len(tagged.tokens)]
    return [(Sentence(tagged.tokens[start:end], document_start="-DOCSTART-" if begins_document and k == 0 else None),
             tagged.tags[start:end]) for k, (start, end) in enumerate(zip(starts, ends))]


def _inline(tagged, separator: str = " ") -> str:
    """``[PER Angela Merkel] visited [LOC Paris] .``: the sentence with its entities bracketed.

    ``separator`` goes between tokens: none for characters, ``[PER 李明]在[ORG 北京大学]工作。``.
    """
    words = list(tagged.tokens)
    for entity in tagged.entities:
        words[entity.start] = f"[{entity.label} {words[entity.start]}"
        words[entity.end - 1] += "]"
    return separator.join(words)


# The formats that write an object for each sentence (of text or CoNLL input) or record (of JSON Lines or a table),
# and those of them that are tables, with the character between their values.
TABLE_DELIMITERS = {"csv": ",", "tsv": "\t"}
RECORD_FORMATS = ("jsonl", *TABLE_DELIMITERS)


class TableWriter:
    """``--format csv`` and ``tsv``: the objects ``--format jsonl`` writes, as the rows of a table in ``stream``
    under a header line that names the first row's fields; a cell of a list or an object holds it as JSON
    (``[{"text": "Paris", "label": "LOC", ...}]``), of None nothing. A row with a field that the header does not
    name is a ``CorpusError`` naming its line; one without a field has an empty cell there."""

    def __init__(self, stream: TextIO, delimiter: str):
        self.stream, self.delimiter = stream, delimiter
        self.writer = None  # a csv.DictWriter, once the first row names the columns

    def add_rows(self, rows: list[dict], lines: list[int | None], source: str) -> None:
        """Write ``rows``, each of its line of the input ``source`` (None for a sentence), which an error names."""
        import csv

        from .corpus import CorpusError

        if not rows:
            return
        if self.writer is None:
            self.writer = csv.DictWriter(self.stream, list(rows[0]), delimiter=self.delimiter, lineterminator="\n")
            self.writer.writeheader()
        columns = self.writer.fieldnames
        for row, line in zip(rows, lines):
            beyond = [name for name in row if name not in columns]
            if beyond:
                raise CorpusError(source, line, f"a record with the field {beyond[0]!r}, which the table's header "
                                  f"(the first row's fields) does not name: {', '.join(columns)}; --format jsonl "
                                  "writes records of any fields, and --output FOLDER a table for each INPUT")
            self.writer.writerow({name: json.dumps(value, ensure_ascii=False, default=str)
                                  if isinstance(value, (list, dict))
                                  else value for name, value in row.items()})

    def flush(self) -> None:
        self.stream.flush()


class _Rows:
    """A worker's chunk of rows for a ``TableWriter`` in the main process, which writes the one header."""

    def __init__(self):
        self.rows: list[dict] = []
        self.lines: list[int | None] = []

    def add_rows(self, rows: list[dict], lines: list[int | None], source: str) -> None:
        self.rows += rows
        self.lines += lines

    def flush(self) -> None:
        """(Nothing is written until the main process has the rows.)"""

    def getvalue(self) -> tuple[list[dict], list[int | None]]:
        return self.rows, self.lines


class _Record:
    """A JSON Lines input's record: its ``fields`` as read, and what of it is tagged (``tagged``): its text, or its
    list of tokens. ``first``: whether it is its input's first record; ``line``: the line it ends on."""

    def __init__(self, fields: dict, tagged: str | list[str], first: bool, line: int):
        self.fields, self.tagged, self.first, self.line = fields, tagged, first, line

    def with_entities(self, result) -> dict:
        """The record's fields and the entities found in it (``entities``, as ``--format jsonl`` writes them), with
        the tags of its tokens (``tags``) where it gave tokens, and ``nbest`` where asked for."""
        found = result.to_dict()
        record = {**self.fields, "entities": found["entities"]}
        if not isinstance(self.tagged, str):
            record["tags"] = found["tags"]
        if "nbest" in found:
            record["nbest"] = found["nbest"]
        return record


# Records a chunk: each may be a long document, where a text line is a sentence or two.
CHUNK_RECORDS = 512


def _json_objects(lines: Iterable[tuple[int, str]], source: str) -> Iterator[tuple[int, dict]]:
    """The objects of JSON Lines input, each with its line's number (blank lines skipped); a ``CorpusError`` naming
    the line of anything else."""
    from .corpus import CorpusError

    for number, line in lines:
        if not line.strip():
            continue
        try:
            fields = json.loads(line)
        except json.JSONDecodeError as error:
            raise CorpusError(source, number, f"not a JSON object: {error.msg} (column {error.colno})") from None
        if not isinstance(fields, dict):
            raise CorpusError(source, number, f"not a JSON object but a {type(fields).__name__}")
        yield number, fields


def _table_rows(lines: Iterable[tuple[int, str]], source: str, delimiter: str) -> Iterator[tuple[int, dict]]:
    """The rows of a CSV (or, ``delimiter`` a tab, TSV) table below its header line, each as its columns' values by
    name, with the number of the line it ends on (a quoted value may hold line breaks); blank lines skipped. A CSV
    table whose header has semicolons and no commas is read as separated by semicolons, as spreadsheets write CSV
    where a comma is the decimal mark. A row of more values than the header names is a ``CorpusError`` at its
    line."""
    import csv

    from .corpus import CorpusError

    numbers = []  # the number of each line the reader has taken, for the line a row ends on
    lines = iter(lines)
    header = next(lines, None)
    if header is not None and delimiter == "," and ";" in header[1] and "," not in header[1]:
        delimiter = ";"

    def numbered() -> Iterator[str]:
        for number, line in itertools.chain([header] if header is not None else [], lines):
            numbers.append(number)
            yield line + "\n"

    # A value may be a whole document, longer than the csv module's default limit of 131,072 characters.
    csv.field_size_limit(2**31 - 1)
    beyond = object()  # the key of a row's values beyond the header's columns
    reader = csv.DictReader(numbered(), delimiter=delimiter, restkey=beyond)
    try:
        for row in reader:
            if beyond in row:
                values = len(reader.fieldnames) + len(row[beyond])
                raise CorpusError(source, numbers[-1], f"{values} values, and the header names "
                                  f"{len(reader.fieldnames)} columns")
            yield numbers[-1], {name: value for name, value in row.items() if value is not None}
    except csv.Error as error:
        kind = "TSV" if delimiter == "\t" else "CSV"
        raise CorpusError(source, numbers[-1] if numbers else None, f"not a {kind} table ({error})") from None


def _parquet_rows(path: str) -> Iterator[tuple[int, dict]]:
    """The rows of a Parquet table, each as its columns' values by name, with its number (from 1), read a record
    chunk at a time."""
    import pyarrow
    import pyarrow.parquet

    from .corpus import CorpusError, open_binary

    with open_binary(path) as file:
        try:
            table = pyarrow.parquet.ParquetFile(file)
        except (pyarrow.ArrowException, OSError) as error:
            raise CorpusError(_shown(path), None, f"not a Parquet table ({error})") from None
        number = 0
        for batch in table.iter_batches(batch_size=CHUNK_RECORDS):
            for row in batch.to_pylist():
                number += 1
                yield number, row


def _say_how_read(args: argparse.Namespace, path: str, said: str) -> None:
    """Say how an input was read, naming it, once a run for the inputs that read alike (a folder's files mostly
    do)."""
    if said not in args.formats_said:
        args.formats_said.add(said)
        _say(f"{_shown(path)}: {said}")


def _is_parquet(path: str) -> bool:
    """Whether an INPUT is a Parquet table, by its name (``.parquet``)."""
    return Path(path).suffix.lower() == ".parquet"


def _is_csv(path: str) -> bool:
    """Whether an INPUT is a CSV table by its name (``.csv``, compressed or not: ``.csv.gz``)."""
    return _suffix(path) == ".csv"


def _records(objects: Iterable[tuple[int, dict]], source: str, text_field: str, tokens_field: str
             ) -> Iterator[_Record]:
    """The records of JSON Lines or table input (``_json_objects``, ``_table_rows``), each tagged by its
    ``text_field`` (a string) or, where it has none, its ``tokens_field`` (a list of strings); a ``CorpusError``
    naming the line of any other."""
    from .corpus import CorpusError

    first = True
    for number, fields in objects:
        text, tokens = fields.get(text_field), fields.get(tokens_field)
        if text is None and tokens is None and text_field in fields:
            text = ""  # a missing value (JSON's null, a Parquet table's empty cell, as pandas writes NaN): no text
        if isinstance(text, str):
            tagged = text
        elif text is None and isinstance(tokens, list) and all(isinstance(token, str) and token for token in tokens):
            tagged = tokens
        elif text is not None or tokens is not None:
            field_name = text_field if text is not None else tokens_field
            kind = "a string" if text is not None else "a list of tokens (strings)"
            raise CorpusError(source, number, f"its {field_name!r} is not {kind}")
        else:
            fields_had = ", ".join(map(str, fields)) or "none"
            raise CorpusError(source, number, f"no field {text_field!r} (it has {fields_had}); --text-field names the "
                              "one that holds the text")
        yield _Record(fields, tagged, first, number)
        first = False


def _after_first_record(item) -> bool:
    return not item.first


# Lines of a file that ``--input-format auto`` looks at.
PEEK_LINES = 200
_FORMAT_NAMES = {"conll": "CoNLL columns", "text": "plain text", "jsonl": "JSON Lines records"}


def _uncommented(lines: list[str], comment_prefix: str | None) -> list[str]:
    return [line for line in lines if not (comment_prefix and line.startswith(comment_prefix))]


def input_format_of(lines: Sequence[str], characters: bool = False, column_separator: str = "whitespace") -> str:
    """``"jsonl"``, ``"conll"`` or ``"text"``: how the first lines of an input read best.

    JSON Lines: the first line that is not blank is a JSON object. Columns: a
    ``-DOCSTART-`` line; or lines of one width that are a token each, end in a
    tag (``O``, ``B-PER``), or have blank lines between them (sentences) and no
    word with its full stop attached. Anything else is text: lines of
    different widths, one line of words, or a line written without spaces in a script written so (Chinese,
    ``tokenizer.runs_words_together``). For a model that reads
    ``characters``, a line of one column is a token only if it is one character.
    ``column_separator``: as ``corpus.read_conll``'s.
    """
    from .tokenizer import runs_words_together

    rows = [split_columns(line, COLUMN_SEPARATORS[column_separator]) for line in lines]
    filled = [i for i, row in enumerate(rows) if row]
    if not filled:
        return "text"
    if _is_json_object(lines[filled[0]]):
        return "jsonl"
    if any(rows[i][0] == "-DOCSTART-" for i in filled):
        return "conll"
    widths = {len(rows[i]) for i in filled}
    if len(widths) > 1:
        return "text"
    if widths == {1} and any(runs_words_together(rows[i][0]) for i in filled):
        return "text"  # a line of Chinese, say, not a token
    tagged = all(looks_like_a_tag(rows[i][-1]) for i in filled)
    # Blank lines between lines of columns, none of which ends as a line of prose does ("... Paris.").
    sentences = any(not row for row in rows[filled[0] : filled[-1]]) and not any(
        _ENDS_PROSE.search(rows[i][-1]) for i in filled)
    tokens = widths == {1} and not (characters and any(len(rows[i][0]) > 1 for i in filled))
    return "conll" if tokens or tagged or sentences else "text"


def _is_json_object(line: str) -> bool:
    if not line.lstrip().startswith("{"):
        return False
    try:
        return isinstance(json.loads(line), dict)
    except json.JSONDecodeError:
        return False


_ENDS_PROSE = re.compile(r"[^\W\d_][.!?,;:]$")  # a word with its punctuation attached, as columns never have it


def _peek(lines: Iterator[tuple[int, str]], most: int,
          enough: Callable[[list], bool]) -> tuple[list, Iterator]:
    """The first ``most`` lines (fewer where ``enough`` of them have come), and all the lines again."""
    peeked: list[tuple[int, str]] = []
    for item in lines:
        peeked.append(item)
        if len(peeked) >= most or enough(peeked):
            break
    return peeked, itertools.chain(peeked, lines)


def _has_text(peeked: list[tuple[int, str]]) -> bool:
    """Whether a line that is not blank has come: from a pipe or a terminal, enough to tell the input's format."""
    return bool(peeked[-1][1].strip())


def _has_sentence(peeked: list[tuple[int, str]]) -> bool:
    """Whether a sentence of columns has come, ended by a blank line: from a pipe or a terminal, the tags looked at
    for the scheme to write."""
    return not peeked[-1][1].strip() and any(line.strip() and not line.startswith(DOCSTART) for _, line in peeked)


def tag_column_scheme(lines: Sequence[str], label_column: int = -1, comment_prefix: str | None = None,
                      column_separator: str = "whitespace") -> str | None:
    """The scheme of the tags in CoNLL lines' ``label_column`` (a gold file's), or None where that column holds no
    entity tags: every line (but blank, ``-DOCSTART-`` and comment lines) has two columns or more and ``O`` or
    ``PREFIX-TYPE`` in that one, one line at least a tag of an entity, and one scheme has them all."""
    sentences: list[list[str]] = [[]]
    for line in lines:
        row = split_columns(line, COLUMN_SEPARATORS[column_separator])
        if not row:
            sentences.append([])
        elif not (row[0] == DOCSTART or comment_prefix and line.startswith(comment_prefix)):
            if len(row) < 2 or not -len(row) <= label_column < len(row) or not looks_like_a_tag(row[label_column]):
                return None
            sentences[-1].append(row[label_column])
    if all(tag == OUTSIDE for tags in sentences for tag in tags):
        return None
    try:
        return detect_scheme(sentences)
    except SchemeError:
        return None


def _paragraphs(lines: Iterable[tuple[int, str]]) -> Iterator[str]:
    """The paragraphs of wrapped text: each run of non-blank lines as one string, its line breaks kept.

    A run of more than ``PARAGRAPH_LINES`` lines (text with a sentence a line and no
    blank lines, say) is cut into parts of that many, so that memory stays bounded.
    """
    paragraph: list[str] = []
    for _, line in lines:
        if line.strip():
            paragraph.append(line)
            if len(paragraph) < PARAGRAPH_LINES:
                continue
        if paragraph:
            yield "\n".join(paragraph)
            paragraph = []
    if paragraph:
        yield "\n".join(paragraph)


PARAGRAPH_LINES = 200


def _never(item) -> bool:
    return False


def _is_blank(item) -> bool:
    return isinstance(item, str) and not item.strip()


def _after_docstart(item) -> bool:
    return getattr(item, "document_start", None) is not None


def _chunks(items: Iterable, size: int, begins_document: Callable[[object], bool] = _never) -> Iterator[list]:
    """``document_chunks`` of ``items``, a chunk also ending at a ``PAUSE`` among them (see ``_with_pauses``)."""
    for paused, run in itertools.groupby(items, key=lambda item: item is PAUSE):
        if not paused:
            yield from document_chunks(run, size, begins_document)


# How long reading a pipe or terminal may wait for input, in all, before what has arrived is tagged:
# long enough that a fast writer (``cat big.txt |``) still fills whole chunks, short enough to feel immediate.
INPUT_PAUSE_SECONDS = 0.05

SLOW_WRITER_WAIT = 0.001  # a wait for the next item this long or longer is the writer's, not the reader's

PAUSE = object()  # in ``_with_pauses``'s items: input paused here


def _arrives_slowly(path: str) -> bool:
    """Whether ``path`` (``-``: standard input) is a pipe, terminal or socket, whose writer may pause, not a file."""
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode if path == "-" else os.stat(path).st_mode
    except (OSError, ValueError, AttributeError):  # no such file (reported when read), or no real stdin
        return False
    return not stat.S_ISREG(mode)


def _with_pauses(items: Iterable, pause: float, ahead: int) -> Iterator:
    """``items``, with ``PAUSE`` wherever waiting for the writer has taken ``pause`` seconds since the last.

    A second thread reads the items, at most ``ahead`` of those taken, so that
    ``tail -f log | tag.py -`` tags each line when it comes, not when a chunk is
    full. The waits add up from item to item: input that trickles in, an item every
    few tens of milliseconds, is tagged in small batches too. An error while
    reading is raised here, after the items before it.
    """
    arrived: queue.Queue = queue.Queue(maxsize=ahead)
    done = object()

    def read() -> None:
        try:
            for item in items:
                arrived.put(item)
        except Exception as error:  # raised in the reading thread, re-raised in the caller's
            arrived.put(error)
        arrived.put(done)

    threading.Thread(target=read, name="tagger-input", daemon=True).start()
    waited = 0.0  # seconds spent waiting for the writer since the last PAUSE
    while True:
        try:
            item = arrived.get_nowait()
        except queue.Empty:
            began = time.monotonic()
            try:
                item = arrived.get(timeout=max(pause - waited, 0.0))
                wait = time.monotonic() - began
                # Shorter waits are the reading thread's own work (decoding, parsing) on a fast
                # pipe: counted, they cut the first chunk, and so a document, where a file is not.
                if wait >= SLOW_WRITER_WAIT:
                    waited += wait
            except queue.Empty:
                yield PAUSE
                waited = 0.0
                item = arrived.get()
        if item is done:
            return
        if isinstance(item, Exception):
            raise item
        yield item


def _same_file(output: Path, source: str) -> bool:
    try:
        return source != "-" and os.path.samefile(output, source)
    except OSError:  # either is missing (an input's absence is reported when it is read)
        return False


@contextmanager
def _open_output(path: Path | None, spacy_docs: bool = False, table_delimiter: str | None = None):
    """Where tagged text goes: ``path`` (standard output if None), opened for text; with ``spacy_docs``, a
    ``DocBinWriter`` that writes ``path`` once all is tagged; with ``table_delimiter``, a ``TableWriter`` of it."""
    if table_delimiter is not None:
        with _open_output(path) as stream:
            yield TableWriter(stream, table_delimiter)
        return
    if spacy_docs:
        try:
            from .integrations.spacy import DocBinWriter
        except ImportError:
            raise TaggerError("--format spacy needs spaCy: pip install spacy") from None
        if not path.parent.is_dir():
            raise TaggerError(f"{path}: cannot write, directory {path.parent} does not exist")
        writer = DocBinWriter(path)
        yield writer
        writer.close()
        return
    if path is None:
        yield sys.stdout
        return
    if not path.parent.is_dir():
        raise TaggerError(f"{path}: cannot write, directory {path.parent} does not exist")
    try:
        stream = open_for_writing(path)
    except OSError as error:
        raise TaggerError(f"{path}: cannot write ({error.strerror})") from None
    with stream:
        yield stream


def entry_point() -> None:
    """The ``tagger-tag`` console command."""
    sys.exit(run_command(main))


if __name__ == "__main__":
    entry_point()
