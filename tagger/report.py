"""What a model gets wrong on gold sentences: each error's kind, the confusion of types, the worst sentences.

Entity-level F1 counts an entity right only when its type and both its ends are;
this module says how the others went wrong. In each sentence, the entities
that gold and prediction share exactly are correct. Every other gold entity is
paired with the predicted entity, not yet paired, that overlaps it most (the
first of equals); each pair is one error:

- **wrong type**: the same tokens with another type;
- **wrong span**: the same type over other, overlapping tokens (a boundary error);
- **wrong type and span**: another type over other, overlapping tokens;

and what is left unpaired is one error each:

- **missed**: a gold entity that no predicted entity was paired with;
- **spurious**: a predicted entity that no gold entity was paired with.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import render
from .corpus import Sentence
from .schemes import Span, tags_to_spans
from .storage import write_atomically

KINDS = ("wrong type", "wrong span", "wrong type and span", "missed", "spurious")
NONE = "none"  # the type of what is not there: a missed entity's prediction, a spurious one's gold


@dataclass(frozen=True)
class EntityError:
    """One error: its kind (one of ``KINDS``) and the gold and predicted spans ``(type, start, end)`` involved."""

    kind: str
    gold: Span | None
    predicted: Span | None


@dataclass
class SentenceErrors:
    """A sentence's tokens, its gold and predicted entities, and its errors."""

    index: int  # in the corpus, from 0
    tokens: list[str]
    gold: list[Span]
    predicted: list[Span]
    errors: list[EntityError]


@dataclass
class ErrorReport:
    """A model's errors on a gold corpus.

    ``counts`` has each kind of ``KINDS`` and ``correct``; ``confusion[gold][predicted]``
    counts the pairs of the entity types of gold and prediction over the same or
    overlapping tokens, correct ones included, with ``NONE`` for missed and
    spurious entities; ``sentences`` are those with errors, most errors first.
    """

    counts: dict[str, int]
    confusion: dict[str, dict[str, int]]
    sentences: list[SentenceErrors] = field(repr=False)
    gold_entities: int = 0
    predicted_entities: int = 0


def sentence_errors(gold: Sequence[Span], predicted: Sequence[Span]) -> tuple[list[Span], list[EntityError]]:
    """The entities right in both, and the errors of the rest (see the module's docstring)."""
    exact = set(gold) & set(predicted)
    correct = [span for span in gold if span in exact]
    unpaired = [span for span in predicted if span not in exact]
    errors = []
    for g in (span for span in gold if span not in exact):
        overlaps = [(_overlap(g, p), -i) for i, p in enumerate(unpaired) if _overlap(g, p) > 0]
        if not overlaps:
            errors.append(EntityError("missed", g, None))
            continue
        p = unpaired.pop(-max(overlaps)[1])
        same_span, same_type = g[1:] == p[1:], g[0] == p[0]
        kind = "wrong type" if same_span else "wrong span" if same_type else "wrong type and span"
        errors.append(EntityError(kind, g, p))
    errors += [EntityError("spurious", None, p) for p in unpaired]
    return correct, errors


def _overlap(a: Span, b: Span) -> int:
    return max(0, min(a[2], b[2]) - max(a[1], b[1]))


def error_report(sentences: Sequence[Sentence], predicted_tags: Sequence[Sequence[str]]) -> ErrorReport:
    """The errors of ``predicted_tags`` (a tag list per sentence, any scheme) against the sentences' gold tags."""
    if len(sentences) != len(predicted_tags):
        raise ValueError(f"{len(predicted_tags)} predicted tag lists for {len(sentences)} sentences")
    counts: Counter[str] = Counter({kind: 0 for kind in ("correct", *KINDS)})
    confusion: dict[str, Counter[str]] = {}
    with_errors, gold_entities, predicted_entities = [], 0, 0
    for index, (sentence, tags) in enumerate(zip(sentences, predicted_tags)):
        gold, predicted = tags_to_spans(sentence.labels), tags_to_spans(tags)
        gold_entities, predicted_entities = gold_entities + len(gold), predicted_entities + len(predicted)
        correct, errors = sentence_errors(gold, predicted)
        counts["correct"] += len(correct)
        for span in correct:
            confusion.setdefault(span[0], Counter())[span[0]] += 1
        for error in errors:
            counts[error.kind] += 1
            gold_type = error.gold[0] if error.gold else NONE
            confusion.setdefault(gold_type, Counter())[error.predicted[0] if error.predicted else NONE] += 1
        if errors:
            with_errors.append(SentenceErrors(index, list(sentence.tokens), gold, predicted, errors))
    with_errors.sort(key=lambda s: (-len(s.errors), s.index))
    return ErrorReport(dict(counts), {gold: dict(row) for gold, row in confusion.items()}, with_errors,
                       gold_entities, predicted_entities)


@dataclass
class _Marked:
    """An entity as ``tagger.render`` reads it, flagged when it is part of an error."""

    label: str
    start_char: int
    end_char: int
    score: float | None = None
    flagged: bool = False


@dataclass
class _Shown:
    text: str
    entities: list[_Marked]


def _shown(tokens: Sequence[str], spans: Sequence[Span], flagged: set[Span], separator: str) -> _Shown:
    starts, at = [], 0
    for token in tokens:
        starts.append(at)
        at += len(token) + len(separator)
    ends = [start + len(token) for start, token in zip(starts, tokens)]
    return _Shown(separator.join(tokens),
                  [_Marked(label, starts[start], ends[end - 1], flagged=(label, start, end) in flagged)
                   for label, start, end in spans])


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = lambda row, tag: "".join(
        f'<{tag} class="number">{value:,}</{tag}>' if isinstance(value, int) else f"<{tag}>{html.escape(str(value))}</{tag}>"
        for value in row)
    return ("<table><tr>" + cells(header, "th") + "</tr>"
            + "".join("<tr>" + cells(row, "td") + "</tr>" for row in rows) + "</table>")


def report_html(report: ErrorReport, title: str, labels: Sequence[str] = (), worst: int = 50,
                separator: str = " ") -> str:
    """The report as a self-contained page: counts, confusion, and the ``worst`` sentences side by side.

    ``separator`` joins tokens into text (``""`` for a corpus of characters).
    """
    errors = sum(report.counts[kind] for kind in KINDS)
    body = [
        f"<p>{report.gold_entities:,} gold entities, {report.predicted_entities:,} predicted, "
        f"{report.counts['correct']:,} correct; {errors:,} errors in {len(report.sentences):,} sentences.</p>",
        "<h2>Errors by kind</h2>",
        _table(("kind", "count", "what it is"), [(kind, report.counts[kind], _MEANING[kind]) for kind in KINDS]),
        "<h2>Confusion of types</h2>",
        "<p>Rows: the gold entity's type; columns: the type of the predicted entity over the same or overlapping "
        f"tokens. {NONE!r} is a missed entity (column) or a spurious one (row).</p>",
    ]
    types = sorted(({t for row in report.confusion.values() for t in row} | set(report.confusion)) - {NONE})
    rows, columns = [*types, NONE], [*types, NONE]
    body.append(_table(("gold \\ predicted", *columns),
                       [(gold, *(report.confusion.get(gold, {}).get(p, 0) for p in columns)) for gold in rows]))
    shown = report.sentences[:worst]
    body.append(f"<h2>The {len(shown)} sentences with the most errors</h2>")
    body.append("<p>Entities that are part of an error are outlined in red.</p>")
    body.append('<table class="sentences"><tr><th>sentence</th><th>gold</th><th>predicted</th><th>errors</th></tr>')
    for sentence in shown:
        flagged_gold = {e.gold for e in sentence.errors if e.gold}
        flagged_predicted = {e.predicted for e in sentence.errors if e.predicted}
        gold = render.sentence_markup(_shown(sentence.tokens, sentence.gold, flagged_gold, separator))
        predicted = render.sentence_markup(_shown(sentence.tokens, sentence.predicted, flagged_predicted, separator))
        kinds = Counter(e.kind for e in sentence.errors)
        listed = "<br>".join(f"{count} {html.escape(kind)}" for kind, count in kinds.most_common())
        body.append(f'<tr><td class="number">{sentence.index + 1:,}</td><td>{gold}</td><td>{predicted}</td>'
                    f"<td>{listed}</td></tr>")
    body.append("</table>")
    return render.page(title, "\n".join(body), labels, style=_STYLE)


def write_report(report: ErrorReport, path: str | Path, title: str, labels: Sequence[str] = (), worst: int = 50,
                 separator: str = " ") -> None:
    """Write ``report_html`` to ``path`` (atomically: a reader never sees half a page)."""
    page = report_html(report, title, labels, worst, separator)
    write_atomically(Path(path), lambda temporary: temporary.write_text(page, encoding="utf-8"))


_MEANING = {
    "wrong type": "the right tokens, another type",
    "wrong span": "the right type, other tokens overlapping the gold entity",
    "wrong type and span": "another type, other tokens overlapping the gold entity",
    "missed": "a gold entity no prediction overlaps (or all that do were paired with another)",
    "spurious": "a predicted entity no gold entity overlaps (or all that do were paired with another)",
}

_STYLE = """
.tagger mark.flagged { outline: 2px solid #d00; }
.tagger table.sentences td { line-height: 2.4; max-width: 40em; }
"""
