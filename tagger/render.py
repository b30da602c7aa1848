"""HTML markup of tagged text: entities highlighted by type, as displaCy shows spaCy's.

Everything here is self-contained markup (styles inline or in one ``<style>``
element, no scripts, fonts or files from elsewhere), so a page works offline and
a fragment shows as it is in a Jupyter notebook. It reads any object with
``text`` and ``entities`` (``start_char``, ``end_char``, ``label``, ``score``),
as ``tagger.api.TaggedSentence`` has them.
"""

from __future__ import annotations

import colorsys
import zlib
from collections.abc import Iterable, Sequence
from html import escape
from typing import Protocol

# The types most corpora have, in displaCy's colours; other types get a colour of their name (``type_colour``).
COLOURS = {
    "PER": "#aa9cfc", "PERSON": "#aa9cfc",
    "ORG": "#7aecec",
    "LOC": "#ff9561", "GPE": "#feca74",
    "MISC": "#c887fb", "NORP": "#c887fb",
    "DATE": "#bfe1d9", "TIME": "#bfe1d9",
    "MONEY": "#e4e7d2", "PERCENT": "#e4e7d2", "QUANTITY": "#e4e7d2", "CARDINAL": "#e4e7d2",
    "PRODUCT": "#bfeeb7", "EVENT": "#ffeb80", "WORK_OF_ART": "#f0d0ff", "LAW": "#ff8197", "FAC": "#9cc9cc",
}

STYLE = """
.tagger { font-family: sans-serif; line-height: 2.4; }
.tagger .sentence { margin: 0 0 0.6em 0; }
.tagger .document { border-top: 1px solid #ccc; margin-top: 1em; padding-top: 1em; }
.tagger mark { padding: 0.2em 0.35em; margin: 0 0.1em; border-radius: 0.35em; line-height: 1; }
.tagger mark .label { font-size: 0.7em; font-weight: bold; text-transform: uppercase; margin-left: 0.4em;
  vertical-align: middle; }
.tagger .legend { margin-bottom: 1em; }
.tagger table { border-collapse: collapse; margin: 0.5em 0 1.5em 0; line-height: 1.4; }
.tagger th, .tagger td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
.tagger td.number { text-align: right; }
"""


DOCUMENT_BREAK = '<div class="document"></div>'  # a rule between documents


class _Entity(Protocol):
    label: str
    start_char: int
    end_char: int
    score: float | None


class Tagged(Protocol):
    """What the renderer reads: a text and its entities, with character offsets into it."""

    text: str
    entities: Sequence[_Entity]


def type_colour(label: str) -> str:
    """The background colour of an entity type: displaCy's for the common types, a pale one of its name otherwise."""
    if label in COLOURS:
        return COLOURS[label]
    hue = zlib.crc32(label.encode()) % 360 / 360  # the same colour for a type in every run
    red, green, blue = colorsys.hls_to_rgb(hue, 0.8, 0.75)
    return f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"


def entity_mark(text: str, label: str, score: float | None = None, flagged: bool = False) -> str:
    """One highlighted entity: its text, its type after it, and its type and probability on hover.

    ``flagged`` adds the class ``flagged`` (an error report outlines such entities).
    """
    title = label if score is None else f"{label}, probability {score:.2f}"
    classes = "entity flagged" if flagged else "entity"
    return (f'<mark class="{classes}" style="background: {type_colour(label)}" title="{escape(title)}">'
            f'{escape(text)}<span class="label">{escape(label)}</span></mark>')


def sentence_markup(tagged: Tagged) -> str:
    """The text of one tagged sentence (or line, or paragraph), its entities highlighted; line breaks kept."""
    pieces, at = [], 0
    for entity in sorted(tagged.entities, key=lambda e: e.start_char):
        if entity.start_char < at:  # overlapping spans cannot come from one tag sequence; show the first
            continue
        pieces.append(escape(tagged.text[at:entity.start_char]))
        pieces.append(entity_mark(tagged.text[entity.start_char:entity.end_char], entity.label, entity.score,
                                  getattr(entity, "flagged", False)))
        at = entity.end_char
    pieces.append(escape(tagged.text[at:]))
    return '<div class="sentence">' + "".join(pieces).replace("\n", "<br>") + "</div>"


def legend(labels: Iterable[str]) -> str:
    """A line with one highlighted sample of each entity type."""
    marks = " ".join(f'<mark class="entity" style="background: {type_colour(label)}">{escape(label)}</mark>'
                     for label in labels)
    return f'<div class="legend">Entity types: {marks}</div>'


def fragment(results: Iterable[Tagged], labels: Iterable[str] | None = None,
             document_starts: Iterable[bool] | None = None) -> str:
    """Markup of tagged sentences that shows as it is anywhere HTML does (a notebook, a page): styles included.

    ``labels``: the types for the legend (default: those the results have; ``[]`` for none).
    ``document_starts``: True where a sentence begins a new document, drawn with a rule above it.
    """
    results = list(results)
    if labels is None:
        labels = sorted({entity.label for result in results for entity in result.entities})
    starts = iter(document_starts) if document_starts is not None else iter(())
    body = []
    for i, result in enumerate(results):
        if next(starts, False) and i > 0:
            body.append(DOCUMENT_BREAK)
        body.append(sentence_markup(result))
    labels = list(labels)
    return (f"<div class=\"tagger\"><style>{STYLE}</style>" + (legend(labels) if labels else "")
            + "".join(body) + "</div>")


def page_start(title: str, labels: Sequence[str], style: str = "") -> str:
    """The top of a self-contained page, up to where its content goes; ``page_end`` closes it."""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{escape(title)}</title>\n<style>{STYLE}{style}</style>\n</head>\n"
        f"<body class=\"tagger\">\n<h1>{escape(title)}</h1>\n" + (legend(labels) + "\n" if labels else "")
    )


def page_end() -> str:
    return "</body>\n</html>\n"


def page(title: str, body: str, labels: Sequence[str] = (), style: str = "") -> str:
    """A whole self-contained HTML page around ``body``."""
    return page_start(title, labels, style) + body + "\n" + page_end()
