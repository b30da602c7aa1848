"""Speed benchmark: ``python -m tagger.bench --data ../shared/corpora/conll2003``.

Prints a table of medians over ``--repeats`` runs: tagging throughput at batch
sizes 1, 32 and 256 and through the CLI, single-sentence latency, and training
throughput, each beside the model's own word-level ``nn.LSTM`` measured in the
same run on the same sentences (the floor a tagger cannot beat in fp32), with
the ratio between the two: the median over runs that each time the LSTM and the
tagger back to back, so both meet the same load. Machines differ by 3x and more,
so the ratios are the figures to compare; the CPU model is printed with them.

Without ``--model`` it benchmarks an untrained model of the default sizes with
a vocabulary built from eng.train (speed does not depend on the weights).
"""

from __future__ import annotations

import argparse
import itertools
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

from .api import Tagger
from .corpus import Sentence, document_contexts, document_ids, document_starts, read_corpus, read_lengths
from .encoding import CASINGS
from .errors import run_command
from .inference import decode_sentences, entity_scores
from torchcrf import CRF

from .model import BiLSTMCRF, Ensemble, ModelConfig, members_of
from .storage import save_config, save_weights
from .training import (Examples, TrainingConfig, WeightAverage, build_encoder, dev_scores, make_optimizer,
                       training_steps)


def cpu_description() -> str:
    model, flags = platform.processor() or "unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return f"{model} ({vector})"


def median_seconds(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def against(work: Callable[[], object], reference: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median seconds of ``work``, and the median over runs of reference seconds / work seconds.

    Each run times the two back to back, so the ratio compares them under the
    same load: on a shared machine it moves much less than either time does.
    """
    times, ratios = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        reference()
        middle = time.perf_counter()
        work()
        ended = time.perf_counter()
        times.append(ended - middle)
        ratios.append((middle - started) / (ended - middle))
    return statistics.median(times), statistics.median(ratios)


def bare_lstm_forward(lstms: Sequence[nn.LSTM], lengths: Sequence[int], batch_size: int) -> Callable[[], None]:
    """Forward passes of the LSTMs alone over length-sorted, padded batches of random inputs of these lengths.

    A model's word-level LSTMs: one, or one per member of an ensemble.
    """
    ordered = sorted(length for length in lengths if length)
    inputs = [
        torch.randn(len(chunk), max(chunk), lstms[0].input_size)
        for chunk in (ordered[i : i + batch_size] for i in range(0, len(ordered), batch_size))
    ]

    def run() -> None:
        with torch.inference_mode():
            for lstm in lstms:
                for features in inputs:
                    lstm(features)

    return run


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagger.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True,
                        help="folder with eng.train and eng.testb (and eng.testa, for an epoch with its dev scoring)")
    parser.add_argument("--model", type=Path,
                        help="model directory, e.g. tagger/models/en-conll03 (default: an untrained model of the "
                        "default sizes)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--train-sentences", type=int, default=2000,
                        help="training sentences timed per run, from the start of eng.train (0: all of it)")
    parser.add_argument("--stream-mb", type=int, default=0,
                        help="also tag a file of this many MB (eng.testb repeated) with tag.py, once, and report "
                        "its peak memory (0: skip)")
    parser.add_argument("--no-cli", action="store_true",
                        help="leave out the rows that start new processes (tag.py, start-up, --stream-mb): time "
                        "the Python API and training alone")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows: list[tuple[str, str, str, str]] = []

    test_sentences = read_corpus(args.data / "eng.testb")
    test = [s.tokens for s in test_sentences]
    tokens = sum(map(len, test))
    with tempfile.TemporaryDirectory() as scratch:
        # eng.train is read after the tagging rows (unless it builds the model): a tagging process
        # does not hold a training corpus, whose objects would slow Python's garbage collector.
        model_dir = args.model or _untrained_model(read_corpus(args.data / "eng.train"), Path(scratch))
        tagger = Tagger.load(model_dir)
        # The floor is the model's own word-level LSTMs: one per member for an ensemble.
        networks = members_of(tagger.model)
        lstm = [nn.LSTM(network.lstm.input_size, network.lstm.hidden_size, batch_first=True,
                        bidirectional=True).eval() for network in networks]
        # A model trained with document context reads each sentence with its context: its LSTM's
        # work, and so the floor, is over those longer sequences. One with document memory reads
        # whole documents (in batches of whole documents, padded to their longest sentence).
        reads_documents = tagger.context or tagger.model.config.document_memory
        starts = document_starts(test_sentences) if reads_documents else None
        lengths = read_lengths(test, document_contexts(test, starts, tagger.context) if tagger.context else None)

        bare_floor = bare_lstm_forward(lstm, lengths, 256)
        floor = median_seconds(bare_floor, args.repeats)
        note = f"over the sentences with their context ({sum(lengths):,} tokens)" if tagger.context else ""
        if len(networks) > 1:
            note = f"{len(networks)} LSTMs, one per ensemble member {note}".strip()
        rows.append(("bare nn.LSTM forward, batch 256", f"{tokens / floor:,.0f} tokens/s", "1.00", note))
        if tagger.context:
            alone = median_seconds(bare_lstm_forward(lstm, list(map(len, test)), 256), args.repeats)
            rows.append(("bare nn.LSTM forward, sentences alone", f"{tokens / alone:,.0f} tokens/s",
                         f"{floor / alone:.2f}", "without context"))
        for batch_size in (256, 32, 1):
            sentences = test if batch_size > 1 else test[:300]
            in_documents = starts if batch_size > 1 else None
            n = sum(map(len, sentences))
            seconds, ratio = against(
                lambda: tagger.tag_batch(sentences, batch_size=batch_size, document_starts=in_documents),
                bare_floor if batch_size == 256 else bare_lstm_forward(
                    lstm, lengths if batch_size > 1 else list(map(len, sentences)), batch_size),
                args.repeats)
            rows.append((f"Tagger.tag_batch, batch {batch_size}", f"{n / seconds:,.0f} tokens/s", f"{ratio:.2f}",
                         "" if batch_size > 1 else f"first {len(sentences)} sentences, each alone"))

        def cold() -> None:  # a tagger that has not seen any of the words yet
            tagger.clear_cache()
            tagger.tag_batch(test, document_starts=starts)

        seconds, ratio = against(cold, bare_floor, args.repeats)
        rows.append(("Tagger.tag_batch, batch 256, cold", f"{tokens / seconds:,.0f} tokens/s", f"{ratio:.2f}",
                     "no word's character features cached yet"))

        seconds, ratio = against(lambda: tagger.predict(test, scores=False, document_starts=starts), bare_floor,
                                 args.repeats)
        rows.append(("Tagger.predict, batch 256, scores off", f"{tokens / seconds:,.0f} tokens/s", f"{ratio:.2f}",
                     "tags only: no probabilities"))

        rows += _spacy_rows(tagger, test, document_starts(test_sentences), bare_floor, args.repeats)

        sentence = (test[0] * 20)[:20]
        bare_sentence = bare_lstm_forward(lstm, [20], 1)
        latency, ratio = against(lambda: tagger.tag(sentence), bare_sentence, max(50, args.repeats))
        lstm_latency = median_seconds(bare_sentence, max(50, args.repeats))
        rows.append(("Tagger.tag, one 20-token sentence", f"{latency * 1000:.2f} ms", f"{ratio:.2f}",
                     f"bare LSTM {lstm_latency * 1000:.2f} ms; its words' char features cached"))

        variants = {"--quantize": ({"quantize": True}, "int8 LSTM and linear layers"),
                    "--onnx": ({"onnx": True}, "the LSTM in ONNX Runtime"),
                    "--onnx --quantize": ({"onnx": True, "quantize": True}, "ONNX Runtime's int8 LSTM")}
        variant_taggers = {}
        for flags, (options, what) in variants.items():
            variant = variant_taggers[flags] = Tagger.load(model_dir, **options)
            seconds, ratio = against(lambda: variant.tag_batch(test, document_starts=starts), bare_floor, args.repeats)
            rows.append((f"Tagger.tag_batch, batch 256, {flags}", f"{tokens / seconds:,.0f} tokens/s", f"{ratio:.2f}",
                         what))
            if "onnx" in options:
                latency, ratio = against(lambda: variant.tag(sentence), bare_sentence, max(50, args.repeats))
                rows.append((f"Tagger.tag, one sentence, {flags}", f"{latency * 1000:.2f} ms", f"{ratio:.2f}", ""))
        if args.model:
            gold = [s.labels for s in read_corpus(args.data / "eng.testb")]
            f1 = entity_scores(gold, [r.tags for r in tagger.predict(test, scores=False, document_starts=starts)])["f1"]
            for flags, variant in variant_taggers.items():
                variant_f1 = entity_scores(
                    gold, [r.tags for r in variant.predict(test, scores=False, document_starts=starts)])["f1"]
                rows.append((f"eng.testb F1, {flags}", f"{f1:.4f} -> {variant_f1:.4f}", "",
                             f"change {100 * (variant_f1 - f1):+.2f} points"))
            same, differing = _agreement_with_straightforward_path(tagger, test, starts)
            rows.append(("same tags as the straightforward path", f"{same:,} / {len(test):,}", "",
                         "sentences; " + (f"first differing: sentence {differing}" if differing is not None
                                          else "all identical")))

        if not args.no_cli:
            rows += _cli_rows(model_dir, args.data / "eng.testb", tokens, floor, args.repeats, args.stream_mb,
                              Path(scratch))
        dev = read_corpus(args.data / "eng.testa") if (args.data / "eng.testa").exists() else None
        rows += _training_rows(tagger, read_corpus(args.data / "eng.train"), dev, args.train_sentences,
                               args.repeats)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"CPU: {cpu_description()}, {args.threads} threads, torch {torch.__version__}; "
          f"medians of {args.repeats} runs; peak RSS {peak:,.0f} MB")
    width = max(len(row[0]) for row in rows)
    print(f"{'what':<{width}} {'speed':>18} {'vs LSTM':>8}  note")
    for what, speed, ratio, note in rows:
        print(f"{what:<{width}} {speed:>18} {ratio:>8}  {note}")
    return 0


def _spacy_rows(tagger: Tagger, test: Sequence[Sequence[str]], starts: Sequence[bool],
                bare_floor: Callable[[], None], repeats: int) -> list[tuple[str, str, str, str]]:
    """The spaCy pipeline component over the test corpus's documents as Docs, where spaCy is installed."""
    try:
        from spacy.tokens import Doc
        from spacy.vocab import Vocab

        from .integrations.spacy import EntityTagger
    except ImportError:
        return []
    vocab, docs = Vocab(), []
    for _, group in itertools.groupby(zip(document_ids(starts), test), key=lambda pair: pair[0]):
        sentences = [tokens for _, tokens in group]
        docs.append(Doc(vocab, words=[token for tokens in sentences for token in tokens],
                        sent_starts=[k == 0 for tokens in sentences for k in range(len(tokens))]))
    component = EntityTagger(tagger)
    seconds, ratio = against(lambda: list(component.pipe(docs)), bare_floor, repeats)
    tokens = sum(map(len, test))
    return [("spaCy component, nlp.pipe", f"{tokens / seconds:,.0f} tokens/s", f"{ratio:.2f}",
             f"bilstm_crf_ner over the {len(docs)} documents as Docs")]


def _cli_rows(model_dir: Path, test_file: Path, tokens: int, floor: float, repeats: int, stream_mb: int,
              scratch: Path) -> list[tuple[str, str, str, str]]:
    """The rows timed in new processes: ``tag.py`` on ``test_file`` (``tokens`` tokens; ``floor``: the bare
    LSTM's seconds on them), start-up, and a file of ``stream_mb`` MB streamed through ``tag.py`` (0: not)."""
    rows: list[tuple[str, str, str, str]] = []
    output = scratch / "tagged.conll"
    command = [sys.executable, "-m", "tagger.cli", "--model", str(model_dir), str(test_file),
               "--output", str(output)]
    cli = median_seconds(lambda: subprocess.run(command, check=True), max(1, repeats // 2))
    child_peak = _cli_peak_mb(command[3:])
    start_up = _cli_start_up_seconds(model_dir, scratch, max(1, repeats // 2))
    rows.append(("tag.py eng.testb --output FILE", f"{tokens / cli:,.0f} tokens/s", f"{floor / cli:.2f}",
                 f"{cli:.2f} s with start-up; peak RSS {child_peak:,.0f} MB"))
    rows.append(("tag.py start-up", f"{start_up:.2f} s", "",
                 "tag.py on a one-token file: Python, imports, loading the model, writing"))

    rows += _start_up_rows(model_dir, repeats)
    if stream_mb:
        rows.append(_streaming_row(model_dir, test_file, stream_mb, scratch, start_up, tokens / floor))
    return rows


def _start_up_rows(model_dir: Path, repeats: int) -> list[tuple[str, str, str, str]]:
    """Seconds to load the model once torch is imported, and for ``tag.py --help``, each in a new process."""
    load = ("import time, torch; started = time.perf_counter(); from tagger import Tagger; "
            f"Tagger.load({str(model_dir)!r}); print(time.perf_counter() - started)")
    loads = [float(subprocess.run([sys.executable, "-c", load], check=True, capture_output=True, text=True).stdout)
             for _ in range(_new_processes(repeats))]
    help_command = [sys.executable, "-m", "tagger.cli", "--help"]  # what tag.py runs
    help_seconds = median_seconds(lambda: subprocess.run(help_command, check=True, capture_output=True),
                                  _new_processes(repeats))
    return [("loading the model, after import torch", f"{statistics.median(loads):.2f} s", "",
             "new process; tagger's own imports included"),
            ("tag.py --help", f"{help_seconds:.2f} s", "", "python -m tagger.cli --help; Python start-up included")]


def _new_processes(repeats: int) -> int:
    """How many times to time a new process: each costs Python's and torch's start-up (3 at the default --repeats)."""
    return max(1, (repeats + 1) // 2)


def _agreement_with_straightforward_path(tagger: Tagger, test: Sequence[Sequence[str]],
                                         starts: Sequence[bool] | None) -> tuple[int, int | None]:
    """How many sentences the fast path tags exactly as the plain one does, and the first that differs.

    Plain: one sentence at a time (with its context), the bidirectional LSTM over
    the whole sequence, pytorch-crf's own ``CRF.decode``; for a model with
    document memory, one document at a time (its sentences in one batch).
    Fast: what ``Tagger`` runs (batches of one length or of whole documents,
    each LSTM direction on its side, NumPy Viterbi), unconstrained like ``CRF.decode``.
    """
    contexts = document_contexts(test, starts, tagger.context) if tagger.context else None
    model, encoder, names = tagger.model, tagger.encoder, tagger.encoder.tags.names
    memory = model.config.document_memory
    documents = document_ids(starts) if memory and starts is not None else list(range(len(test)))
    fast = [r.tags for r in decode_sentences(model, encoder, test, constrained=False, contexts=contexts,
                                             documents=documents if memory else None)]
    plain: dict[int, list[str]] = {}
    crf = CRF(len(names), batch_first=True)  # pytorch-crf's layer with the model's tables (an ensemble's mean ones)
    with torch.inference_mode():
        for name in ("start_transitions", "end_transitions", "transitions"):
            getattr(crf, name).copy_(getattr(model.crf, name))
        for document in itertools.groupby(range(len(test)), key=documents.__getitem__):
            indices = [i for i in document[1] if test[i]] if memory else list(document[1])
            if not indices:
                continue
            read = [[*contexts[i][0], *test[i], *contexts[i][1]] if contexts else test[i] for i in indices]
            emissions = model.emissions(encoder.batch(read, documents=[0] * len(read) if memory else None))
            for row, i in enumerate(indices):
                start = len(contexts[i][0]) if contexts else 0
                sentence = emissions[row : row + 1, start : start + len(test[i])]
                everything = torch.ones(sentence.shape[:2], dtype=torch.bool)
                plain[i] = [names[k] for k in crf.decode(sentence, everything)[0]]
    differing = [i for i in range(len(test)) if plain.get(i, []) != fast[i]]
    return len(test) - len(differing), differing[0] if differing else None


def _cli_start_up_seconds(model_dir: Path, scratch: Path, repeats: int) -> float:
    """Seconds ``tag.py`` takes on a one-token file: what it spends before and after tagging any amount."""
    tiny, output = scratch / "one-token.conll", scratch / "one-token-tagged.conll"
    tiny.write_text("Paris\n")
    command = [sys.executable, "-m", "tagger.cli", "--model", str(model_dir), str(tiny), "--output", str(output)]
    return median_seconds(lambda: subprocess.run(command, check=True), repeats)


def _streaming_row(model_dir: Path, corpus: Path, megabytes: int, scratch: Path, start_up: float,
                   floor_rate: float) -> tuple[str, str, str, str]:
    """tag.py over a big file made of copies of ``corpus``: tokens/s, and the peak memory of that process.

    The ratio is the rate once started (``start_up`` seconds taken off) to ``floor_rate``,
    the bare LSTM's tokens/s over ``corpus``.
    """
    big, output = scratch / "big.conll", scratch / "big-tagged.conll"
    text = corpus.read_bytes()
    with open(big, "wb") as stream:
        for _ in range(max(1, megabytes * 2**20 // len(text))):
            stream.write(text)
    tokens = sum(1 for line in big.open(encoding="utf-8") if line.strip() and not line.startswith("-DOCSTART-"))
    started = time.perf_counter()
    peak = _cli_peak_mb(["--model", str(model_dir), str(big), "--output", str(output)])
    seconds = time.perf_counter() - started
    size = big.stat().st_size / 2**20
    big.unlink()
    output.unlink()
    started_rate = tokens / max(seconds - start_up, 1e-9)
    return (f"tag.py on {size:,.0f} MB ({tokens:,} tokens)", f"{tokens / seconds:,.0f} tokens/s",
            f"{started_rate / floor_rate:.2f}",
            f"{seconds:.0f} s; {started_rate:,.0f} tokens/s once started; peak RSS {peak:,} MB")


# Run in a new process: the CLI, then its peak memory. VmHWM is the peak of the process's own
# memory since it started Python; getrusage's ru_maxrss would also count the benchmark's memory,
# which the child shares between fork and exec.
_CLI_WITH_PEAK = """import resource, sys
from tagger.cli import main
main(sys.argv[1:])
try:
    peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(peak // 1024, file=sys.stderr)
"""


def _cli_peak_mb(arguments: list[str]) -> int:
    """Run ``tag.py ARGUMENTS`` in a new process; its peak resident memory in MB."""
    done = subprocess.run([sys.executable, "-c", _CLI_WITH_PEAK, *arguments], check=True, capture_output=True,
                          text=True)
    return int(done.stderr.strip().splitlines()[-1])


def _untrained_model(train, directory: Path) -> Path:
    """A model of the default sizes with 50-d word vectors (as with GloVe 6B 50-d)."""
    encoder = build_encoder(train, None, TrainingConfig())
    config = ModelConfig(len(encoder.words), len(encoder.chars), len(CASINGS), len(encoder.tags), word_dim=50)
    save_config(directory, config, encoder, tag_scheme="BIOES")
    save_weights(directory, BiLSTMCRF(config))
    return directory


def _training_rows(tagger: Tagger, train: Sequence[Sentence], dev: Sequence[Sentence] | None,
                   train_sentences: int, repeats: int) -> list[tuple[str, str, str, str]]:
    """Training steps over the first sentences of ``train``, vs the bare LSTM's; with ``dev``, an epoch with its scoring.

    The steps are the training loop's own (``tagger.training.training_steps``), as
    the model was trained: its batch size, optimizer, clipping and weight average
    (for an ensemble, those of one member: each is trained on its own).
    ``train_sentences`` 0 times all of ``train``.
    """
    config = TrainingConfig(**tagger.config.get("training", {}))
    sentences = [s for s in train if len(s)]
    timed = sentences[:train_sentences] if train_sentences else sentences
    trained = members_of(tagger.model)[0]
    encoder, model = tagger.encoder, BiLSTMCRF(trained.config)
    model.load_state_dict(trained.state_dict())
    optimizer = make_optimizer(model.parameters(), config)
    averaged = WeightAverage(model, config.average) if config.average else None
    examples = Examples.of(timed, model.config, config.tag_scheme)
    batches = examples.batches(config.batch_size, random.Random(0))
    lengths = examples.lengths()
    n = sum(map(len, examples.tokens))

    def epoch() -> None:
        for _ in training_steps(model, encoder, optimizer, examples, batches, config, averaged):
            pass

    lstm = nn.LSTM(model.lstm.input_size, model.lstm.hidden_size, batch_first=True, bidirectional=True)
    inputs = [torch.randn(len(b), max(lengths[i] for i in b), lstm.input_size) for b in batches]

    def bare() -> None:
        for features in inputs:
            lstm(features)[0].sum().backward()

    repeats = max(1, repeats // 2)
    floor = median_seconds(bare, repeats)
    seconds, ratio = against(epoch, bare, repeats)
    scale = sum(len(s) for s in sentences) / n  # from the timed sentences to all of ``train``
    members = f", for each of the {len(members_of(tagger.model))} members" if isinstance(tagger.model, Ensemble) else ""
    rows = [
        (f"bare nn.LSTM forward+backward, batch {config.batch_size}", f"{n / floor:,.0f} tokens/s", "1.00", ""),
        (f"training, batch {config.batch_size}", f"{n / seconds:,.0f} tokens/s", f"{ratio:.2f}",
         f"eng.train epoch ~{seconds * scale:.0f} s (without dev scoring){members}"),
    ]
    if dev is not None:
        scored = model if averaged is None else averaged.module  # what the loop scores each epoch
        scoring = median_seconds(lambda: dev_scores(scored, encoder, dev), repeats)
        epoch_seconds = seconds * scale + scoring
        rows.append(("training epoch with dev scoring", f"{epoch_seconds:.1f} s", f"{floor * scale / epoch_seconds:.2f}",
                     f"the row above over all of eng.train, plus scoring eng.testa ({scoring:.2f} s){members}"))
    return rows


if __name__ == "__main__":
    sys.exit(run_command(main))
