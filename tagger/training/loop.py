"""The training loop of one network: an epoch of steps, dev scores, the best weights, metrics, a checkpoint; repeat."""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..card import describe_run
from ..corpus import Sentence, document_ids, document_starts
from ..encoding import Encoder
from ..errors import TaggerError
from ..inference import entity_scores, predict_tags_by_bias, type_scores
from ..model import BiLSTMCRF, TagDistribution, device_of
from ..sources import token_count
from ..storage import (
    CONFIG_FILE,
    append_metrics,
    build_model,
    load_checkpoint,
    load_model,
    read_config,
    save_weights,
    update_config,
)
from .averaging import WeightAverage, weight_average
from .batches import Examples, contexts_of, log_cut_documents
from .checkpoints import restore_state, save_state, thread_change, truncate_metrics
from .config import TrainingConfig, make_optimizer
from .distributed import ONE_PROCESS, Processes, rank_seed
from .teacher import teacher_batch, teacher_distributions

# How far an epoch is: given its batches, its number and the epochs of the run, an iterable over the batches
# (which training iterates) with ``set_postfix`` (the mean loss so far), ``len`` and ``close`` (called once the
# epoch's dev scores are in), as a tqdm bar has.
EpochProgress = Callable[[list[list[int]], int, int], Any]


def dev_scores(model: nn.Module, encoder: Encoder, dev_sentences: Sequence[Sentence], entity_bias: float = 0.0) -> dict:
    """Entity-level precision, recall and F1 of the model's tags of the dev sentences, read as in training,
    and each entity type's F1 (``type_f1``).

    (With their context or documents, as the model was trained to read them; ``entity_bias`` as in
    ``inference.decoding_potentials``.)
    """
    return dev_scores_by_bias(model, encoder, dev_sentences, [entity_bias])[0]


def dev_scores_by_bias(model: nn.Module, encoder: Encoder, dev_sentences: Sequence[Sentence],
                       entity_biases: Sequence[float]) -> list[dict]:
    """``dev_scores`` at each of ``entity_biases``, the network run once (``inference.predict_tags_by_bias``)."""
    documents = document_ids(document_starts(dev_sentences)) if model.config.document_memory else None
    predictions = predict_tags_by_bias(model, encoder, [s.tokens for s in dev_sentences], entity_biases,
                                       contexts=contexts_of(dev_sentences, model.config.context), documents=documents)
    gold = [s.labels for s in dev_sentences]
    return [{**entity_scores(gold, predicted),
             "type_f1": {name: row["f1"] for name, row in type_scores(gold, predicted).items()}}
            for predicted in predictions]


# The entity biases tried on dev after training, and the dev F1 one must gain over none (0) to be kept.
# On WNUT-17, whose models find too few entities (recall 0.38 at precision 0.70), the bias chosen gained
# 1.3-2.0 dev F1 in each of three seeds, and the one chosen on half of the dev split gained 0.3-2.7 on
# the other half in each of six trials. On CoNLL-2003 and CoNLL-2002 Dutch, whose precision and recall
# are even, the best bias gained at most 0.08 on dev and moved the test splits by -0.29 to +0.10: noise,
# which the minimum gain leaves out (docs/results.md).
ENTITY_BIASES = tuple(step / 4 for step in range(-4, 13))  # -1.0, -0.75, ..., 3.0
ENTITY_BIAS_MIN_GAIN = 0.005


def choose_entity_bias(model: nn.Module, encoder: Encoder, dev_sentences: Sequence[Sentence],
                       biases: Iterable[float] = ENTITY_BIASES, min_gain: float = ENTITY_BIAS_MIN_GAIN
                       ) -> tuple[float, dict]:
    """The entity bias of ``biases`` whose tags of the dev sentences score the highest F1 (the one
    nearest 0 of those that tie), and its ``dev_scores``; 0 unless it gains ``min_gain`` F1 over 0."""
    tried = [0.0, *(bias for bias in sorted(biases, key=abs) if bias)]
    scored = list(zip(tried, dev_scores_by_bias(model, encoder, dev_sentences, tried)))
    none = scored[0][1]
    best = max(scored, key=lambda pair: pair[1]["f1"])
    return best if best[1]["f1"] - none["f1"] >= min_gain else (0.0, none)


def keep_entity_bias(output: Path, dev_sentences: Sequence[Sentence], bias: float | None, log) -> None:
    """Store the entity bias the model in ``output`` tags with: ``bias``, or with None the one ``choose_entity_bias``
    chooses on the dev sentences; with its dev scores (``entity_bias_dev`` in ``config.json``)."""
    model, encoder, _ = load_model(output)
    if bias is None:
        bias, scores = choose_entity_bias(model, encoder, dev_sentences)
        chosen = "chosen on dev"
    else:
        scores, chosen = dev_scores(model, encoder, dev_sentences, bias), "as given"
    update_config(output, entity_bias=bias,
                  entity_bias_dev={name: scores[name] for name in ("precision", "recall", "f1")})
    log(f"entity bias {bias:g} ({chosen}): dev {described(scores)}")


def described(scores: dict, most_types: int = 10) -> str:
    """``F1 0.9513 (LOC 0.9712, MISC 0.9012, ...)``: dev scores for a log line; beyond ``most_types`` types,
    their range: ``F1 0.7012 (64 types, from ORG7 0.1250 to LOC3 0.9500)`` (each is in ``metrics.jsonl`` and the
    card)."""
    by_type = scores.get("type_f1", {})
    if len(by_type) > most_types:
        low, high = min(by_type, key=by_type.get), max(by_type, key=by_type.get)
        listed = f"{len(by_type)} types, from {low} {by_type[low]:.4f} to {high} {by_type[high]:.4f}"
    else:
        listed = ", ".join(f"{name} {f1:.4f}" for name, f1 in by_type.items())
    return f"F1 {scores['f1']:.4f}" + (f" ({listed})" if listed else "")


class TrainingDiverged(TaggerError):
    """A step's loss was not finite."""

    def __init__(self, loss: float):
        super().__init__(f"training diverged (loss {loss})")
        self.loss = loss


def training_steps(
    model: BiLSTMCRF, encoder: Encoder, optimizer: torch.optim.Optimizer, examples: Examples,
    batches: Iterable[list[int]], config: TrainingConfig, averaged: WeightAverage | None = None,
    loss_function: Callable[..., torch.Tensor] | None = None,
) -> Iterator[float]:
    """One optimizer step per batch of ``examples`` (lists of sentence indices), yielding each step's loss.

    A step: encode the batch, the CRF loss (with the teacher's term if the
    examples have one), backward, gradient clipping at ``config.clip``, the
    optimizer, and the weight average's update. Raises ``TrainingDiverged`` at a
    loss that is not finite, before its step. ``loss_function``: ``model.loss``
    or what stands for it (``Processes.loss_function``: gradients averaged over processes).
    """
    loss_function = loss_function or model.loss
    device = device_of(model)
    model.train()
    for indices in batches:
        tokens, tags = examples.take(indices)
        batch = encoder.batch(tokens, [examples.contexts[i] for i in indices] if examples.contexts else None,
                              [examples.documents[i] for i in indices] if examples.documents else None).to(device)
        gold = encoder.tag_ids(tags, batch.mask.shape[1]).to(device)
        taught = teacher_batch(examples.teacher, indices, gold.shape[1]) if examples.teacher else None
        if taught is not None:
            taught = TagDistribution(*(part.to(device) for part in taught))
        loss = loss_function(batch, gold, taught, config.teacher_weight)
        if examples.documents is not None:
            # Documents make batches of many sizes: each sentence weighs as in a full batch.
            loss = loss * (len(indices) / config.batch_size)
        if not torch.isfinite(loss):
            raise TrainingDiverged(loss.item())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        _fill_missing_gradients(optimizer)
        nn.utils.clip_grad_norm_(model.parameters(), config.clip, foreach=True)  # foreach: see make_optimizer
        optimizer.step()
        if averaged is not None:
            averaged.update_parameters(model)
        yield loss.item()


def _fill_missing_gradients(optimizer: torch.optim.Optimizer) -> None:
    """Give a zero gradient to every parameter the optimizer updates that the step's loss did not reach.

    A batch can leave a parameter unused: the CRF's transitions in a batch of
    one-token sentences. Its gradient is then zero, but autograd leaves it
    ``None``, which fused and foreach optimizers reject (and others skip, so
    that momentum stalls). Gradients are dropped before each backward
    (``zero_grad(set_to_none=True)``) rather than zeroed, so that backward hands
    over the tensors it made instead of adding them to zeros: the same values,
    without two passes over every gradient (10 MB for Dutch's word table), 2% of a step.
    """
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            if parameter.grad is None:
                parameter.grad = torch.zeros_like(parameter)


def training_state(model: BiLSTMCRF, config: TrainingConfig):
    """What a run keeps besides the weights: optimizer, learning-rate schedule, batch order, weight average."""
    optimizer = make_optimizer(model.parameters(), config)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 1.0 / (1.0 + config.lr_decay * epoch))
    return optimizer, schedule, random.Random(config.seed), weight_average(model, config.average)


def resume_network(train_sentences: Sequence[Sentence], dev_sentences: Sequence[Sentence], output: Path,
                   epochs: int | None, log, progress: EpochProgress | None = None,
                   processes: Processes = ONE_PROCESS) -> dict:
    """Go on with the run of one network in ``output`` (a member's, for an ensemble) from its checkpoint
    (``progress``: as ``fit`` takes it)."""
    saved = read_config(output)
    config = TrainingConfig(**saved["training"])
    if epochs is not None:
        config.epochs = epochs
    model, encoder = build_model(saved, output / CONFIG_FILE)
    return fit(model, encoder, train_sentences, dev_sentences, output, config, log, load_checkpoint(output), progress,
               processes)


def fit(
    model: BiLSTMCRF,
    encoder: Encoder,
    train_sentences: Sequence[Sentence],
    dev_sentences: Sequence[Sentence],
    output: Path,
    config: TrainingConfig,
    log,
    checkpoint: tuple[dict, dict] | None = None,
    progress: EpochProgress | None = None,
    processes: Processes = ONE_PROCESS,
) -> dict:
    """The training loop: an epoch, dev scores, best weights, metrics, checkpoint; repeat; then the entity bias
    (``keep_entity_bias``). Returns the kept epoch's dev scores (without the entity bias).

    ``progress`` shows how far each epoch is (default: ``epoch_bar``, a bar on a terminal; ``no_progress``).

    With several ``processes`` (data-parallel training), each takes its share
    of every epoch's batches, and the leader alone scores dev and writes to ``output``.
    """
    model.to(processes.device)
    if processes.size > 1:
        torch.manual_seed(rank_seed(config.seed, processes.rank))  # each its own dropout masks
    optimizer, schedule, rng, averaged = training_state(model, config)
    state = {"epoch": 0, "best": {"f1": -1.0, "epoch": 0}, "epochs_without_gain": 0}
    if checkpoint is not None:
        state = restore_state(checkpoint, model, optimizer, schedule, rng, averaged, processes.rank)
        if processes.leader:
            truncate_metrics(output, state["epoch"])
        if state["epoch"] > 0:
            log(f"resuming after epoch {state['epoch']} (best dev F1 {state['best']['f1']:.4f})")
            changed = thread_change(checkpoint)
            if changed and device_of(model).type == "cpu":
                log(changed)
    examples = Examples.of(train_sentences, model.config, config.tag_scheme)
    if examples.documents is not None:
        log_cut_documents(examples.documents, config.batch_size, log)
    if config.teacher and config.teacher_weight > 0:
        examples.teacher = teacher_distributions(config.teacher, encoder, train_sentences, log)
    tokens = token_count(train_sentences)
    loss_function = processes.loss_function(model)
    for epoch in range(state["epoch"] + 1, config.epochs + 1):
        if state["epochs_without_gain"] >= config.patience:
            log(f"no dev F1 gain for {config.patience} epochs: stopping")
            break
        started = time.perf_counter()
        total_loss = 0.0
        batches = examples.batches(config.batch_size, rng)
        if processes.size > 1:
            lengths = examples.lengths()
            batches = processes.shard(batches, [sum(lengths[i] for i in batch) for batch in batches])
        steps = ((progress or epoch_bar) if processes.leader else no_progress)(batches, epoch, config.epochs)
        try:
            for step, loss in enumerate(training_steps(model, encoder, optimizer, examples, steps, config,
                                                       averaged, loss_function), start=1):
                total_loss += loss
                steps.set_postfix(loss=f"{total_loss / step:.3f}", refresh=False)
        except TrainingDiverged as diverged:
            raise TaggerError(
                f"training diverged at epoch {epoch} (loss {diverged.loss}); the best model so far "
                f"(epoch {state['best']['epoch']}) is kept in {output}; try a lower --lr"
            ) from None
        schedule.step()
        train_seconds = time.perf_counter() - started
        torch_states = processes.gathered(torch.get_rng_state())
        if not processes.leader:
            state = processes.from_leader(None)  # while the leader scores dev and writes
            continue
        # With averaging, the averaged weights are the ones scored, kept and saved.
        kept = model if averaged is None else averaged.module
        scores = dev_scores(kept, encoder, dev_sentences)
        steps.close()
        seconds = time.perf_counter() - started
        record = {
            "epoch": epoch,
            "loss": total_loss / max(1, len(steps)),
            **{f"dev_{name}": value for name, value in scores.items()},
            "train_tokens_per_second": tokens / train_seconds,
            "seconds": seconds,
            "learning_rate": optimizer.param_groups[0]["lr"],
        }
        # Scores of a corpus trained on choose nothing: the last epoch is kept (and patience never runs out).
        improved = scores["f1"] > state["best"]["f1"] or config.trained_on_dev
        if improved:
            state["best"] = {"epoch": epoch, **scores}
            save_weights(output, kept)
        state["epochs_without_gain"] = 0 if improved else state["epochs_without_gain"] + 1
        state["epoch"] = epoch
        append_metrics(output, record)
        save_state(output, state, model, optimizer, schedule, rng, averaged, torch_states)
        state = processes.from_leader(state)
        log(
            f"epoch {epoch:>3}  loss {record['loss']:.4f}  dev P {scores['precision']:.4f} R {scores['recall']:.4f} "
            f"F1 {scores['f1']:.4f}{' *' if improved else '  '}  {record['train_tokens_per_second']:,.0f} tokens/s  "
            f"{seconds:.1f} s"
        )
    best = state["best"]
    if processes.leader:
        which = "last epoch's dev (trained on)" if config.trained_on_dev else "best dev"
        log(f"{which} {described(best)} at epoch {best['epoch']}; model in {output}")
        keep_entity_bias(output, dev_sentences, config.entity_bias, log)
        describe_run(output, log)
    return best


def epoch_bar(batches: list[list[int]], epoch: int, epochs: int) -> "_EpochBar":
    """A bar of the epoch's batches on standard error, where it is a terminal, that says ``(scoring dev)`` while
    the dev corpus is scored; gone when the epoch ends."""
    return _EpochBar(batches, f"epoch {epoch}/{epochs}")


class _EpochBar:
    """``epoch_bar``: a tqdm bar of ``batches`` (``description`` before it) that, once they are done, stays until
    ``close`` and says so (``epoch 3/40 (scoring dev): 100%|██████| 913/913 [00:30<00:00, ...]``)."""

    def __init__(self, batches: list[list[int]], description: str):
        from tqdm import tqdm

        self.batches, self.description = batches, description
        self.bar = tqdm(total=len(batches), desc=description, unit="batch", leave=False, disable=None,
                        file=sys.stderr)

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.batches:
            yield batch  # resumed once the step is done
            self.bar.update()
        self.bar.set_description_str(f"{self.description} (scoring dev)")

    def set_postfix(self, refresh: bool = True, **values) -> None:
        self.bar.set_postfix(refresh=refresh, **values)

    def close(self) -> None:
        self.bar.close()


def no_progress(batches: list[list[int]], epoch: int, epochs: int):
    """The epoch's batches, shown nowhere."""
    from tqdm import tqdm

    return tqdm(batches, disable=True)
