"""A spaCy pipeline component that sets each ``Doc``'s entities with a tagger model.

    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")                                   # else a Doc is read as one sentence
    nlp.add_pipe("bilstm_crf_ner", config={"model": "en-conll03"})  # a model name or directory
    doc = nlp("Angela Merkel visited Paris on Monday.")
    [(ent.text, ent.label_) for ent in doc.ents]                 # [('Angela Merkel', 'PER'), ('Paris', 'LOC')]
    doc.spans["bilstm_crf_ner"].attrs["scores"]                  # each entity's probability, in order

Installing tagger registers the factory with spaCy (the ``spacy_factories`` entry point), so
``add_pipe`` and ``spacy.load`` find it without an import. ``nlp.to_disk`` copies the model
directory into the pipeline's folder, so the saved pipeline loads anywhere tagger is installed.
spaCy itself is the ``spacy`` extra (``pip install 'tagger[spacy]'``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc, Span, SpanGroup
from spacy.util import filter_spans, minibatch

from ..api import Tagger

FACTORY = "bilstm_crf_ner"


@Language.factory(FACTORY, default_config={"model": None, "batch_size": 256, "min_score": 0.0, "spans_key": FACTORY,
                                           "overwrite_ents": True})
def make_entity_tagger(nlp: Language, name: str, model: str | None, batch_size: int, min_score: float,
                       spans_key: str, overwrite_ents: bool) -> "EntityTagger":
    """spaCy's factory for ``EntityTagger`` (``nlp.add_pipe("bilstm_crf_ner", config={"model": ...})``)."""
    return EntityTagger(model, name=name, batch_size=batch_size, min_score=min_score, spans_key=spans_key,
                        overwrite_ents=overwrite_ents)


class EntityTagger:
    """Sets ``doc.ents`` to a tagger model's entities, replacing those there (with ``overwrite_ents=False``,
    keeping them and adding the model's that overlap none of them, as spaCy's entity ruler does), and
    ``doc.spans[spans_key]`` to the model's spans with their probabilities in ``attrs["scores"]``.

    ``model``: a model directory or a shipped model's name (None: the default English model), loaded at the
    first Doc, or a loaded ``Tagger``. A Doc's sentences are its ``doc.sents`` where a component before this one
    set them (a sentencizer, a parser), else the Doc is one sentence; the Doc is one document (a model with
    document memory reads it whole). A word model reads spaCy's tokens, whitespace tokens left out; a model of
    characters reads each sentence's text as ``Tagger`` reads a string, and an entity that ends inside a spaCy
    token takes in the whole token. ``min_score`` drops entities scored below it.
    """

    def __init__(self, model: str | Path | Tagger | None = None, *, name: str = FACTORY, batch_size: int = 256,
                 min_score: float = 0.0, spans_key: str = FACTORY, overwrite_ents: bool = True):
        self.name, self.batch_size, self.min_score, self.spans_key = name, batch_size, min_score, spans_key
        self.overwrite_ents = overwrite_ents
        self.model = model
        self._tagger = model if isinstance(model, Tagger) else None

    @property
    def tagger(self) -> Tagger:
        if self._tagger is None:
            self._tagger = Tagger.load(self.model)
        return self._tagger

    def __call__(self, doc: Doc) -> Doc:
        return self._tag([doc])[0]

    def pipe(self, docs: Iterable[Doc], batch_size: int | None = None) -> Iterator[Doc]:
        """The Docs tagged ``batch_size`` at a time (``nlp.pipe``), in order."""
        for batch in minibatch(docs, size=batch_size or self.batch_size):
            yield from self._tag(batch)

    def _tag(self, docs: list[Doc]) -> list[Doc]:
        characters = self.tagger.reads_characters
        inputs, owners, starts = [], [], []
        for doc in docs:
            sentences = list(doc.sents) if doc.has_annotation("SENT_START") else [doc[:]]
            begins_document = True
            for sentence in sentences:
                if characters:  # the model splits the text as it was trained to; offsets find the tokens
                    inputs.append(sentence.text)
                    owners.append((doc, sentence.start_char))
                else:
                    words = [token for token in sentence if not token.is_space]
                    if not words:
                        continue
                    inputs.append([token.text for token in words])
                    owners.append((doc, [token.i for token in words]))
                starts.append(begins_document)
                begins_document = False
        found: dict[int, list[tuple[Span, float | None]]] = {id(doc): [] for doc in docs}
        tagged = self.tagger.predict(inputs, self.batch_size, document_starts=starts, min_score=self.min_score)
        for (doc, owner), result in zip(owners, tagged):
            for entity in result.entities:
                if characters:
                    span = doc.char_span(owner + entity.start_char, owner + entity.end_char, entity.label,
                                         alignment_mode="expand")
                else:
                    span = Span(doc, owner[entity.start], owner[entity.end - 1] + 1, entity.label)
                if span is not None:
                    found[id(doc)].append((span, entity.score))
        for doc in docs:
            scores = {(span.start, span.end): score for span, score in found[id(doc)]}
            # Two character entities within one spaCy token expand to overlapping spans: the longest is kept.
            spans = filter_spans([span for span, _ in found[id(doc)]])  # in order of their start
            if not self.overwrite_ents:
                taken = {i for ent in doc.ents for i in range(ent.start, ent.end)}
                spans = [span for span in spans if taken.isdisjoint(range(span.start, span.end))]
            doc.ents = spans if self.overwrite_ents else sorted([*doc.ents, *spans], key=lambda span: span.start)
            doc.spans[self.spans_key] = scored_spans(doc, self.spans_key, spans,
                                                     [scores[span.start, span.end] for span in spans])
        return docs

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        """Copy the model directory to ``path`` (``nlp.to_disk`` calls this with the component's folder)."""
        if self.tagger.path is None:
            raise ValueError("the component's Tagger has no model directory to copy: load it with Tagger.load")
        path = Path(path)
        if path.exists():
            shutil.rmtree(path)
        shutil.copytree(self.tagger.path, path)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> "EntityTagger":
        """Load the model directory ``to_disk`` wrote (``spacy.load`` calls this)."""
        self.model, self._tagger = str(path), Tagger.load(path)
        return self


class DocBinWriter:
    """Tagged sentences written as spaCy Docs to a DocBin file (``.spacy``; ``tag.py --format spacy``).

    ``add`` takes ``Tagger.predict``'s results in order, with where documents begin; each document
    becomes one Doc with its sentence boundaries, its entities as ``doc.ents`` and, with their
    probabilities in ``attrs["scores"]``, as the span group ``spans_key`` (as ``EntityTagger`` sets them).
    A result without tokens (a blank line of text) ends a document. ``close`` writes the file
    (``tagger.storage.write_atomically``: a file that is there stays whole until the new one is).
    """

    def __init__(self, path: Path, spans_key: str = FACTORY):
        from spacy.tokens import DocBin
        from spacy.vocab import Vocab

        self.path, self.spans_key = path, spans_key
        self.vocab, self.docs = Vocab(), DocBin()
        self._document: list = []  # the results of the document being read

    def add(self, results: Iterable, document_starts: Iterable[bool]) -> None:
        for result, starts_a_document in zip(results, document_starts):
            if starts_a_document or not result.tokens:
                self.end_document()
            if result.tokens:
                self._document.append(result)

    def add_doc(self, doc: Doc) -> None:
        """A Doc as it is (one that ``EntityTagger`` has tagged), after the document being read."""
        self.end_document()
        self.docs.add(doc)

    def end_document(self) -> None:
        """Make the sentences read since the last document's end a Doc."""
        if self._document:
            self.docs.add(self._doc(self._document))
        self._document = []

    def close(self) -> None:
        from ..storage import write_atomically

        self.end_document()
        write_atomically(self.path, self.docs.to_disk)

    def _doc(self, results: list) -> Doc:
        words, spaces, sentence_starts, spans, scores = [], [], [], [], []
        for result in results:
            offset = len(words)
            words += result.tokens
            # A space follows a token where the text has one before the next, and after each result's last.
            spaces += [end < start for (_, end), (start, _) in zip(result.offsets, result.offsets[1:])] + [True]
            first = set(result.sentence_starts)
            sentence_starts += [i in first for i in range(len(result.tokens))]
            spans += [(offset + entity.start, offset + entity.end, entity.label) for entity in result.entities]
            scores += [entity.score for entity in result.entities]
        spaces[-1] = False
        doc = Doc(self.vocab, words=words, spaces=spaces, sent_starts=sentence_starts)
        doc.ents = [Span(doc, start, end, label) for start, end, label in spans]
        doc.spans[self.spans_key] = scored_spans(doc, self.spans_key, list(doc.ents), scores)
        return doc


def scored_spans(doc: Doc, key: str, spans: list[Span], scores: list[float | None]) -> SpanGroup:
    """The span group ``doc.spans[key]`` of a model's entities, their probabilities in ``attrs["scores"]``."""
    return SpanGroup(doc, name=key, spans=spans, attrs={"scores": scores})
