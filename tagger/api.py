"""The Python API: ``Tagger.load(path).tag(sentence)``."""

from __future__ import annotations

import contextlib
import gc
import itertools
import operator
import reprlib
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import regex
import torch
from torch import nn

from .corpus import (CHARACTERS, CHARACTERS_AND_SPACES, Context, Sentence, document_chunks, document_contexts,
                     document_ids, document_starts, from_dataset)
from .encoding import Encoder
from .inference import (CharFeatureCache, classification_report, decode_sentences, entity_scores, joined,
                        tag_distributions, type_scores)
from .errors import TaggerError, TaggerWarning
from .schemes import SCHEMES, SchemeError, Span, entity_types, spans_to_tags, tags_to_spans
from . import render
from .model import quantize_dynamic, resolve_device
from .runtime import one_torch_thread, runs_onnx, with_onnx_lstm
from .storage import load_model, resolve_model
from .tokenizer import (character_sentence_starts, join_known_words, runs_words_together, sentence_starts, tokenize,
                        tokenize_characters, with_space_tokens)

if TYPE_CHECKING:
    import datasets


@dataclass(frozen=True)
class Entity:
    """A tagged span, with spaCy's field names: tokens ``start:end`` and characters ``start_char:end_char``.

    ``score`` is the probability, under the model, that exactly this span with
    this label is an entity (see ``tagger.inference``).
    """

    text: str
    label: str
    start: int
    end: int
    start_char: int
    end_char: int
    score: float | None = None

    def to_dict(self) -> dict:
        # Written out: ``dataclasses.asdict`` deep-copies each field, 40 µs an entity, which a server pays per request.
        return {"text": self.text, "label": self.label, "start": self.start, "end": self.end,
                "start_char": self.start_char, "end_char": self.end_char, "score": self.score}


@dataclass
class TaggedSentence:
    """A sentence with one tag per token and the entities those tags spell.

    ``text`` is the input string, or the tokens joined by single spaces when
    tokens were given; ``offsets`` are each token's ``(start_char, end_char)`` in it.
    A string may hold several sentences, read as such: ``sentence_starts`` are
    the indices of the tokens that begin one (``[0]`` for one sentence).
    """

    text: str
    tokens: list[str]
    offsets: list[tuple[int, int]]
    tags: list[str]
    entities: list[Entity]
    probability: float | None = None  # of this tag sequence, under the model
    readings: list["Reading"] | None = None  # n-best, when asked for
    sentence_starts: list[int] = field(default_factory=lambda: [0])

    def to_dict(self) -> dict:
        """The sentence as JSON values: ``text``, ``tokens``, ``tags``, ``entities``, ``probability``, and
        ``nbest`` when readings were asked for (what ``tag.py --format jsonl`` writes a line of)."""
        record = {"text": self.text, "tokens": self.tokens, "tags": self.tags,
                  "entities": [entity.to_dict() for entity in self.entities], "probability": self.probability}
        if self.readings is not None:
            record["nbest"] = [{"tags": reading.tags, "entities": [entity.to_dict() for entity in reading.entities],
                                "probability": reading.probability} for reading in self.readings]
        return record

    def _repr_html_(self) -> str:
        """The text with its entities highlighted, as a notebook shows it (``tagger.render``)."""
        return render.fragment([self])


@dataclass
class Reading:
    """One of the n best tag sequences of a sentence, with its exact probability."""

    tags: list[str]
    entities: list[Entity]
    probability: float


@dataclass
class Marginals:
    """Per-token tag probabilities: ``probabilities[i, j]`` for token ``i`` and tag ``labels[j]``."""

    tokens: list[str]
    labels: list[str]
    probabilities: torch.Tensor  # (tokens, labels)


@dataclass
class Evaluation:
    """A model's entity-level scores on gold sentences, as conlleval scores them (seqeval), in fractions.

    ``types`` maps each entity type to its ``precision``, ``recall``, ``f1`` and
    ``support`` (its gold entities); ``seconds`` is the time tagging took;
    ``gold`` and ``predicted`` are the tags compared, a list for each sentence.
    """

    precision: float
    recall: float
    f1: float
    types: dict[str, dict[str, float]]
    sentences: int
    tokens: int
    seconds: float
    gold: list[list[str]] = field(repr=False)
    predicted: list[list[str]] = field(repr=False)

    def report(self) -> str:
        """The per-type table as text, as seqeval prints it (about 0.3 s for eng.testb, so only when asked)."""
        return classification_report(self.gold, self.predicted)


Input = str | Sequence[str]


class Tagger:
    """A trained tagger: a model, its vocabularies, and the directory they came from.

    ``model`` is the loaded ``torch.nn.Module`` (a ``BiLSTMCRF``, or an ``Ensemble`` of them); ``path`` the
    model directory.
    ``constrained`` (default True) keeps decoding to well-formed tag sequences;
    ``temperature`` scales the probabilities (from ``config.json``, fitted by
    ``tagger.calibration``; 1 leaves them as trained);
    ``entity_bias`` is added to the score of every tag but O at every token (from ``config.json``,
    chosen on the dev corpus in training; higher finds more entities, lower fewer; 0 leaves the
    scores as trained).
    """

    def __init__(self, model: nn.Module, encoder: Encoder, config: dict, path: Path | None = None,
                 constrained: bool = True):
        self.model = model
        self.encoder = encoder
        self.config = config
        self.path = path
        self.constrained = constrained
        self.temperature = float(config.get("temperature", 1.0))
        self.entity_bias = float(config.get("entity_bias", 0.0))
        self._char_features = CharFeatureCache()
        # A model trained on a corpus of single characters reads text a character at a time (and the spaces
        # between words, where its corpus had them as tokens).
        self._split = {CHARACTERS: _split_characters, CHARACTERS_AND_SPACES: _split_characters_and_spaces}.get(
            self.config.get("tokenization"), self._split_words)
        self._joiner: str | None = None  # what joins the parts of its words (``_split_words``), once asked

    def _split_words(self, text: str) -> tuple[list[tuple[str, int, int]], list[int]]:
        """``_split_words`` of a model of words; where the words it knows join their parts, as Vietnamese corpora
        segmented into words write them (``Hà_Nội``), the text's parts joined into the longest words it knows
        (``tokenizer.join_known_words``)."""
        found, starts = _split_words(text)
        joiner = self._word_joiner()
        if joiner:
            words, key = self.encoder.words, self.encoder.word_key
            found, starts = join_known_words(found, starts, joiner, lambda word: key(word) in words)
        return found, starts

    def _word_joiner(self) -> str:
        """What joins the parts of the words the model knows (``word_joiner``), found at the first text."""
        if self._joiner is None:  # a vocabulary of GloVe's 400,000 words takes 17 ms
            self._joiner = word_joiner(self.encoder.words.names)
        return self._joiner

    @classmethod
    def load(cls, path: str | Path | None = None, quantize: bool = False, onnx: bool = False,
             device: str | None = None) -> "Tagger":
        """Load a model directory written by ``train.py``, or a model shipped with tagger by name.

        No argument loads the default English model (``en-conll03``). Raises
        ``ModelError`` saying what is wrong. ``quantize=True`` runs the LSTM and
        linear layers with int8 weights (faster on CPU). ``onnx=True`` runs the
        BiLSTM with ONNX Runtime (faster, the same results to float rounding; needs
        ``pip install 'tagger[onnx]'``), with ``quantize`` its int8 LSTM, the fastest;
        while such a tagger runs, PyTorch runs on one thread (see ``tagger.runtime``).
        ``device``: where the network runs ("cpu", "cuda", "cuda:N"; default: a CUDA GPU if
        there is one, else the CPU; ``quantize`` and ``onnx`` run on the CPU). A model tags
        the same wherever it was trained.
        """
        cpu_only = quantize or onnx
        if cpu_only and device not in (None, "auto", "cpu"):
            raise TaggerError(f"quantize and onnx run on the CPU: leave out device={device!r}")
        device = "cpu" if cpu_only else resolve_device(device)
        directory = resolve_model(path)
        model, encoder, config = load_model(directory)
        if onnx:
            model = with_onnx_lstm(model, quantize=quantize)
        elif quantize:
            model = quantize_dynamic(model)
        return cls(model.to(device), encoder, config, directory)

    def __repr__(self) -> str:
        networks = len(getattr(self.model, "members", [self.model]))
        return (f"Tagger(path={str(self.path)!r}, labels={self.labels}, scheme={self.config.get('tag_scheme')!r}, "
                f"networks={networks}, words={len(self.encoder.words):,})")

    def clear_cache(self) -> None:
        """Forget the character features kept for the words tagged so far (each word's are kept once computed)."""
        self._char_features = CharFeatureCache()

    @property
    def reads_characters(self) -> bool:
        """Whether the model's tokens are characters (text written without spaces): strings are split into
        characters, rather than into words; whitespace is dropped, or, where the training corpus had the
        spaces between words as tokens, kept as a ``" "`` token between two characters of a sentence."""
        return self.config.get("tokenization") in (CHARACTERS, CHARACTERS_AND_SPACES)

    @property
    def tokens_hold_spaces(self) -> bool:
        """Whether a token the model reads text into may hold a space: a ``" "`` token between words, where its
        training corpus had them as tokens, or a word whose parts a space joins (``join_known_words``)."""
        if self.config.get("tokenization") == CHARACTERS_AND_SPACES:
            return True
        return not self.reads_characters and self._word_joiner() == " "

    @property
    def corpus_scheme(self) -> str:
        """The tag scheme of the model's training corpus (IOB2 if it is not recorded): ``tag.py`` writes it."""
        scheme = self.config.get("input_scheme")
        return scheme if scheme in SCHEMES else "IOB2"

    @property
    def labels(self) -> list[str]:
        """Entity types the model predicts."""
        return entity_types(self.encoder.tags.names)

    def tag(self, sentence: Input, nbest: int | None = None) -> list[Entity] | list[Reading]:
        """Entities of one sentence: a string (tokenized by ``tagger.tokenizer``) or a list of tokens.

        With ``nbest=K``: up to K ``Reading``s instead, best first.
        """
        return self.tag_batch([sentence], nbest=nbest)[0]

    def tag_batch(
        self, sentences: Sequence[Input], batch_size: int = 256, nbest: int | None = None,
        document_starts: Sequence[bool] | None = None,
    ) -> list[list[Entity]] | list[list[Reading]]:
        """Entities (or, with ``nbest``, readings) of each sentence, in input order, batched by length.

        ``document_starts``: see ``predict``.
        """
        tagged = self.predict(sentences, batch_size, nbest=nbest or 0, document_starts=document_starts)
        return [t.readings if nbest else t.entities for t in tagged]

    def render(self, text_or_results: Input | TaggedSentence | Sequence[Input | TaggedSentence]) -> str:
        """HTML of tagged text with its entities highlighted by type, a legend of the model's types, and each
        entity's probability on hover: what ``tag.py --format html`` writes, as a fragment that shows as it is
        in a notebook or a page (``tagger.render``).

        Takes a string, a ``predict`` result, or a list of strings, token lists and results (as
        ``tag_batch`` takes them: a list is sentences, so one token list goes in a list of its own);
        what is not tagged yet is tagged first, each read alone.
        """
        if isinstance(text_or_results, (str, TaggedSentence)):
            text_or_results = [text_or_results]
        to_tag = [item for item in text_or_results if not isinstance(item, TaggedSentence)]
        tagged = iter(self.predict(to_tag)) if to_tag else iter(())
        results = [item if isinstance(item, TaggedSentence) else next(tagged) for item in text_or_results]
        return render.fragment(results, labels=self.labels)

    def tag_document(self, sentences: Sequence[Input]) -> list[list[Entity]]:
        """Entities of each sentence of one document, read as one document.

        A model trained with ``--context`` reads each sentence with the sentences
        around it, one with ``--document-memory`` pools each word's occurrences
        over the document; for other models the same as ``tag_batch``.
        """
        return self.tag_batch(sentences, document_starts=[i == 0 for i in range(len(sentences))])

    @property
    def context(self) -> int:
        """Tokens of document context the model reads on each side of a sentence (0: none)."""
        return self.model.config.context

    def predict(
        self, sentences: Sequence[Input], batch_size: int = 256, scheme: str = "IOB2", *,
        scores: bool = True, nbest: int = 0, document_starts: Sequence[bool] | None = None, min_score: float = 0.0,
        progress: bool = False,
    ) -> list[TaggedSentence]:
        """Tokens, tags (in ``scheme``), entities and probabilities of each sentence.

        ``scores=False`` skips probabilities (entity ``score`` is then None), which is faster.
        ``min_score`` drops the entities scored below it, from the entities and the tags.
        ``document_starts`` says the sentences are consecutive sentences of documents,
        True where a document begins: a model trained with context then reads each
        sentence with up to ``context`` tokens of its document on each side, one
        with document memory reads each document whole. Without it every input
        is read alone. A string may hold several sentences: they are read as
        consecutive sentences of its document, and their results joined (one
        reading, the probability the product of theirs). ``progress`` shows a bar of the tokens tagged
        on standard error, where it is a terminal.
        """
        if scheme not in SCHEMES:
            raise SchemeError(f"unknown tag scheme {scheme!r}: expected one of {', '.join(SCHEMES)}")
        if isinstance(sentences, str):
            raise TypeError("predict and tag_batch take a list of sentences; use tag() for one string")
        if nbest < 0:
            raise ValueError(f"nbest must be positive, got {nbest}")
        if not 0.0 <= min_score <= 1.0:
            raise ValueError(f"min_score is a probability between 0 and 1, got {min_score}")
        scores = scores or min_score > 0
        with self._running():  # all of it: the output objects count too (see ``collector_paused``)
            prepared = [_prepare(sentence, self._split) for sentence in sentences]
            if document_starts is not None and len(document_starts) != len(sentences):
                raise ValueError(f"{len(document_starts)} document_starts for {len(sentences)} sentences")
            token_lists, contexts, documents = self._reading(prepared, document_starts)
            with _tokens_bar(sum(map(len, token_lists))) if progress else contextlib.nullcontext() as bar:
                decoded = decode_sentences(
                    self.model, self.encoder, token_lists, batch_size,
                    constrained=self.constrained, temperature=self.temperature, entity_bias=self.entity_bias,
                    scores=scores, nbest=nbest,
                    contexts=contexts, char_features=self._char_features, documents=documents,
                    progress=bar.update if bar is not None else None,
                )
            if len(token_lists) > len(sentences):
                pieces = iter(decoded)
                decoded = [joined([next(pieces) for _ in starts], starts) for *_, starts in prepared]
            results = []
            for (text, tokens, offsets, starts), result in zip(prepared, decoded):
                spans, entity_scores = result.spans, result.entity_scores
                if min_score > 0:
                    spans, entity_scores = _above(spans, entity_scores, min_score)
                tagged = _tagged(text, tokens, offsets, spans, scheme, entity_scores)
                tagged.probability, tagged.sentence_starts = result.probability, starts
                if result.readings is not None:
                    tagged.readings = [
                        Reading(reading.tags, reading.entities, probability)
                        for tags, probability in result.readings
                        for reading in [_tagged(text, tokens, offsets, tags_to_spans(tags), scheme)]
                    ]
                results.append(tagged)
            return results

    def pipe(self, sentences: Iterable[Input], batch_size: int = 256, chunk_size: int = 8192, *,
             document_starts: Iterable[bool] | None = None, scheme: str = "IOB2", scores: bool = True,
             nbest: int = 0, min_score: float = 0.0) -> Iterator[TaggedSentence]:
        """``predict``'s results for an iterable of any length, in order, about ``chunk_size`` inputs at a time.

        As spaCy's ``nlp.pipe``: only a chunk is held at once, so a generator over a
        large file is tagged in bounded memory, and results come before the input
        ends. ``document_starts`` (an iterable as long as ``sentences``) says where
        documents begin, as in ``predict``: chunks then end where a document begins,
        so that a document of up to ``chunk_size`` sentences is read whole. Without
        it each input is read alone (a string of several sentences is its own document).
        """
        if isinstance(sentences, str):
            raise TypeError("pipe takes an iterable of sentences; use tag() for one string")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
        starts = itertools.repeat(True) if document_starts is None else document_starts
        pairs = zip(sentences, starts, strict=document_starts is not None)
        # Without documents, a chunk ends at chunk_size inputs, before the next is read.
        most = chunk_size if document_starts is None else None
        for chunk in document_chunks(pairs, chunk_size, begins_document=operator.itemgetter(1), most=most):
            inputs, chunk_starts = zip(*chunk)
            yield from self.predict(list(inputs), batch_size, scheme, scores=scores, nbest=nbest, min_score=min_score,
                                    document_starts=None if document_starts is None else list(chunk_starts))

    def evaluate(self, gold: str | Path | Sequence[Sentence] | datasets.Dataset, batch_size: int = 256,
                 min_score: float = 0.0, progress: bool = False) -> Evaluation:
        """Entity-level scores against ``gold``: a corpus by its path (a CoNLL file, tags in its last column, or a
        table or dataset as ``tagger.sources.read_labelled`` reads it), sentences with labels, or a Hugging Face
        dataset in the NER layout (``tokens``, ``ner_tags``; see ``corpus.from_dataset``).

        Sentences are read as consecutive sentences of their documents (``-DOCSTART-``;
        a dataset has none, so it is one), as ``predict`` reads documents; ``min_score`` and ``progress`` as there.
        """
        if isinstance(gold, (str, Path)):
            from .sources import read_labelled

            sentences = read_labelled(gold, split="test")
        elif _is_dataset(gold):
            sentences = from_dataset(gold)
        else:
            sentences = list(gold)
        if any(sentence.labels is None for sentence in sentences):
            raise ValueError("gold sentences need their tags: read them with read_corpus, not as text to tag")
        started = time.perf_counter()
        tagged = self.predict([sentence.tokens for sentence in sentences], batch_size, scores=False,
                              document_starts=document_starts(sentences), min_score=min_score, progress=progress)
        seconds = time.perf_counter() - started
        gold_tags, predicted = [sentence.labels for sentence in sentences], [sentence.tags for sentence in tagged]
        return Evaluation(**entity_scores(gold_tags, predicted), types=type_scores(gold_tags, predicted),
                          sentences=len(sentences), tokens=sum(map(len, sentences)), seconds=seconds,
                          gold=gold_tags, predicted=predicted)

    def marginals(self, sentence: Input) -> Marginals:
        """Probability of each of the model's tags (its own scheme, e.g. BIOES) at each token.

        A string's sentences are read as ``predict`` reads them.
        """
        prepared = _prepare(sentence, self._split)
        with self._running():
            token_lists, contexts, documents = self._reading([prepared], None)
            distributions = tag_distributions(self.model, self.encoder, token_lists, constrained=self.constrained,
                                              temperature=self.temperature, entity_bias=self.entity_bias,
                                              contexts=contexts, documents=documents)
        probabilities = torch.cat([tags for tags, _ in distributions])
        return Marginals(prepared[1], list(self.encoder.tags.names), probabilities)

    def _reading(
        self, prepared: list[tuple[str, list[str], list[tuple[int, int]], list[int]]],
        document_starts: Sequence[bool] | None,
    ) -> tuple[list[list[str]], list[Context] | None, list[int] | None]:
        """The sentences the network reads for ``_prepare``d inputs, with their contexts and document ids.

        A string of several sentences is read as them: consecutive sentences of
        its document (of its own, unless ``document_starts`` puts it in one).
        """
        token_lists = [sentence for (_, tokens, _, starts) in prepared for sentence in _split(tokens, starts)]
        if len(token_lists) > len(prepared):
            document_starts = [k == 0 and (document_starts is None or document_starts[i])
                               for i, (_, _, _, starts) in enumerate(prepared) for k in range(len(starts))]
        contexts = documents = None
        if document_starts is not None:
            if self.context:
                contexts = document_contexts(token_lists, document_starts, self.context)
            if self.model.config.document_memory:
                documents = document_ids(document_starts)
        return token_lists, contexts, documents

    @contextlib.contextmanager
    def _running(self) -> Iterator[None]:
        """The setting a call runs in: no cyclic garbage collection, and PyTorch on one thread beside ONNX Runtime.

        (See ``collector_paused`` and ``tagger.runtime.one_torch_thread``.)
        """
        with collector_paused(), (one_torch_thread() if runs_onnx(self.model) else contextlib.nullcontext()):
            yield


_collector_lock = threading.Lock()
_collector_pauses = 0
_collector_was_enabled = False


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while the block runs; the first one in pauses it, the last one out restores it.

    Tagging allocates a few small objects per token (token lists, tags,
    entities), all freed by reference counting, since none is part of a cycle.
    Their number still triggers full collections, and each of those walks every
    object of the process, torch's and the vocabularies' included: about a
    sixth of ``tag_batch``'s time with one network (a quarter with ``--onnx
    --quantize``). Pausing stops only the collections; memory is freed as
    before, and cycles made meanwhile are collected after.
    """
    global _collector_pauses, _collector_was_enabled
    with _collector_lock:
        if _collector_pauses == 0:
            _collector_was_enabled = gc.isenabled()
            gc.disable()
        _collector_pauses += 1
    try:
        yield
    finally:
        with _collector_lock:
            _collector_pauses -= 1
            if _collector_pauses == 0 and _collector_was_enabled:
                gc.enable()


def _tokens_bar(total: int):
    """A tqdm bar of ``total`` tokens on standard error, where it is a terminal; gone when closed."""
    from tqdm import tqdm

    return tqdm(total=total, desc="tagging", unit=" tokens", unit_scale=True, leave=False, disable=None,
                file=sys.stderr)


def _is_dataset(value: object) -> bool:
    """Whether ``value`` is a ``datasets.Dataset`` (without importing datasets, which takes 0.75 s)."""
    datasets = sys.modules.get("datasets")
    return datasets is not None and isinstance(value, datasets.Dataset)


Split = Callable[[str], tuple[list[tuple[str, int, int]], list[int]]]


# Said where a model that reads words is given text written without spaces between them.
WORDS_RUN_TOGETHER = ("text written without spaces between words (as Chinese, Japanese and Thai are): this model "
                      "reads words, as its training corpus had them, and reads each run of letters as one word; give it "
                      "the text's words separated by spaces (or as lists of tokens), or train on a corpus of "
                      "characters, which reads such text")


# A model of whose words this share or more join their parts with an underscore or a space (``Hà_Nội``, or
# ``Hà Nội`` as one token of a tab-separated corpus) was trained on text segmented into words, where the
# tokenizer splits text at spaces: a Vietnamese corpus segmented into words has about a third of its words so.
# WNUT-17's words are 1.8% so (user names), CoNLL-2003's and CoNLL-2002 Dutch's none.
JOINED_WORDS = 0.1
_JOINED = regex.compile(r"\w([_ ])\w")


def word_joiner(words: Sequence[str]) -> str:
    """What joins the parts of ``words`` (``"_"`` for ``Hà_Nội``, or ``" "``) where ``JOINED_WORDS`` of them or
    more are so joined; else ""."""
    joiners = [found[1] for word in words if "_" in word or " " in word for found in [_JOINED.search(word)] if found]
    if len(joiners) < JOINED_WORDS * len(words) or not joiners:
        return ""
    return max("_ ", key=joiners.count)


def _split_words(text: str) -> tuple[list[tuple[str, int, int]], list[int]]:
    """Tokens (``tagger.tokenizer.tokenize``) and sentence starts of text written with spaces; a ``TaggerWarning``
    where it is written without (``tokenizer.runs_words_together``)."""
    if runs_words_together(text):
        warnings.warn(TaggerWarning(WORDS_RUN_TOGETHER))
    found = tokenize(text)
    return found, sentence_starts(found, text)


def _split_characters(text: str) -> tuple[list[tuple[str, int, int]], list[int]]:
    """Tokens (``tokenize_characters``) and sentence starts of text written without spaces."""
    found = tokenize_characters(text)
    return found, character_sentence_starts(found, text)


def _split_characters_and_spaces(text: str) -> tuple[list[tuple[str, int, int]], list[int]]:
    """Tokens and sentence starts of text written a character a token with the spaces between words as tokens
    too (``with_space_tokens``): Korean, as corpora written a character a line give it."""
    found = tokenize_characters(text)
    return with_space_tokens(found, character_sentence_starts(found, text, spaced=True))


def _prepare(sentence: Input, split: Split = _split_words) -> tuple[str, list[str], list[tuple[int, int]], list[int]]:
    """Text, tokens, character offsets and sentence starts (token indices) of a string or a token list.

    A string is split by ``split``, and may hold several sentences; a token list
    is one sentence, as given (its text: the tokens joined by spaces, or, for
    characters, without).
    """
    if isinstance(sentence, str):
        found, starts = split(sentence)
        return sentence, [token for token, _, _ in found], [(start, end) for _, start, end in found], starts or [0]
    separator = "" if split in (_split_characters, _split_characters_and_spaces) else " "
    try:
        tokens = list(sentence)
        text = separator.join(tokens)
    except TypeError:
        raise TypeError(f"a sentence is a string or a list of token strings, not {reprlib.repr(sentence)}") from None
    offsets = []
    start = 0
    for token in tokens:
        end = start + len(token)
        offsets.append((start, end))
        start = end + len(separator)
    return text, tokens, offsets, [0]


def _split(tokens: list[str], starts: list[int]) -> list[list[str]]:
    """The sentences of ``tokens`` that begin at ``starts``."""
    if len(starts) == 1:
        return [tokens]
    return [tokens[start:end] for start, end in zip(starts, [*starts[1:], len(tokens)])]


def _above(spans: list[Span], scores: list[float], min_score: float) -> tuple[list[Span], list[float]]:
    """The spans scored ``min_score`` or more, with their scores."""
    kept = [(span, score) for span, score in zip(spans, scores) if score >= min_score]
    return [span for span, _ in kept], [score for _, score in kept]


def _tagged(
    text: str, tokens: list[str], offsets: list[tuple[int, int]], spans: list[Span], scheme: str,
    scores: list[float] | None = None,
) -> TaggedSentence:
    """The sentence with its entity spans, as tags of ``scheme`` and as ``Entity`` objects."""
    tags = spans_to_tags(spans, len(tokens), scheme)
    entities = []
    for k, (label, start, end) in enumerate(spans):
        start_char, end_char = offsets[start][0], offsets[end - 1][1]
        score = scores[k] if scores is not None else None
        entities.append(Entity(text[start_char:end_char], label, start, end, start_char, end_char, score))
    return TaggedSentence(text, tokens, offsets, tags, entities)
