"""What a finished training run leaves for people beside the model: ``curves.png`` and a ``README.md`` model card.

Both are drawn from the model directory alone (``config.json``, ``metrics.jsonl``,
an ensemble's ``members/K/metrics.jsonl``, and ``test.json`` when a test corpus
was scored), so they can be written again at any time: ``write_card(directory)``.
The card follows Hugging Face's model cards: what the model is, its data, how it
was trained, its scores, and what it is for and not for. The curves need
matplotlib (the ``plots`` extra); without it the card says how to get them.
"""

from __future__ import annotations

import datetime
import json
import platform
from collections.abc import Sequence
from pathlib import Path

import torch

from .corpus import CHARACTERS, CHARACTERS_AND_SPACES, WORDS
from .errors import counted
from .schemes import UNTYPED, entity_types
from .storage import CONFIG_FILE, METRICS_FILE, write_atomically
from .version import __version__

CARD_FILE = "README.md"
CURVES_FILE = "curves.png"
TEST_FILE = "test.json"


def read_metrics(directory: Path) -> list[dict]:
    """The epoch records of a run's ``metrics.jsonl`` (an ensemble's own file has none: see ``member_runs``)."""
    path = directory / METRICS_FILE
    if not path.is_file():
        return []
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [record for record in records if "epoch" in record]


def member_runs(directory: Path) -> list[list[dict]]:
    """Each network's epoch records: the run's own, or each ensemble member's (``members/1``, ``members/2``, ...)."""
    own = read_metrics(directory)
    if own:
        return [own]
    members = sorted((directory / "members").glob("*"), key=lambda path: int(path.name) if path.name.isdigit() else 0)
    return [runs for runs in (read_metrics(member) for member in members) if runs]


def kept_record(records: Sequence[dict], trained_on_dev: bool = False) -> dict:
    """The epoch record of the weights a network's run kept: the best dev F1, or the last where the dev corpus
    was trained on (``TrainingConfig.trained_on_dev``)."""
    return records[-1] if trained_on_dev else max(records, key=lambda record: record["dev_f1"])


def _trained_on_dev(directory: Path) -> bool:
    config = directory / CONFIG_FILE
    return config.is_file() and bool(
        json.loads(config.read_text(encoding="utf-8")).get("training", {}).get("trained_on_dev"))


# Types drawn one line each (matplotlib's colour cycle has ten colours); more are drawn as their
# mean and range, their F1s being in the card.
MOST_TYPES_DRAWN = 10


def write_curves(directory: Path) -> Path | None:
    """Draw ``curves.png``: training loss, dev precision/recall/F1 and each type's dev F1, per epoch.

    Returns its path, or None when matplotlib is not installed or there is nothing to draw.
    """
    try:
        from matplotlib.figure import (
            Figure,  # not pyplot: a notebook's backend stays as it was
        )
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        return None
    runs = member_runs(directory)
    if not runs:
        return None
    trained_on_dev = _trained_on_dev(directory)
    figure = Figure(figsize=(15, 4.2), layout="constrained")
    loss, scores, types = figure.subplots(1, 3)
    several = len(runs) > 1
    for k, records in enumerate(runs, start=1):
        epochs = [record["epoch"] for record in records]
        name = f"network {k} " if several else ""
        loss.plot(epochs, [record["loss"] for record in records], marker=".", label=f"network {k}" if several else None)
        for metric, style in (("f1", "-"), ("precision", "--"), ("recall", ":")):
            if not several or metric == "f1":
                scores.plot(epochs, [record[f"dev_{metric}"] for record in records], style, marker=".",
                            label=f"{name}{'F1' if metric == 'f1' else metric}")
        best = kept_record(records, trained_on_dev)
        scores.plot([best["epoch"]], [best["dev_f1"]], "k*", markersize=12)
    labels = sorted({t for record in runs[0] for t in record.get("dev_type_f1", {})})
    epochs = [record["epoch"] for record in runs[0]]
    by_type = [[record.get("dev_type_f1", {}).get(label, 0.0) for record in runs[0]] for label in labels]
    if len(labels) <= MOST_TYPES_DRAWN:
        for label, f1s in zip(labels, by_type):
            types.plot(epochs, f1s, marker=".", label=label)
        title = "dev F1 of each type"
    else:  # more lines than the colour cycle has colours, and a legend taller than the figure
        types.fill_between(epochs, [min(f1s) for f1s in zip(*by_type)], [max(f1s) for f1s in zip(*by_type)],
                           alpha=0.25, label="lowest to highest")
        types.plot(epochs, [sum(f1s) / len(f1s) for f1s in zip(*by_type)], marker=".", label="mean")
        title = f"dev F1 of the {len(labels)} types"
    loss.set(title="training loss (mean per batch)", xlabel="epoch")
    scores.set(title="dev scores" + (", dev trained on" if trained_on_dev else "") + " (★ the kept epoch)",
               xlabel="epoch", ylim=(0, 1))
    types.set(title=title + (" (network 1)" if several else ""), xlabel="epoch", ylim=(0, 1))
    for axes in (loss, scores, types):
        axes.grid(alpha=0.3)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize="small")
    path = directory / CURVES_FILE
    write_atomically(path, lambda temporary: figure.savefig(temporary, format="png", dpi=100))
    return path


def _named_types(labels: Sequence[str]) -> str:
    """The entity types as the card lists them, the type of tags written without one (``B``, ``I``) said so."""
    return ", ".join(f"{label} (tags without a type: B, I)" if label == UNTYPED else label
                     for label in labels) or "none"


def write_test_scores(directory: Path, gold: str, precision: float, recall: float, f1: float,
                      types: dict[str, dict[str, float]]) -> None:
    """Keep the kept model's scores on a test corpus in ``test.json``, for the card."""
    record = {"gold": str(gold), "precision": precision, "recall": recall, "f1": f1, "types": types}
    write_atomically(directory / TEST_FILE,
                     lambda temporary: temporary.write_text(json.dumps(record, indent=1), encoding="utf-8"))


def describe_run(directory: Path, log=print) -> None:
    """Draw the curves and write the card of a finished run (saying how to get the curves if they cannot be drawn)."""
    if write_curves(directory) is None and member_runs(directory):
        log("curves.png needs matplotlib: pip install 'tagger[plots]'")
    write_card(directory)


def write_card(directory: Path) -> Path:
    """Write the ``README.md`` model card from what the directory holds; returns its path."""
    config = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
    test_path = directory / TEST_FILE
    test = json.loads(test_path.read_text(encoding="utf-8")) if test_path.is_file() else None
    card = model_card(directory, config, member_runs(directory), test, (directory / CURVES_FILE).is_file())
    path = directory / CARD_FILE
    write_atomically(path, lambda temporary: temporary.write_text(card, encoding="utf-8"))
    return path


def model_card(directory: Path, config: dict, runs: Sequence[Sequence[dict]], test: dict | None,
               has_curves: bool) -> str:
    """The text of the model card (Markdown)."""
    training, network = config.get("training", {}), config.get("model", {})
    labels = entity_types(config["encoder"]["tags"]["names"])
    members = int(config.get("members", 1))
    tokenization = config.get("tokenization", WORDS)
    lines = [
        f"# {directory.resolve().name}",
        "",
        f"A named-entity tagger (BiLSTM-CRF) trained with tagger {config.get('tagger_version', __version__)}"
        + (f" from the recipe `{config['recipe']}`" if config.get("recipe") else "")
        + (f": an ensemble of {members} networks that tags with their mean scores." if members > 1 else "."),
        "",
        f"- **Entity types**: {_named_types(labels)}",
        f"- **Tags**: trained in {config.get('tag_scheme', 'BIOES')}; written in "
        f"{config.get('input_scheme') or 'IOB2'}, the scheme of its training corpus (a CoNLL file with tags, such "
        "as a gold file, in the scheme of its tags; `tag.py --scheme` for another)",
        "- **Tokens**: " + {CHARACTERS: "characters (text is split into characters)",
                            CHARACTERS_AND_SPACES: "characters and the spaces between words (text is split into "
                                                   "characters, each run of whitespace inside a sentence a token)",
                            }.get(tokenization, "words (text is tokenized as CoNLL-2003 is)"),
        f"- **Words** known: {len(config['encoder']['words']['names']):,}",
        *([f"- **Token pairs** known (bigrams beside each token): {len(config['encoder']['bigrams']['names']):,}"]
          if "bigrams" in config["encoder"] else []),
        "",
        "```bash",
        f"python tag.py --model {directory} --format inline -",
        "```",
        "",
        "```python",
        "from tagger import Tagger",
        f"Tagger.load({str(directory)!r}).tag(\"...\")",
        "```",
        "",
        "## Training data",
        "",
    ]
    data = config.get("data") or {}
    if data.get("train"):
        lines += ["| corpus | source | size | sha256 |", "| --- | --- | --- | --- |"]
        for split in ("train", "dev"):
            record = data.get(split)
            if record:
                named = "dev, trained on too" if split == "dev" and training.get("trained_on_dev") else split
                lines.append(f"| {named} | `{record['path']}` | {_size(record)} | "
                             f"{_value(record.get('sha256'))} |")
        if not data.get("dev"):
            lines.append(f"| dev | {training.get('dev_fraction', 0):.0%} of the training corpus, held out | | |")
    else:
        lines.append("The corpora were given from Python, so their files are not recorded.")
    lines += ["", "## Training options", "", "| option | value |", "| --- | --- |"]
    lines += [f"| {name} | {_value(value)} |" for name, value in training.items()]
    lines += [f"| {name} | {_value(value)} |" for name, value in network.items()
              if name not in ("num_words", "num_chars", "num_casings", "num_tags")]
    lines += ["", "## Scores", ""]
    lines += _dev_scores(runs, members, bool(training.get("trained_on_dev")))
    lines += _entity_bias(config)
    lines += [""] + _test_scores(test) + [""]
    lines += ["## Training time and machine", ""]
    for k, records in enumerate(runs, start=1):
        if records:
            seconds = sum(record["seconds"] for record in records)
            lines.append(f"- {'network ' + str(k) + ': ' if len(runs) > 1 else ''}{len(records)} epochs in "
                         f"{seconds / 60:.1f} minutes ({seconds / len(records):.1f} s an epoch with dev scoring, "
                         f"{_mean(records, 'train_tokens_per_second'):,.0f} training tokens/s)")
    lines += [
        f"- machine: {_cpu()}, {counted(torch.get_num_threads(), 'thread')}; torch {torch.__version__}, "
        f"Python {platform.python_version()}",
        f"- card written {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        "",
    ]
    if has_curves:
        lines += ["![training loss and dev scores per epoch](curves.png)", ""]
    else:
        lines += ["`curves.png` (loss and dev scores per epoch) is drawn when matplotlib is installed: "
                  "`pip install 'tagger[plots]'`.", ""]
    train_name = data.get("train", {}).get("path") if data.get("train") else None
    lines += [
        "## Intended use and limits",
        "",
        f"- It finds the entity types {_named_types(labels)} and no others, in text like its training corpus"
        + (f" (`{Path(train_name).name}`)" if train_name else "")
        + ": the same language, domain and annotation guidelines. Expect lower scores on other kinds of text.",
        ("- It was trained on its dev corpus too, so its dev scores say little of new text"
         if training.get("trained_on_dev") else
         "- The dev corpus chose the kept epoch, so dev scores are a little optimistic")
        + "; the test scores, when there are any, are the estimate for new text of the same kind.",
        "- Entity scores are probabilities under the model; they are calibrated only after "
        "`python -m tagger.calibration --write` (temperature " + f"{config.get('temperature', 1.0):g} now).",
        "- It reads " + {CHARACTERS: "characters; whitespace is dropped.",
                         CHARACTERS_AND_SPACES: "characters, and the spaces between words as tokens; text written "
                                                "without its spaces may score lower.",
                         }.get(tokenization, "text tokenized as CoNLL-2003 is; input tokenized otherwise may score "
                               "lower."),
        "",
    ]
    return "\n".join(lines)


def _dev_scores(runs: Sequence[Sequence[dict]], members: int, trained_on_dev: bool = False) -> list[str]:
    if not runs or not runs[0]:
        return ["No epoch has been trained."]
    lines = []
    if trained_on_dev:
        lines += ["The dev corpus is part of its training data (`train.py --with-dev`), so its dev scores are of "
                  "text it was trained on. The run that chose its epochs and entity bias on dev, and its dev scores, "
                  "are in `selection/`.", ""]
    for k, records in enumerate(runs, start=1):
        best = kept_record(records, trained_on_dev)
        name = f"Network {k}, dev" if len(runs) > 1 else "Dev"
        lines.append(f"{name} (epoch {best['epoch']} of {len(records)}, the kept one): precision "
                     f"{best['dev_precision']:.4f}, recall {best['dev_recall']:.4f}, F1 {best['dev_f1']:.4f}")
        lines.append("")
        by_type = best.get("dev_type_f1", {})
        if by_type and k == 1:
            # A blank line ends the table, which would take the next network's line as a row.
            lines += ["| type | dev F1 |", "| --- | --- |", *(f"| {t} | {f1:.4f} |" for t, f1 in by_type.items()), ""]
    if members > 1:
        lines += ["", "The ensemble's own dev scores are the last line of `metrics.jsonl`."]
    return lines


def _entity_bias(config: dict) -> list[str]:
    dev = config.get("entity_bias_dev")
    if not dev:
        return []
    return ["", f"It tags with an entity bias of {config.get('entity_bias', 0.0):g} (added to the score of every "
            f"tag but O; `tag.py --entity-bias` for another): dev precision {dev['precision']:.4f}, "
            f"recall {dev['recall']:.4f}, F1 {dev['f1']:.4f}", ""]


def _test_scores(test: dict | None) -> list[str]:
    if test is None:
        return ["No test corpus was scored (`train.py --test GOLD`, or `tag.py --model DIR --eval GOLD`)."]
    lines = [f"Test, `{test['gold']}`: precision {test['precision']:.4f}, recall {test['recall']:.4f}, "
             f"F1 {test['f1']:.4f}", "", "| type | precision | recall | F1 | entities |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {t} | {row['precision']:.4f} | {row['recall']:.4f} | {row['f1']:.4f} | {int(row['support'])} |"
              for t, row in test["types"].items()]
    return lines


def _size(record: dict) -> str:
    return "" if record.get("bytes") is None else f"{record['bytes']:,} bytes"


def _value(value: object) -> str:
    return "–" if value is None else f"`{value}`"


def _mean(records: Sequence[dict], key: str) -> float:
    values = [record[key] for record in records if key in record]
    return sum(values) / len(values) if values else 0.0


def _cpu() -> str:
    """The CPU's model name (Linux's ``/proc/cpuinfo``), or what Python knows of it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
