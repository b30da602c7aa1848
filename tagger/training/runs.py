"""Runs as ``train.py`` starts them: a new one (of one network, an ensemble, or from a base) or a resumed one."""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path

from ..card import kept_record, member_runs
from ..corpus import CHARACTERS, CHARACTERS_AND_SPACES, CorpusError, Sentence, tokenization_of
from ..embeddings import Embeddings
from ..errors import TaggerError, counted
from ..model import BiLSTMCRF
from ..schemes import detect_scheme, entity_types, split_tag
from ..sources import TableCorpus
from ..storage import (
    CONFIG_FILE,
    read_config,
    remove_stale_temporaries,
    resolve_model,
    save_config,
)
from .averaging import decay_for_epochs
from .base import from_base
from .batches import Examples
from .checkpoints import clear_run, save_state
from .config import TrainingConfig
from .distributed import ONE_PROCESS, Processes
from .loop import epoch_bar, fit, no_progress, resume_network, training_state
from .members import fit_members, member_directories
from .networks import build_encoder, initial_model, new_network
from .teacher import check_teacher


# What the first log line says of a model that reads characters.
_TOKENIZATION_LOGGED = {
    CHARACTERS: "tokens are characters (text is split into characters); ",
    CHARACTERS_AND_SPACES: "tokens are characters and spaces (text is split into characters, and the spaces between "
                           "words are tokens); ",
}


def train(
    train_sentences: Sequence[Sentence],
    dev_sentences: Sequence[Sentence],
    output: str | Path | None,
    config: TrainingConfig,
    model_config: dict | None = None,
    embeddings: Embeddings | None = None,
    log: Callable[[str], object] = print,
    recipe: str | None = None,
    jobs: int | None = 1,
    input_scheme: str | None = None,
    data: dict | None = None,
    processes: Processes = ONE_PROCESS,
    check_only: bool = False,
) -> dict | None:
    """Start a run: build vocabularies and model (or take them from ``config.base``), write ``output``, train;
    return the best dev scores. With ``check_only``, stop once the run is logged (its corpus, vocabularies,
    parameters and schedule), before anything is written or trained: None (and ``output`` may be None).

    The sentences' tags may be in any scheme of ``tagger.schemes`` (``input_scheme``, or the one
    detected): the model learns ``config.tag_scheme``, and the corpus's scheme is logged and recorded
    (``input_scheme`` in ``config.json``), the scheme its output is written in by default.
    ``model_config`` overrides ``ModelConfig`` sizes (``hidden_size``, ``dropout``, ...).
    ``jobs``: members of an ensemble trained at once, each in a process of its own (None: as many as
    ``fit_members`` chooses by device and threads, as ``train.py`` does). The default, 1, trains them one
    after another in this process: worker processes start by importing the caller's main module, which a
    script without an ``if __name__ == "__main__":`` guard would run again.
    ``data``: where the corpora came from and how they were read (JSON values), recorded in
    ``config.json`` for a resumed run to read them again (``train.py`` records them).
    ``processes``: those training the network together (``tagger.training.distributed``), each
    calling this with the same arguments; the leader alone writes ``output``.
    """
    if processes.size > 1 and (config.members > 1 or (jobs or 1) > 1):
        raise TaggerError("a distributed run trains one network: leave out --members and --jobs (train an "
                          "ensemble's members as runs of their own, --seed apart, and join them with "
                          "python -m tagger.ensemble)")
    train_sentences = without_empty(train_sentences)
    # Only recorded, and checked: convert_tags reads any scheme.
    source_scheme = detect_scheme((s.labels for s in train_sentences), input_scheme)
    bases: list[BiLSTMCRF] = []
    if config.base:
        if config.members > 1:
            raise TaggerError("--base decides the networks (one, or an ensemble's members): leave out --members")
        bases, encoder, config = from_base(config, train_sentences)
        model = bases[0]
    else:
        sizes = model_config or {}
        encoder = build_encoder(train_sentences, embeddings, config, bigrams=bool(sizes.get("bigram_dim")))
        network = new_network(encoder, train_sentences, embeddings, config, sizes)
        model = initial_model(network, encoder, embeddings, config.seed)  # the only network, or the first member
    network = model.config
    steps = 0
    if config.average:  # a decay given wins
        config = replace(config, average_epochs=0.0)
    elif config.average_epochs:
        batches = Examples.of(train_sentences, network, config.tag_scheme).batches(config.batch_size,
                                                                                random.Random(config.seed))
        steps = max(1, len(batches) // processes.size)  # several processes take a step together
        config = replace(config, average=decay_for_epochs(config.average_epochs, steps))
    tokenization = tokenization_of(train_sentences)
    settings = dict(tag_scheme=config.tag_scheme, input_scheme=source_scheme, tokenization=tokenization,
                    recipe=recipe, data=data)
    if config.teacher and config.teacher_weight > 0:  # before anything in ``output`` is replaced
        check_teacher(config.teacher, read_config(resolve_model(config.teacher))["encoder"]["tags"]["names"], encoder)
    log(
        f"{counted(len(train_sentences), 'training sentence')} ({source_scheme} read as {config.tag_scheme}), "
        f"{len(dev_sentences):,} dev; {len(encoder.words):,} words, "
        f"{len(encoder.chars):,} characters, {counted(len(encoder.tags), 'tag')}; "
        + _TOKENIZATION_LOGGED.get(tokenization, "")
        + f"{sum(p.numel() for p in model.parameters()):,} parameters"
        + (f" in each of {config.members} networks" if config.members > 1 else "")
    )
    if steps:
        log(f"weight average over {config.average_epochs:g} epochs of {counted(steps, 'step')}: "
            f"decay {config.average:.5f} a step")
    if check_only:
        return None
    output = Path(output)
    if config.members == 1:
        if processes.leader:
            clear_run(output)
            save_config(output, network, encoder, training=asdict(config), **settings)
        return fit(model, encoder, train_sentences, dev_sentences, output, config, log, processes=processes)
    clear_run(output)
    # An ensemble: each member starts as a run of its own (seeds seed, seed + 1, ...), saved
    # before any training, so that an interrupted ensemble resumes wherever it stopped.
    save_config(output, network, encoder, members=config.members, training=asdict(config), **settings)
    for k, directory in enumerate(member_directories(output, config.members)):
        member = replace(config, seed=config.seed + k, members=1)
        clear_run(directory)
        if k > 0:
            model = bases[k] if bases else initial_model(network, encoder, embeddings, member.seed)
        save_config(directory, network, encoder, training=asdict(member), **settings)
        start = {"epoch": 0, "best": {"f1": -1.0, "epoch": 0}, "epochs_without_gain": 0}
        save_state(directory, start, model, *training_state(model, member))
    return fit_members(train_sentences, dev_sentences, output, None, log, jobs, processes)


# Where a ``--with-dev`` run keeps the run that chose its epochs and entity bias on dev, inside its model directory.
SELECTION = "selection"


def train_with_dev(
    train_sentences: Sequence[Sentence],
    dev_sentences: Sequence[Sentence],
    output: str | Path,
    config: TrainingConfig,
    model_config: dict | None = None,
    embeddings: Embeddings | None = None,
    log: Callable[[str], object] = print,
    resume_selection: bool = False,
    **options,
) -> dict:
    """Train twice: first as ``train`` does, in ``output/selection``, choosing the epochs and entity bias on
    the dev sentences; then from the start on the training and dev sentences together, in ``output``, for
    as many epochs with that entity bias (``with_dev_config``). Returns the second run's scores of the
    dev sentences, which it trained on: the dev scores to trust are those in ``selection``. More training
    data where the dev corpus is a large share of it and like the text to tag (as Flair's ``train_with_dev``;
    docs/training.md has where it gained and where it lost).

    ``resume_selection``: the first run is under way in ``output/selection``: go on with it (``resume``).
    ``options``: ``train``'s other keyword arguments, for both runs.
    """
    if options.get("processes", ONE_PROCESS).size > 1:
        raise TaggerError("--with-dev trains in one process: leave out torchrun, or train on train and dev together "
                          "as a run of its own (--epochs and --entity-bias as the first run chose them)")
    selection = Path(output) / SELECTION
    first = {key: value for key, value in options.items() if key in ("jobs", "processes")}
    if resume_selection:
        resume(train_sentences, dev_sentences, selection, log=log, **first)
    else:
        # A model replaced (--overwrite) is no longer one, so that a resumed run goes on with this one.
        (Path(output) / CONFIG_FILE).unlink(missing_ok=True)
        train(train_sentences, dev_sentences, selection, config, model_config, embeddings, log, **options)
    again = with_dev_config(selection)
    log(f"training again on the training and dev corpora together: {counted(again.epochs, 'epoch')} (as chosen on "
        f"dev), entity bias {again.entity_bias:g}, the last epoch kept; the run that chose them is in {selection}")
    return train(with_dev(train_sentences, dev_sentences), dev_sentences, output, again, model_config, embeddings,
                 log, **options)


def with_dev_config(selection: str | Path) -> TrainingConfig:
    """How to train on the training and dev corpora together, from the finished run in ``selection`` that chose
    on dev: its options, for the epochs it kept (an ensemble: the median of its members', rounded), with the
    entity bias it chose, keeping the last epoch (``trained_on_dev``)."""
    saved = read_config(Path(selection))
    config = TrainingConfig(**saved["training"])
    epochs = [kept_record(records)["epoch"] for records in member_runs(Path(selection))]
    if not epochs:
        raise TaggerError(f"{selection}: no epoch has been trained")
    return replace(config, epochs=max(1, round(statistics.median(epochs))), entity_bias=saved.get("entity_bias", 0.0),
                   trained_on_dev=True,
                   # A decay set from the epoch's steps (``average_epochs``) is set again for the larger corpus.
                   average=0.0 if config.average_epochs else config.average)


def with_dev(train_sentences: Sequence[Sentence], dev_sentences: Sequence[Sentence]) -> Sequence[Sentence]:
    """The training sentences, then the dev sentences, which begin a document of their own; a table's rows
    (``TableCorpus``) stay on disk, the dev sentences joined to them."""
    if isinstance(train_sentences, TableCorpus):
        return train_sentences.joined(dev_sentences)
    dev = list(dev_sentences)
    if dev and dev[0].document_start is None:
        dev[0] = replace(dev[0], document_start="-DOCSTART-")
    return [*train_sentences, *dev]


def without_empty(sentences: Sequence[Sentence]) -> Sequence[Sentence]:
    """The sentences that have tokens (a corpus without empty ones as it is: a ``TableCorpus`` stays on disk)."""
    if all(len(sentence) for sentence in sentences):
        return sentences
    return [sentence for sentence in sentences if len(sentence)]


def resume(
    train_sentences: Sequence[Sentence], dev_sentences: Sequence[Sentence], output: str | Path,
    epochs: int | None = None, log: Callable[[str], object] = print, jobs: int | None = 1, progress: bool = True,
    processes: Processes = ONE_PROCESS,
) -> dict:
    """Continue the run in ``output`` from its last checkpoint (optionally to a new epoch count).

    With the same data (and as many ``processes``), the result is the one the uninterrupted run
    would have given. ``jobs``: members of an ensemble trained at once (see ``fit_members``); ``progress``: show
    progress bars.
    """
    output = Path(output)
    saved = read_config(output)
    _refuse_types_the_run_lacks(train_sentences, entity_types(saved["encoder"]["tags"]["names"]), output)
    train_sentences = without_empty(train_sentences)
    if int(saved.get("members", 1)) > 1:
        if processes.size > 1:
            raise TaggerError(f"the run in {output} is an ensemble's: a distributed run trains one network")
        remove_stale_temporaries(output)
        return fit_members(train_sentences, dev_sentences, output, epochs, log, jobs, processes)
    if processes.leader:
        remove_stale_temporaries(output)
    return resume_network(train_sentences, dev_sentences, output, epochs, log,
                          epoch_bar if progress else no_progress, processes)


def _refuse_types_the_run_lacks(sentences: Sequence[Sentence], types: Sequence[str], output: Path) -> None:
    """A resumed run trains on the entity types it began with: name the first line of any other."""
    known = set(types)
    for sentence in sentences:
        for position, label in enumerate(sentence.labels or ()):
            if label != "O" and split_tag(label)[1] not in known:
                raise CorpusError(
                    sentence.source, sentence.line_of(position),
                    f"tag {label!r} is of a type the run in {output} was not started with "
                    f"({', '.join(types) or 'none'}); --resume continues a run on its own data (with its "
                    "--rename-type, if it had one), a new run (--output) can train on other types")
