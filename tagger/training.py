"""Training a tagger on a CoNLL corpus: the runs that ``train.py`` (``tagger.train_cli``) starts.

Reads top to bottom: a new run's vocabularies, vectors and network (or a base
network's) -> resumed runs -> one loop that trains an epoch, scores the dev
set, logs, and keeps the best weights -> checkpoints.
"""

from __future__ import annotations

import collections
import copy
import json
import math
import random
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torchcrf import CRF

from .card import CARD_FILE, CURVES_FILE, TEST_FILE, describe_run
from .corpus import (Context, CorpusError, Sentence, document_contexts, document_ids, document_starts, read_lengths,
                     tokenization_of)
from .embeddings import Embeddings, words_beyond
from .encoding import CASINGS, Encoder
from .errors import TaggerError
from .inference import entity_scores, predict_tags, tag_distributions, type_scores
from .model import BiLSTMCRF, ModelConfig, TagDistribution, members_of
from .schemes import convert_tags, detect_scheme, entity_types, scheme_labels, split_tag
from .sources import TableColumn, TableCorpus
from .storage import (
    CHECKPOINT_FILE,
    CONFIG_FILE,
    METRICS_FILE,
    WEIGHTS_FILE,
    append_metrics,
    build_model,
    load_checkpoint,
    load_members,
    load_model,
    read_config,
    remove_stale_temporaries,
    resolve_model,
    save_checkpoint,
    save_config,
    save_weights,
    write_atomically,
)
from .vocab import Vocabulary


@dataclass
class TrainingConfig:
    """How to train; saved in ``config.json`` beside the network sizes."""

    epochs: int = 30
    batch_size: int = 16
    learning_rate: float = 0.01
    lr_decay: float = 0.05  # learning rate at epoch e: learning_rate / (1 + lr_decay * (e - 1))
    momentum: float = 0.9
    clip: float = 5.0
    patience: int = 5
    seed: int = 1
    min_count: int = 2  # training words seen fewer times (and without a vector) read as unknown
    max_vectors: int | None = 100_000  # pretrained words kept beyond the training words (None: all)
    tag_scheme: str = "BIOES"
    freeze_vectors: bool = False  # keep every pretrained vector as it is; train only words without one
    average: float = 0.0  # decay of an exponential moving average of the weights, used for dev and saved (0: none)
    optimizer: str = "sgd"  # one of OPTIMIZERS
    # Networks trained (with seeds seed, seed + 1, ...) and tagged with as one: their mean scores.
    members: int = 1
    # A trained model (directory or shipped name) whose distribution over each training sentence's tag
    # sequences the network learns too, with this weight against the gold tags' (knowledge distillation:
    # ``BiLSTMCRF.loss``); e.g. an ensemble taught to one network, which tags several times faster.
    teacher: str | None = None
    teacher_weight: float = 0.5
    # A trained model (directory or shipped name; an ensemble too) to start from instead of new networks: see
    # ``_from_base``.
    base: str | None = None
    # The share of the training corpus held out as dev when none was given (``corpus.hold_out``, drawn
    # with ``seed``), so that a resumed run holds out the same; 0: a dev corpus was given.
    dev_fraction: float = 0.0


def build_encoder(
    sentences: Sequence[Sentence], embeddings: Embeddings | None, config: TrainingConfig
) -> Encoder:
    """Vocabularies of words, characters and tags from the training sentences.

    Words are the training words seen ``min_count`` times, plus every training
    word that has a vector, plus the first ``max_vectors`` words of the vector
    file (all of them if None), so those words are known even when the training
    data never shows them. Words of the training data come first: the model
    keeps the rest fixed. With ``freeze_vectors`` every word with a vector is
    fixed, so those go last, in the vector file's order.
    """
    lowercase = embeddings.lowercase if embeddings is not None else True
    key = (lambda token: token.lower()) if lowercase else (lambda token: token)

    def train_words() -> Iterator[str]:  # read again for each use: a corpus may be larger than memory
        return (key(token) for sentence in sentences for token in sentence.tokens)

    extra: list[str] = []
    counted: Iterable[str] = train_words()
    if embeddings is not None:
        has_vector = set(embeddings.words)
        with_vectors = [word for word in dict.fromkeys(train_words()) if word in has_vector]
        extra = with_vectors + embeddings.words[: config.max_vectors]
        if config.freeze_vectors:
            counted = (word for word in train_words() if word not in has_vector)
            extra = embeddings.words[: config.max_vectors] + with_vectors
    words = Vocabulary.build(counted, min_count=config.min_count, unknown=True, extra=extra)
    chars = Vocabulary.build((c for sentence in sentences for token in sentence.tokens for c in token), unknown=True)
    types = entity_types(label for sentence in sentences for label in sentence.labels)
    tags = Vocabulary(scheme_labels(types, config.tag_scheme))
    return Encoder(words, chars, tags, lowercase)


def initial_word_vectors(encoder: Encoder, embeddings: Embeddings, generator: torch.Generator) -> torch.Tensor:
    """(num_words, dim) table: pretrained vectors where a word has one, small random ones elsewhere."""
    dim = embeddings.dim
    scale = math.sqrt(3.0 / dim)
    table = (torch.rand((len(encoder.words), dim), generator=generator) * 2 - 1) * scale
    row_of: dict[str, int] = {}
    for row, word in enumerate(embeddings.words):
        row_of.setdefault(word, row)  # a word listed twice keeps its first vector
    ids = [i for i, word in enumerate(encoder.words.names) if word in row_of]
    rows = [row_of[encoder.words.names[i]] for i in ids]
    table[ids] = torch.from_numpy(np.asarray(embeddings.vectors[rows], dtype=np.float32))
    table[0] = 0.0
    return table


def length_batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Indices of sequences of the given lengths, in batches of one length each, in random order.

    Sequences of one length need neither padding nor packing, and on CPU the
    LSTM runs packed sequences on a path about twice as slow. Shuffling first
    mixes sequences of a length differently every epoch.
    """
    order = list(range(len(lengths)))
    rng.shuffle(order)
    by_length: dict[int, list[int]] = {}
    for i in order:
        by_length.setdefault(lengths[i], []).append(i)
    batches = [group[k : k + batch_size] for _, group in sorted(by_length.items())
               for k in range(0, len(group), batch_size)]
    rng.shuffle(batches)
    return batches


def whole_document_batches(documents: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Indices of sentences in batches of whole documents, documents in random order.

    ``documents[i]`` is sentence i's document id. A batch takes documents until
    the next would take it past ``batch_size`` sentences; a longer document
    makes a batch of its own, up to ``LONGEST_DOCUMENT`` sentences: one longer
    still is cut into batches of ``batch_size`` consecutive sentences.
    Document memory pools a word's states within a batch.
    """
    by_document: dict[int, list[int]] = {}
    for i, document in enumerate(documents):
        by_document.setdefault(document, []).append(i)
    shuffled = list(by_document.values())
    rng.shuffle(shuffled)
    batches: list[list[int]] = []
    current: list[int] = []
    for document in shuffled:
        if len(document) > LONGEST_DOCUMENT:
            batches += [document[k : k + batch_size] for k in range(0, len(document), batch_size)]
            continue
        if current and len(current) + len(document) > batch_size:
            batches.append(current)
            current = []
        current.extend(document)
    if current:
        batches.append(current)
    return batches


# A corpus without -DOCSTART- lines (or with one at the top) is one document: read whole, it made
# one step an epoch, and a network with document memory learned nothing. CoNLL-2003's longest
# document has 197 sentences: every run on it, at any batch size, keeps its documents whole.
LONGEST_DOCUMENT = 256


def epoch_batches(lengths: Sequence[int], documents: Sequence[int] | None, batch_size: int,
                  rng: random.Random) -> list[list[int]]:
    """An epoch's batches: of whole documents given each sentence's document id, else of one length."""
    if documents is not None:
        return whole_document_batches(documents, batch_size, rng)
    return length_batches(lengths, batch_size, rng)


def train(
    train_sentences: Sequence[Sentence],
    dev_sentences: Sequence[Sentence],
    output: str | Path,
    config: TrainingConfig,
    model_config: dict | None = None,
    embeddings: Embeddings | None = None,
    log: Callable[[str], object] = print,
    recipe: str | None = None,
    jobs: int = 1,
    input_scheme: str | None = None,
    data: dict | None = None,
) -> dict:
    """Start a run: build vocabularies and model (or take them from ``config.base``), write ``output``, train;
    return the best dev scores.

    The sentences' tags may be in any scheme of ``tagger.schemes`` (``input_scheme``, or the one
    detected): the model learns ``config.tag_scheme``, and the corpus's scheme is logged and recorded
    (``input_scheme`` in ``config.json``), the scheme its output is written in by default.
    ``model_config`` overrides ``ModelConfig`` sizes (``hidden_size``, ``dropout``, ...).
    ``jobs`` > 1 trains that many members of an ensemble at once (see ``_fit_members``).
    ``data``: where the corpora came from and how they were read (JSON values), recorded in
    ``config.json`` for a resumed run to read them again (``train.py`` records them).
    """
    output = Path(output)
    train_sentences = _without_empty(train_sentences)
    # Only recorded, and checked: convert_tags reads any scheme.
    source_scheme = detect_scheme((s.labels for s in train_sentences), input_scheme)
    bases: list[BiLSTMCRF] = []
    if config.base:
        if config.members > 1:
            raise TaggerError("--base decides the networks (one, or an ensemble's members): leave out --members")
        bases, encoder, config = _from_base(config, train_sentences)
        model = bases[0]
    else:
        encoder = build_encoder(train_sentences, embeddings, config)
        network = _new_network(encoder, train_sentences, embeddings, config, model_config or {})
        model = _initial_model(network, encoder, embeddings, config.seed)  # the only network, or the first member
    network = model.config
    tokenization = tokenization_of(train_sentences)
    settings = dict(tag_scheme=config.tag_scheme, input_scheme=source_scheme, tokenization=tokenization,
                    recipe=recipe, data=data)
    if config.teacher and config.teacher_weight > 0:  # before anything in ``output`` is replaced
        _check_teacher(config.teacher, read_config(resolve_model(config.teacher))["encoder"]["tags"]["names"], encoder)
    log(
        f"{len(train_sentences)} training sentences ({source_scheme} read as "
        f"{config.tag_scheme}), {len(dev_sentences)} dev; {len(encoder.words)} words, "
        f"{len(encoder.chars)} characters, {len(encoder.tags)} tags; "
        + ("tokens are characters (text is split into characters); " if tokenization == "characters" else "")
        + f"{sum(p.numel() for p in model.parameters()):,} parameters"
        + (f" in each of {config.members} networks" if config.members > 1 else "")
    )
    _clear_run(output)
    if config.members == 1:
        save_config(output, network, encoder, training=asdict(config), **settings)
        return _fit(model, encoder, train_sentences, dev_sentences, output, config, log)
    # An ensemble: each member starts as a run of its own (seeds seed, seed + 1, ...), saved
    # before any training, so that an interrupted ensemble resumes wherever it stopped.
    save_config(output, network, encoder, members=config.members, training=asdict(config), **settings)
    for k, directory in enumerate(member_directories(output, config.members)):
        member = replace(config, seed=config.seed + k, members=1)
        _clear_run(directory)
        if k > 0:
            model = bases[k] if bases else _initial_model(network, encoder, embeddings, member.seed)
        save_config(directory, network, encoder, training=asdict(member), **settings)
        start = {"epoch": 0, "best": {"f1": -1.0, "epoch": 0}, "epochs_without_gain": 0}
        _save(directory, start, model, *_training_state(model, member))
    return _fit_members(train_sentences, dev_sentences, output, None, log, jobs)


def _without_empty(sentences: Sequence[Sentence]) -> Sequence[Sentence]:
    """The sentences that have tokens (a corpus without empty ones as it is: a ``TableCorpus`` stays on disk)."""
    if all(len(sentence) for sentence in sentences):
        return sentences
    return [sentence for sentence in sentences if len(sentence)]


def _new_network(encoder: Encoder, train_sentences: Sequence[Sentence], embeddings: Embeddings | None,
                 config: TrainingConfig, sizes: dict) -> ModelConfig:
    """The sizes of a new network for ``encoder``'s vocabularies: ``sizes`` over ``ModelConfig``'s defaults."""
    sizes = dict(sizes)
    if embeddings is not None:
        sizes["word_dim"] = embeddings.dim
    trained = {encoder.word_key(token) for sentence in train_sentences for token in sentence.tokens}
    if config.freeze_vectors and embeddings is not None:
        trained -= set(embeddings.words)
    fixed_words = _fixed_tail(encoder.words.names, trained)
    return ModelConfig(
        num_words=len(encoder.words),
        num_chars=len(encoder.chars),
        num_casings=len(CASINGS),
        num_tags=len(encoder.tags),
        fixed_words=fixed_words,
        fixed_vectors=_vector_package(encoder.words.names, fixed_words, embeddings),
        **sizes,
    )


def _from_base(config: TrainingConfig, train_sentences: Sequence[Sentence]
               ) -> tuple[list[BiLSTMCRF], Encoder, TrainingConfig]:
    """The trained networks of ``config.base`` (one, or each member of an ensemble), ready to train on
    ``train_sentences``; their encoder; and ``config`` in their scheme, with one member for each.

    Everything but the tags carries over: vocabularies (a word the base does not
    know reads as unknown, by its characters and casing), sizes, vectors and
    weights. The tags are the training data's entity types in the base's scheme;
    a tag the base has keeps its projection row and CRF scores, a new one starts
    as in a new network (drawn from ``config.seed``; member k's from ``seed + k``,
    as the members of a new ensemble are), and a tag the data lacks goes.
    """
    base, base_encoder, saved = load_model(resolve_model(config.base))
    scheme = saved["tag_scheme"]
    types = entity_types(label for sentence in train_sentences for label in sentence.labels)
    tags = Vocabulary(scheme_labels(types, scheme))
    kept = [(row, base_encoder.tags.id(name)) for row, name in enumerate(tags.names) if name in base_encoder.tags]
    new_rows, old_rows = (torch.tensor(rows) for rows in zip(*kept))  # never empty: both have O
    networks = members_of(base)
    for k, network in enumerate(networks):
        torch.manual_seed(config.seed + k)
        projection = nn.Linear(network.projection.in_features, len(tags))
        crf = CRF(len(tags), batch_first=True)
        with torch.no_grad():
            projection.weight[new_rows] = network.projection.weight[old_rows]
            projection.bias[new_rows] = network.projection.bias[old_rows]
            crf.start_transitions[new_rows] = network.crf.start_transitions[old_rows]
            crf.end_transitions[new_rows] = network.crf.end_transitions[old_rows]
            crf.transitions[new_rows[:, None], new_rows] = network.crf.transitions[old_rows[:, None], old_rows]
        network.projection, network.crf = projection, crf
        network.config = replace(network.config, num_tags=len(tags))
    encoder = Encoder(base_encoder.words, base_encoder.chars, tags, base_encoder.lowercase)
    return networks, encoder, replace(config, tag_scheme=scheme, members=len(networks))


def _initial_model(network: ModelConfig, encoder: Encoder, embeddings: Embeddings | None, seed: int) -> BiLSTMCRF:
    """A new network: weights drawn from ``seed``, word vectors from ``embeddings`` where they have one."""
    torch.manual_seed(seed)
    model = BiLSTMCRF(network)
    if embeddings is not None:
        generator = torch.Generator().manual_seed(seed)
        model.set_word_vectors(initial_word_vectors(encoder, embeddings, generator))
    return model


def _clear_run(output: Path) -> None:
    """Make ``output`` an empty run directory (a model, metrics or checkpoint there is replaced)."""
    output.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(output)
    for stale in (METRICS_FILE, CHECKPOINT_FILE, WEIGHTS_FILE, CARD_FILE, CURVES_FILE, TEST_FILE):
        (output / stale).unlink(missing_ok=True)


def member_directories(output: Path, members: int) -> list[Path]:
    """Where an ensemble's members are trained: ``output/members/1``, ``output/members/2``, ..."""
    return [output / "members" / str(k) for k in range(1, members + 1)]


def _fit_members(
    train_sentences: Sequence[Sentence], dev_sentences: Sequence[Sentence], output: Path, epochs: int | None, log,
    jobs: int = 1,
) -> dict:
    """Train (or go on training) each member of the ensemble in ``output``, then save the ensemble there.

    With ``jobs`` > 1, that many members train at once, each in a process of
    its own with an equal share of torch's threads (at least one). On a small
    CPU this is faster than one member after another with all the threads: an
    LSTM step of this size keeps one thread busy better than two (three members
    on 2 cores, one thread each, took 23-31 minutes, against 16 minutes a member
    on 2 threads). A member's result depends only on its seed and its thread count.
    """
    members = int(read_config(output)["members"])
    directories = member_directories(output, members)
    if jobs > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        threads = max(1, torch.get_num_threads() // min(jobs, members))
        log(f"training {members} members, {min(jobs, members)} at a time, {threads} thread(s) each")
        # "spawn": a forked process would inherit torch's thread pools, which can hang it.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(jobs, members), mp_context=context) as pool:
            running = [pool.submit(_train_member, train_sentences, dev_sentences, directory, epochs, threads, k)
                       for k, directory in enumerate(directories, start=1)]
            for member in running:
                member.result()
    else:
        for k, directory in enumerate(directories, start=1):
            log(f"member {k} of {members}: {directory}")
            resume(train_sentences, dev_sentences, directory, epochs, log)
    ensemble, encoder, _ = load_members(directories)
    scores = dev_scores(ensemble, encoder, dev_sentences)
    save_weights(output, ensemble)
    append_metrics(output, {"members": members, **{f"dev_{name}": value for name, value in scores.items()}})
    describe_run(output, log)
    log(f"ensemble of {members}: dev {_described(scores)}; model in {output}")
    return scores


def _train_member(train_sentences, dev_sentences, directory: Path, epochs: int | None, threads: int, k: int) -> None:
    """One member's run in a worker process: its log lines go out prefixed, without progress bars."""
    torch.set_num_threads(threads)
    resume(train_sentences, dev_sentences, directory, epochs, lambda message: print(f"member {k}: {message}",
                                                                                     flush=True), progress=False)


def dev_scores(model: nn.Module, encoder: Encoder, dev_sentences: Sequence[Sentence]) -> dict:
    """Entity-level precision, recall and F1 of the model's tags of the dev sentences, read as in training,
    and each entity type's F1 (``type_f1``).

    (With their context or documents, as the model was trained to read them.)
    """
    documents = document_ids(document_starts(dev_sentences)) if model.config.document_memory else None
    predicted = predict_tags(model, encoder, [s.tokens for s in dev_sentences],
                             contexts=_contexts(dev_sentences, model.config.context), documents=documents)
    gold = [s.labels for s in dev_sentences]
    by_type = type_scores(gold, predicted)
    return {**entity_scores(gold, predicted), "type_f1": {name: row["f1"] for name, row in by_type.items()}}


def _described(scores: dict) -> str:
    """``F1 0.9513 (LOC 0.9712, MISC 0.9012, ...)``: dev scores for a log line."""
    by_type = ", ".join(f"{name} {f1:.4f}" for name, f1 in scores.get("type_f1", {}).items())
    return f"F1 {scores['f1']:.4f}" + (f" ({by_type})" if by_type else "")


def _vector_package(names: Sequence[str], fixed_words: int, embeddings: Embeddings | None) -> str:
    """The vector package to read the fixed vectors from at load time, or "" to save them with the weights.

    Only when they are exactly the package's words beyond the trained
    vocabulary: then a model keeps all 400,000 GloVe words in a few MB.
    """
    if embeddings is None or embeddings.name is None or fixed_words == 0:
        return ""
    kept = len(names) - fixed_words
    beyond, _ = words_beyond(embeddings, set(names[:kept]))
    return embeddings.name if beyond == list(names[kept:]) else ""


def _fixed_tail(names: Sequence[str], trained: set[str]) -> int:
    """How many of the last names are not ``trained`` (ids 0 and 1 are never counted)."""
    count = 0
    for name in reversed(names[2:]):
        if name in trained:
            break
        count += 1
    return count


def resume(
    train_sentences: Sequence[Sentence], dev_sentences: Sequence[Sentence], output: str | Path,
    epochs: int | None = None, log: Callable[[str], object] = print, jobs: int = 1, progress: bool = True,
) -> dict:
    """Continue the run in ``output`` from its last checkpoint (optionally to a new epoch count).

    With the same data, the result is the one the uninterrupted run would have given.
    ``jobs``: members of an ensemble trained at once; ``progress``: show progress bars.
    """
    output = Path(output)
    saved = read_config(output)
    _refuse_types_the_run_lacks(train_sentences, entity_types(saved["encoder"]["tags"]["names"]), output)
    remove_stale_temporaries(output)
    train_sentences = _without_empty(train_sentences)
    if int(saved.get("members", 1)) > 1:
        return _fit_members(train_sentences, dev_sentences, output, epochs, log, jobs)
    config = TrainingConfig(**saved["training"])
    if epochs is not None:
        config.epochs = epochs
    model, encoder = build_model(saved, output / CONFIG_FILE)
    return _fit(model, encoder, train_sentences, dev_sentences, output, config, log, load_checkpoint(output),
                progress)


def _refuse_types_the_run_lacks(sentences: Sequence[Sentence], types: Sequence[str], output: Path) -> None:
    """A resumed run trains on the entity types it began with: name the first line of any other."""
    known = set(types)
    for sentence in sentences:
        for position, label in enumerate(sentence.labels or ()):
            if label != "O" and split_tag(label)[1] not in known:
                raise CorpusError(
                    sentence.source, sentence.first_line + position,
                    f"tag {label!r} is of a type the run in {output} was not started with "
                    f"({', '.join(types) or 'none'}); --resume continues a run on its own data (with its "
                    "--rename-type, if it had one), a new run (--output) can train on other types")


def _fit(
    model: BiLSTMCRF,
    encoder: Encoder,
    train_sentences: Sequence[Sentence],
    dev_sentences: Sequence[Sentence],
    output: Path,
    config: TrainingConfig,
    log,
    checkpoint: tuple[dict, dict] | None = None,
    progress_bars: bool = True,
) -> dict:
    """The training loop: an epoch, dev scores, best weights, metrics, checkpoint; repeat."""
    optimizer, schedule, rng, averaged = _training_state(model, config)
    state = {"epoch": 0, "best": {"f1": -1.0, "epoch": 0}, "epochs_without_gain": 0}
    if checkpoint is not None:
        state = _restore(checkpoint, model, optimizer, schedule, rng, averaged)
        _truncate_metrics(output, state["epoch"])
        if state["epoch"] > 0:
            log(f"resuming after epoch {state['epoch']} (best dev F1 {state['best']['f1']:.4f})")
    examples = Examples.of(train_sentences, model.config, config.tag_scheme)
    if examples.documents is not None:
        _log_cut_documents(examples.documents, config.batch_size, log)
    if config.teacher and config.teacher_weight > 0:
        examples.teacher = _teacher_distributions(config.teacher, encoder, train_sentences, log)
    tokens = sum(len(s) for s in train_sentences)
    for epoch in range(state["epoch"] + 1, config.epochs + 1):
        if state["epochs_without_gain"] >= config.patience:
            log(f"no dev F1 gain for {config.patience} epochs: stopping")
            break
        started = time.perf_counter()
        total_loss = 0.0
        progress = _progress(examples.batches(config.batch_size, rng), epoch, config.epochs, progress_bars)
        try:
            for step, loss in enumerate(training_steps(model, encoder, optimizer, examples, progress, config,
                                                       averaged), start=1):
                total_loss += loss
                progress.set_postfix(loss=f"{total_loss / step:.3f}", refresh=False)
        except TrainingDiverged as diverged:
            raise TaggerError(
                f"training diverged at epoch {epoch} (loss {diverged.loss}); the best model so far "
                f"(epoch {state['best']['epoch']}) is kept in {output}; try a lower --lr"
            ) from None
        schedule.step()
        train_seconds = time.perf_counter() - started
        # With averaging, the averaged weights are the ones scored, kept and saved.
        kept = model if averaged is None else averaged.module
        scores = dev_scores(kept, encoder, dev_sentences)
        seconds = time.perf_counter() - started
        record = {
            "epoch": epoch,
            "loss": total_loss / max(1, len(progress)),
            **{f"dev_{name}": value for name, value in scores.items()},
            "train_tokens_per_second": tokens / train_seconds,
            "seconds": seconds,
            "learning_rate": optimizer.param_groups[0]["lr"],
        }
        improved = scores["f1"] > state["best"]["f1"]
        if improved:
            state["best"] = {"epoch": epoch, **scores}
            save_weights(output, kept)
        state["epochs_without_gain"] = 0 if improved else state["epochs_without_gain"] + 1
        state["epoch"] = epoch
        append_metrics(output, record)
        _save(output, state, model, optimizer, schedule, rng, averaged)
        log(
            f"epoch {epoch:>3}  loss {record['loss']:.4f}  dev P {scores['precision']:.4f} R {scores['recall']:.4f} "
            f"F1 {scores['f1']:.4f}{' *' if improved else '  '}  {record['train_tokens_per_second']:,.0f} tokens/s  "
            f"{seconds:.1f} s"
        )
    best = state["best"]
    describe_run(output, log)
    log(f"best dev {_described(best)} at epoch {best['epoch']}; model in {output}")
    return best


def _log_cut_documents(documents: Sequence[int], batch_size: int, log) -> None:
    """Say so when documents are too long to be a batch each (``whole_document_batches``)."""
    sizes = collections.Counter(documents)
    long = [size for size in sizes.values() if size > LONGEST_DOCUMENT]
    if long:
        log(f"{len(long)} training document(s) of more than {LONGEST_DOCUMENT} sentences "
            f"(the longest {max(long):,}; are -DOCSTART- lines missing between documents?): document memory "
            f"trains on them in pieces of {batch_size} consecutive sentences")


@dataclass
class Examples:
    """Training sentences as the steps read them: tokens, gold tags in the model's scheme, and what goes beside.

    ``contexts``: each sentence's document context, for a model that reads it;
    ``documents``: each sentence's document id, for a model with document memory
    (its batches then hold whole documents); ``teacher``: a teacher's
    distributions over each sentence's tags (``tag_distributions``), for distillation.
    """

    tokens: Sequence[list[str]]
    tags: Sequence[list[str]]
    contexts: list[Context] | None = None
    documents: list[int] | None = None
    teacher: list[tuple[torch.Tensor, torch.Tensor]] | None = None
    _lengths: Sequence[int] | None = field(default=None, repr=False)

    @classmethod
    def of(cls, sentences: Sequence[Sentence], model_config: ModelConfig, scheme: str) -> "Examples":
        """The sentences as a model with ``model_config`` trains on them, tags converted to ``scheme``.

        A ``TableCorpus`` stays in its Arrow file: its rows are read a batch at a time, as steps need them.
        """
        contexts = _contexts(sentences, model_config.context)
        documents = document_ids(document_starts(sentences)) if model_config.document_memory else None
        if isinstance(sentences, TableCorpus):
            lengths = sentences.token_counts() if contexts is None else None
            return cls(sentences.column("tokens"), sentences.column("tags", lambda tags: convert_tags(tags, scheme)),
                       contexts, documents, _lengths=lengths)
        return cls([s.tokens for s in sentences], [convert_tags(s.labels, scheme) for s in sentences],
                   contexts, documents)

    def lengths(self) -> Sequence[int]:
        """Tokens the network reads for each sentence: its own, plus its context's."""
        if self._lengths is None:
            self._lengths = read_lengths(self.tokens, self.contexts)
        return self._lengths

    def take(self, indices: Sequence[int]) -> tuple[list[list[str]], list[list[str]]]:
        """The tokens and the tags of the sentences at ``indices`` (from a table, in one read of each column)."""
        return _take(self.tokens, indices), _take(self.tags, indices)

    def batches(self, batch_size: int, rng: random.Random) -> list[list[int]]:
        """An epoch's batches of sentence indices, in the order ``rng`` draws (see ``epoch_batches``)."""
        return epoch_batches(self.lengths(), self.documents, batch_size, rng)


class TrainingDiverged(TaggerError):
    """A step's loss was not finite."""

    def __init__(self, loss: float):
        super().__init__(f"training diverged (loss {loss})")
        self.loss = loss


def training_steps(
    model: BiLSTMCRF, encoder: Encoder, optimizer: torch.optim.Optimizer, examples: Examples,
    batches: Iterable[list[int]], config: TrainingConfig, averaged: WeightAverage | None = None,
) -> Iterator[float]:
    """One optimizer step per batch of ``examples`` (lists of sentence indices), yielding each step's loss.

    A step: encode the batch, the CRF loss (with the teacher's term if the
    examples have one), backward, gradient clipping at ``config.clip``, the
    optimizer, and the weight average's update. Raises ``TrainingDiverged`` at a
    loss that is not finite, before its step.
    """
    model.train()
    _allocate_gradients(optimizer)
    for indices in batches:
        tokens, tags = examples.take(indices)
        batch = encoder.batch(tokens, [examples.contexts[i] for i in indices] if examples.contexts else None,
                              [examples.documents[i] for i in indices] if examples.documents else None)
        gold = encoder.tag_ids(tags, batch.mask.shape[1])
        taught = _teacher_batch(examples.teacher, indices, gold.shape[1]) if examples.teacher else None
        loss = model.loss(batch, gold, taught, config.teacher_weight)
        if examples.documents is not None:
            # Documents make batches of many sizes: each sentence weighs as in a full batch.
            loss = loss * (len(indices) / config.batch_size)
        if not torch.isfinite(loss):
            raise TrainingDiverged(loss.item())
        optimizer.zero_grad(set_to_none=False)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), config.clip, foreach=True)  # foreach: see make_optimizer
        optimizer.step()
        if averaged is not None:
            averaged.update_parameters(model)
        yield loss.item()


def _take(sequence: Sequence[list[str]], indices: Sequence[int]) -> list[list[str]]:
    """The items at ``indices``: in one read where the sequence can (a ``TableColumn``), else one by one."""
    if isinstance(sequence, TableColumn):
        return sequence.take(indices)
    return [sequence[i] for i in indices]


def _allocate_gradients(optimizer: torch.optim.Optimizer) -> None:
    """Give every parameter the optimizer updates a gradient tensor, zero, kept (not freed) between steps.

    A batch can leave a parameter unused: the CRF's transitions in a batch of
    one-token sentences. Its gradient is then zero, but autograd leaves it
    ``None``, which fused and foreach optimizers reject (and others skip, so
    that momentum stalls). Kept as zeros, every step sees every gradient.
    """
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            if parameter.grad is None:
                parameter.grad = torch.zeros_like(parameter)


def _teacher_distributions(name: str, encoder: Encoder, sentences: Sequence[Sentence], log) -> list:
    """The teacher model's distributions over the sentences' tag sequences (``tag_distributions``).

    The teacher reads the sentences as it was trained to (with their context or
    documents), and its probabilities are taken at its fitted temperature.
    """
    teacher, teacher_encoder, settings = load_model(resolve_model(name))
    _check_teacher(name, teacher_encoder.tags.names, encoder)
    started = time.perf_counter()
    documents = document_ids(document_starts(sentences)) if teacher.config.document_memory else None
    distributions = tag_distributions(
        teacher, teacher_encoder, [s.tokens for s in sentences], contexts=_contexts(sentences, teacher.config.context),
        documents=documents, temperature=float(settings.get("temperature", 1.0)))
    log(f"teacher {name}: its tag distributions of the {len(sentences)} training sentences "
        f"in {time.perf_counter() - started:.1f} s")
    return distributions


def _check_teacher(name: str, tags: Sequence[str], encoder: Encoder) -> None:
    if list(tags) != list(encoder.tags.names):
        raise TaggerError(
            f"teacher {name}: its tags ({' '.join(tags)}) are not this run's ({' '.join(encoder.tags.names)}); "
            "a teacher must be trained on the same entity types and --tag-scheme"
        )


def _teacher_batch(distributions: list, indices: list[int], length: int) -> TagDistribution:
    """A batch's teacher distributions, padded to ``length`` tokens: (B, length, K) and (B, K, K)."""
    num_tags = distributions[indices[0]][1].shape[0]
    tags = torch.zeros((len(indices), length, num_tags))
    for row, i in enumerate(indices):
        tags[row, : len(distributions[i][0])] = distributions[i][0]
    return TagDistribution(tags, torch.stack([distributions[i][1] for i in indices]))


def _training_state(model: BiLSTMCRF, config: TrainingConfig):
    """What a run keeps besides the weights: optimizer, learning-rate schedule, batch order, weight average."""
    optimizer = make_optimizer(model.parameters(), config)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 1.0 / (1.0 + config.lr_decay * epoch))
    return optimizer, schedule, random.Random(config.seed), _averaged(model, config.average)


OPTIMIZERS = ("sgd", "nadam")


def make_optimizer(parameters: Iterable[nn.Parameter], config: TrainingConfig) -> torch.optim.Optimizer:
    """``config.optimizer`` at ``config.learning_rate``: SGD with ``config.momentum``, or NAdam.

    NAdam (Adam with Nesterov momentum) is the optimizer Reimers & Gurevych (2017)
    found best for BiLSTM-CRF taggers; it wants a smaller learning rate (about 0.002).
    """
    if config.optimizer == "sgd":
        return sgd(parameters, config.learning_rate, config.momentum)
    if config.optimizer == "nadam":
        # foreach: one operation over all the weights instead of one per tensor, which PyTorch
        # only picks by itself on GPUs: 1.8 against 4.2 ms a step here, 4-6% of a recipe epoch.
        return torch.optim.NAdam(parameters, lr=config.learning_rate, foreach=True)
    raise ValueError(f"unknown optimizer {config.optimizer!r}: expected one of {', '.join(OPTIMIZERS)}")


def sgd(parameters: Iterable[nn.Parameter], learning_rate: float, momentum: float) -> torch.optim.SGD:
    """SGD with momentum, with torch's fused kernel where this torch has one (one pass over the weights)."""
    parameters = list(parameters)
    try:
        return torch.optim.SGD(parameters, lr=learning_rate, momentum=momentum, fused=True)
    except (RuntimeError, TypeError, ValueError):  # no fused CPU SGD before torch 2.4
        return torch.optim.SGD(parameters, lr=learning_rate, momentum=momentum)


def _contexts(sentences: Sequence[Sentence], size: int) -> list[Context] | None:
    """Each sentence's document context of ``size`` tokens a side, or None when the model reads none."""
    if size == 0:
        return None
    return document_contexts([s.tokens for s in sentences], document_starts(sentences), size)


class WeightAverage:
    """An exponential moving average of a model's parameters (Polyak averaging), held in a copy of the model.

    ``torch.optim.swa_utils.AveragedModel`` does the same at ten times the cost
    per step for a model of this size.
    """

    def __init__(self, model: BiLSTMCRF, decay: float):
        self.decay = decay
        # The fixed vectors are never trained: the copy shares them instead of doubling their memory.
        self.module = copy.deepcopy(model, memo={id(model.fixed_word_vectors): model.fixed_word_vectors})

    def update_parameters(self, model: BiLSTMCRF) -> None:
        with torch.no_grad():
            for averaged, current in zip(self.module.parameters(), model.parameters()):
                averaged.lerp_(current, 1.0 - self.decay)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return dict(self.module.named_parameters())

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            for name, parameter in self.module.named_parameters():
                parameter.copy_(state[name])


def _averaged(model: BiLSTMCRF, decay: float) -> WeightAverage | None:
    return WeightAverage(model, decay) if decay else None


def _save(output: Path, state: dict, model: nn.Module, optimizer, schedule, rng: random.Random, averaged) -> None:
    """Checkpoint everything the next epoch depends on: weights, optimizer, schedule, random states."""
    tensors = {f"model.{name}": value for name, value in model.state_dict().items()}
    if averaged is not None:
        tensors.update({f"averaged.{name}": value for name, value in averaged.state_dict().items()})
    optimizer_state = optimizer.state_dict()
    for index, values in optimizer_state["state"].items():
        for key, value in values.items():
            tensors[f"optimizer.{index}.{key}"] = torch.as_tensor(value)
    tensors["random.torch"] = torch.get_rng_state()
    save_checkpoint(output, tensors, {
        **state,
        "optimizer_groups": optimizer_state["param_groups"],
        "schedule": {key: value for key, value in schedule.state_dict().items() if key != "lr_lambdas"},
        "random_python": rng.getstate(),
    })


def _restore(
    checkpoint: tuple[dict, dict], model: nn.Module, optimizer, schedule, rng: random.Random, averaged
) -> dict:
    tensors, saved = checkpoint
    model.load_state_dict({name[6:]: value for name, value in tensors.items() if name.startswith("model.")})
    if averaged is not None:
        averaged.load_state_dict({name[9:]: value for name, value in tensors.items() if name.startswith("averaged.")})
    per_parameter: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith("optimizer."):
            _, index, key = name.split(".", 2)
            per_parameter.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": per_parameter, "param_groups": saved["optimizer_groups"]})
    schedule.load_state_dict({**saved["schedule"], "lr_lambdas": [None]})
    version, internal, gauss = saved["random_python"]
    rng.setstate((version, tuple(internal), gauss))
    torch.set_rng_state(tensors["random.torch"])
    return {key: saved[key] for key in ("epoch", "best", "epochs_without_gain")}


def _truncate_metrics(output: Path, last_epoch: int) -> None:
    """Drop metric lines of epochs after the checkpoint (written just before a crash)."""
    path = output / METRICS_FILE
    if path.is_file():
        lines = path.read_text(encoding="utf-8").splitlines()
        kept = [line for line in lines if json.loads(line)["epoch"] <= last_epoch]
        if len(kept) != len(lines):
            write_atomically(path, lambda temporary: temporary.write_text("".join(l + "\n" for l in kept)))


def _progress(batches: list[list[int]], epoch: int, epochs: int, shown: bool = True):
    from tqdm import tqdm

    return tqdm(batches, desc=f"epoch {epoch}/{epochs}", unit="batch", leave=False, disable=None if shown else True,
                file=sys.stderr)
