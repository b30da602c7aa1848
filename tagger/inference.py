"""From token lists to tags, with probabilities; and scoring tags against gold ones.

Decoding is constrained to the tag scheme's allowed transitions by default, so
predictions are always well-formed. Probabilities come from the CRF's forward
and backward scores, after dividing all scores by the model's temperature
(fitted on dev data by ``tagger.calibration``; 1 means untouched), with the
model's entity bias added to every tag but O (chosen on dev data in training;
see ``decoding_potentials``): the distribution decoded is the one scored.

- a sentence's ``probability`` is that of its returned tag sequence;
- an entity's ``score`` is the probability that exactly this span, with this
  label, is an entity: the total probability of all tag sequences whose
  entities include it (for BIOES: ``B I* E`` or ``S`` at its tokens; for IOB2:
  ``B I*`` at its tokens and no ``I`` of its type right after). Without
  constraints it is the probability of the predicted tags at its tokens (and,
  for IOB2, no ``I`` of its type right after).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .decode import (
    Potentials,
    forward_backward,
    make_potentials,
    nbest_decode,
    token_marginals,
    transition_marginals,
    transition_penalties,
    viterbi,
)
from .corpus import Context, read_lengths
from .encoding import Encoder
from .model import Batch, BiLSTMCRF, device_of, mean_of_others, members_of
from .schemes import OUTSIDE, Span, allowed_transitions, convert_tags, detect_scheme, entity_types, tags_to_spans


@dataclass
class Decoded:
    """One sentence's result, tags in the model's scheme.

    ``spans`` are ``tags_to_spans(tags)``, and ``entity_scores`` follow them;
    ``readings`` are the n-best ``(tags, probability)`` pairs, best first.
    Scores, probability and readings are None unless asked for.
    """

    tags: list[str]
    spans: list[Span]
    probability: float | None = None
    entity_scores: list[float] | None = None
    readings: list[tuple[list[str], float]] | None = None


class CharFeatureCache:
    """The char CNN's features of every word seen so far, so each word's are computed once.

    For tagging with a model that is not being trained: if the char CNN's
    weights change (an optimizer step, loading other weights), the cache notices
    by their version counters and starts again. It also starts again when a
    batch would take it past ``limit`` words, which bounds its memory.

    One call at a time: a ``Tagger`` called from several threads at once (a web
    server's) shares its cache, and filling it is several steps, some of which
    release the GIL; interleaved, they gave words the rows of others (171–768
    of 2,000 sentences tagged differently, four threads).
    """

    def __init__(self, limit: int = 200_000):
        self.limit = limit
        self._rows: dict[str, int] = {}
        self._table = torch.empty(0)
        self._weights: tuple = ()
        self._lock = threading.Lock()

    def features(self, model: BiLSTMCRF, batch: Batch) -> Tensor:
        """(U, filters) char CNN features of the batch's distinct words (``batch.type_words``)."""
        with self._lock:
            return self._features(model, batch)

    def _features(self, model: BiLSTMCRF, batch: Batch) -> Tensor:
        weights = tuple((id(p), p._version) for p in model.char_cnn.parameters())
        if weights != self._weights or len(self._rows) + len(batch.type_words) > self.limit:
            self._rows, self._table, self._weights = {}, torch.empty(0), weights
        rows = self._rows
        missing = [i for i, word in enumerate(batch.type_words) if word not in rows]
        if missing:
            # A word's features do not depend on how far its row is padded, so any batch's rows will do.
            computed = model.char_cnn(batch.type_chars[missing])  # shape: (M, filters)
            filled = len(rows)
            if filled + len(missing) > len(self._table):  # grow by doubling: each row is copied O(1) times
                grown = torch.empty((max(2 * len(self._table), filled + len(missing)), computed.shape[1]))
                if filled:
                    grown[:filled] = self._table[:filled]
                self._table = grown
            self._table[filled : filled + len(missing)] = computed
            for i in missing:
                rows[batch.type_words[i]] = len(rows)
        return self._table[torch.tensor([rows[word] for word in batch.type_words])]


def model_scheme(encoder: Encoder) -> str:
    """The scheme a model's tags are in: BIOES or IOB2."""
    return detect_scheme([encoder.tags.names])


def decoding_potentials(model: BiLSTMCRF, encoder: Encoder, constrained: bool = True, temperature: float = 1.0,
                        entity_bias: float = 0.0) -> Potentials:
    """The model's CRF tables as decoding uses them: tempered, constrained to its scheme if asked, and with
    ``entity_bias`` added to the score of every tag but O at every token.

    A positive entity bias makes the model tag more entities (recall up, precision down), a negative
    one fewer; training chooses it on the dev corpus (``tagger.training.loop.choose_entity_bias``).
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    penalties = _scheme_penalties(tuple(encoder.tags.names)) if constrained else None
    tag_bias = None
    if entity_bias:
        tag_bias = torch.full((len(encoder.tags),), float(entity_bias))
        if OUTSIDE in encoder.tags:
            tag_bias[encoder.tags.id(OUTSIDE)] = 0.0
    return make_potentials(model.crf, penalties, temperature, tag_bias)


@functools.lru_cache(maxsize=16)
def _scheme_penalties(tags: tuple[str, ...]) -> torch.Tensor:
    scheme = detect_scheme([tags])
    return transition_penalties(allowed_transitions(tags, scheme), len(tags))


def decode_sentences(
    model: BiLSTMCRF,
    encoder: Encoder,
    sentences: Sequence[Sequence[str]],
    batch_size: int = 256,
    *,
    constrained: bool = True,
    temperature: float = 1.0,
    entity_bias: float = 0.0,
    scores: bool = False,
    nbest: int = 0,
    contexts: Sequence[Context] | None = None,
    char_features: CharFeatureCache | None = None,
    documents: Sequence[int] | None = None,
    progress: Callable[[int], object] | None = None,
) -> list[Decoded]:
    """Decode each token list, in input order: the network on batches of sentences of one length, the CRF on merged ones.

    ``scores`` adds sentence probabilities and entity scores; ``nbest`` > 0 adds
    that many readings. ``contexts`` gives the tokens read before and after each
    sentence (see ``tagger.corpus.document_contexts``). ``documents`` gives each
    sentence's document id (see ``tagger.corpus.document_ids``) to a model with
    document memory; without it every sentence is its own document.
    ``char_features`` keeps words' character features from batch to batch (and
    call to call). Empty sentences get empty results and never reach the CRF.
    A sentence of more than ``LONGEST_READ`` tokens is decoded in pieces (see there).
    ``progress`` is called with the tokens of each batch once the network has read it (a tqdm bar's ``update``).
    """
    for name, given in (("contexts", contexts), ("document ids", documents)):
        if given is not None and len(given) != len(sentences):
            raise ValueError(f"{len(given)} {name} for {len(sentences)} sentences")
    if any(len(tokens) > LONGEST_READ for tokens in sentences):
        cuts = [range(0, max(len(tokens), 1), LONGEST_READ) for tokens in sentences]
        pieces, piece_contexts, piece_documents = _pieces(sentences, cuts, contexts, documents, model.config.context)
        decoded = iter(decode_sentences(model, encoder, pieces, batch_size, constrained=constrained,
                                        temperature=temperature, entity_bias=entity_bias, scores=scores, nbest=nbest,
                                        contexts=piece_contexts, char_features=char_features,
                                        documents=piece_documents, progress=progress))
        return [joined([next(decoded) for _ in starts], starts) for starts in cuts]
    results = [Decoded([], [], 1.0 if scores else None, [] if scores else None, [([], 1.0)] if nbest else None)
               for _ in sentences]
    scheme = model_scheme(encoder)
    with evaluating(model), torch.inference_mode():
        potentials = decoding_potentials(model, encoder, constrained, temperature, entity_bias)
        for chunk, emissions, mask in _scored_batches(model, encoder, sentences, batch_size, contexts, documents,
                                                      char_features, progress):
            decoded = _decode_batch(encoder, emissions / temperature, mask, potentials, scheme, scores, nbest)
            for i, result in zip(chunk, decoded):
                results[i] = result
    return results


# A sentence of more tokens than this is decoded in pieces of this many, each read as a sentence
# of its own, so tags near a cut may differ from those of the whole, its probability is the
# product of its pieces', and it gets one reading however many are asked for. The network holds
# about 10 KB for each token it reads at once: a line of text of 300,000 tokens took 2.9 GB. Text
# without line breaks, or a column file without blank lines, reads as one such "sentence".
# CoNLL-2003's longest sentence has 124 tokens.
LONGEST_READ = 1000


def _pieces(
    sentences: Sequence[Sequence[str]], cuts: Sequence[range], contexts: Sequence[Context] | None,
    documents: Sequence[int] | None, context_size: int,
) -> tuple[list[Sequence[str]], list[Context] | None, list[int] | None]:
    """The pieces of ``LONGEST_READ`` tokens of each sentence, from its ``cuts``, with their contexts and documents.

    With context, a piece reads the tokens around it in its sentence (and beyond, the
    sentence's own context), as far as the model reads: the pieces read like consecutive
    sentences of a document. Each piece is of its sentence's document.
    """
    pieces: list[Sequence[str]] = []
    piece_contexts: list[Context] = []
    piece_documents: list[int] = []
    for i, (tokens, starts) in enumerate(zip(sentences, cuts)):
        for start in starts:
            end = start + LONGEST_READ
            pieces.append(tokens[start:end])
            if contexts is not None:
                before, after = contexts[i]
                piece_contexts.append(
                    ((before[-context_size:] + list(tokens[max(0, start - context_size) : start]))[-context_size:]
                     if context_size else [],
                     (list(tokens[end : end + context_size]) + after[:context_size])[:context_size]))
            if documents is not None:
                piece_documents.append(documents[i])
    return (pieces, piece_contexts if contexts is not None else None,
            piece_documents if documents is not None else None)


def joined(pieces: list[Decoded], starts: Sequence[int]) -> Decoded:
    """One sentence's result from those of its consecutive pieces, which begin at token ``starts``.

    Tags and entities are the pieces' in turn, the probability is the product of
    theirs, and there is one reading (the pieces' best, joined).
    """
    if len(pieces) == 1:
        return pieces[0]
    tags = [tag for piece in pieces for tag in piece.tags]
    spans = [(label, start + offset, end + offset)
             for piece, offset in zip(pieces, starts) for label, start, end in piece.spans]
    probability = entity_scores = readings = None
    if pieces[0].probability is not None:
        probability = math.prod(piece.probability for piece in pieces)
        entity_scores = [score for piece in pieces for score in piece.entity_scores]
    if pieces[0].readings is not None:
        readings = [(tags, math.prod(piece.readings[0][1] for piece in pieces))]
    return Decoded(tags, spans, probability, entity_scores, readings)


def tag_distributions(
    model: BiLSTMCRF, encoder: Encoder, sentences: Sequence[Sequence[str]], batch_size: int = 256, *,
    constrained: bool = True, temperature: float = 1.0, entity_bias: float = 0.0,
    contexts: Sequence[Context] | None = None, documents: Sequence[int] | None = None,
) -> list[tuple[Tensor, Tensor]]:
    """The model's distribution over each sentence's tag sequences, by its marginals, in input order.

    Each sentence gets its (n, K) tag probabilities at its n tokens and its
    (K, K) expected transition counts (``tagger.model.TagDistribution``'s parts);
    an empty one gets empty tensors. Options as for ``decode_sentences``.
    """
    num_tags = len(encoder.tags)
    results = [(torch.zeros((0, num_tags)), torch.zeros((num_tags, num_tags))) for _ in sentences]
    with evaluating(model), torch.inference_mode():
        potentials = decoding_potentials(model, encoder, constrained, temperature, entity_bias)
        for chunk, emissions, mask in _scored_batches(model, encoder, sentences, batch_size, contexts, documents):
            emissions = emissions / temperature
            tags = token_marginals(emissions, mask, potentials)
            transitions = transition_marginals(emissions, mask, potentials)
            for row, i in enumerate(chunk):
                results[i] = (tags[row, : len(sentences[i])].clone(), transitions[row].clone())
    return results


def _scored_batches(
    model: BiLSTMCRF, encoder: Encoder, sentences: Sequence[Sequence[str]], batch_size: int,
    contexts: Sequence[Context] | None, documents: Sequence[int] | None, char_features: CharFeatureCache | None = None,
    progress: Callable[[int], object] | None = None,
) -> Iterator[tuple[list[int], Tensor, Tensor]]:
    """The non-empty sentences' indices, (B, T, K) tag scores and (B, T) mask, in batches for the CRF.

    The network runs on batches of one length (``_length_chunks``), the CRF on those joined (``_merged``);
    ``progress`` as ``decode_sentences`` takes it.
    """
    chunks = _length_chunks(sentences, contexts, batch_size, 
                            mixed=all(type(member.lstm) is nn.LSTM for member in members_of(model)))
    return _merged(_emissions(model, encoder, sentences, chunks, contexts, documents, char_features, progress),
                   batch_size)


def _length_chunks(sentences: Sequence[Sequence[str]], contexts: Sequence[Context] | None,
                   batch_size: int, mixed: bool = False) -> list[list[int]]:
    """Indices of the non-empty sentences, in batches of one read length (shortest first).

    A batch holds ``batch_size`` sentences, or fewer where their tokens would pass ``BATCH_TOKENS``.
    With ``mixed`` (a network that reads padded batches exactly: ``BiLSTMCRF.token_states``), lengths
    too rare to fill a batch share one with their neighbours in length, as long as padding adds at
    most ``MIXED_PADDING`` of their tokens: a batch of 32 sentences of 20 lengths is then a few
    network calls instead of 20, each of which costs about as much for one sentence as for eight.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    lengths = read_lengths(sentences, contexts)
    order = sorted((i for i, tokens in enumerate(sentences) if tokens), key=lengths.__getitem__)
    # Batches of one length: the LSTM then runs unpacked, its fast path on CPU.
    chunks = [group[k : k + size] for length, grouped in itertools.groupby(order, key=lengths.__getitem__)
              for group, size in [(list(grouped), max(1, min(batch_size, BATCH_TOKENS // length)))]
              for k in range(0, len(group), size)]
    if not mixed:
        return chunks
    joined: list[list[int]] = []
    for chunk in chunks:
        last = joined[-1] if joined else None
        if last is not None and len(chunk) < MIXED_BELOW and len(last) < batch_size:
            together = last + chunk  # sorted by length: the longest is the chunk's
            longest, tokens = lengths[chunk[0]], sum(lengths[i] for i in together)
            if len(together) <= batch_size and len(together) * longest <= (1 + MIXED_PADDING) * tokens \
                    and len(together) * longest <= BATCH_TOKENS:
                joined[-1] = together
                continue
        joined.append(chunk)
    return joined


# One-length batches smaller than this join a neighbour's (``_length_chunks``), where padding stays
# under this share of their tokens.
MIXED_BELOW = 8
MIXED_PADDING = 0.5


# Tokens a batch holds at most (besides its ``batch_size`` sentences), for the memory ``LONGEST_READ``
# bounds: 256 pieces of 1,000 tokens would be 256,000 tokens at once. Batches of 256 CoNLL-2003
# sentences, 124 tokens at most, stay under it.
BATCH_TOKENS = 32_768


def _merged(batches: Iterator[tuple[list[int], Tensor, Tensor]],
            batch_size: int) -> Iterator[tuple[list[int], Tensor, Tensor]]:
    """Consecutive batches of (indices, (B, T, K) scores, (B, T) mask) joined into batches of ``batch_size`` sentences or more.

    The CRF's loops run a step per token position whatever the batch size, so
    the many small batches of one length each (long sentences are rare) cost
    far more steps than they need; joined and padded to their longest sentence
    (lengths come sorted, so little padding), they take a step per position of
    the longest. Decoding handles padding exactly: each sentence gets the tags
    it gets alone.
    """
    waiting: list[tuple[list[int], Tensor, Tensor]] = []
    count = 0
    for batch in batches:
        waiting.append(batch)
        count += len(batch[0])
        if count >= batch_size:
            yield _joined(waiting)
            waiting, count = [], 0
    if waiting:
        yield _joined(waiting)


def _joined(batches: list[tuple[list[int], Tensor, Tensor]]) -> tuple[list[int], Tensor, Tensor]:
    if len(batches) == 1:
        return batches[0]
    length = max(mask.shape[1] for _, _, mask in batches)
    indices = [i for chunk, _, _ in batches for i in chunk]
    emissions = torch.cat([nn.functional.pad(scores, (0, 0, 0, length - scores.shape[1])) for _, scores, _ in batches])
    mask = torch.cat([nn.functional.pad(mask, (0, length - mask.shape[1])) for _, _, mask in batches])
    return indices, emissions, mask


def _emissions(model: BiLSTMCRF, encoder: Encoder, sentences: Sequence[Sequence[str]], chunks: list[list[int]],
               contexts: Sequence[Context] | None, documents: Sequence[int] | None,
               char_features: CharFeatureCache | None, progress: Callable[[int], object] | None = None
               ) -> Iterator[tuple[list[int], Tensor, Tensor]]:
    """Each chunk of sentence indices with its sentences' (B, T, K) tag scores and (B, T) mask, on the CPU.

    The network runs where its weights are (a GPU's batches go there and their scores come back);
    ``progress(tokens)`` once it has read a chunk.
    """
    def read(chunk: list[int]) -> None:
        if progress is not None:
            progress(sum(len(sentences[i]) for i in chunk))

    device = device_of(model)
    if device.type != "cpu":
        char_features = None  # its table is kept on the CPU; a GPU's char CNN is no bottleneck

    def encoded(chunk: list[int]) -> tuple[Batch, Tensor | None]:
        batch = encoder.batch([sentences[i] for i in chunk], [contexts[i] for i in chunk] if contexts else None)
        return batch, char_features.features(model, batch) if char_features is not None else None

    if not model.config.document_memory:
        for chunk in chunks:
            batch, type_features = encoded(chunk)
            emissions = model.emissions(batch.to(device), type_features).cpu()
            read(chunk)
            yield chunk, emissions, batch.mask
        return
    # Document memory pools a word's LSTM outputs over its whole document, wherever the
    # document's sentences fall among the batches: all outputs first, then the pooling
    # (of the projection's memory half, see ``BiLSTMCRF.memory_parts``).
    parts, masks = [], []
    for chunk in chunks:
        batch, type_features = encoded(chunk)
        parts.append([part.cpu() for part in model.memory_parts(model.token_states(batch.to(device), type_features))])
        masks.append(batch.mask)
        read(chunk)
    if not chunks:
        return
    # A chunk's tokens in a row; without padding (chunks of one length, no context) a view, not a boolean gather.
    counts = [sum(len(sentences[i]) for i in chunk) for chunk in chunks]
    flat = [values.flatten(0, 1) if count == mask.numel() else values[mask]
            for (_, values), mask, count in zip(parts, masks, counts)]
    shared = torch.cat(flat)  # shape: (N, K)
    ordered = [i for chunk in chunks for i in chunk]
    documents = documents if documents is not None else range(len(sentences))
    groups = encoder.word_groups([sentences[i] for i in ordered], [documents[i] for i in ordered])
    memory = mean_of_others(shared, groups)  # shape: (N, K)
    start = 0
    for chunk, (own, _), mask, count in zip(chunks, parts, masks, counts):
        if count == mask.numel():
            own += memory[start : start + count].view_as(own)
        else:
            own[mask] += memory[start : start + count]
        start += count
        yield chunk, own, mask


@contextlib.contextmanager
def evaluating(model: BiLSTMCRF) -> Iterator[BiLSTMCRF]:
    """The model in eval mode (no dropout) within the block, back in its own mode after."""
    was_training = model.training
    if was_training:  # switching modes walks every submodule: not on each call of a model already in eval mode
        model.eval()
    try:
        yield model
    finally:
        if was_training:
            model.train()


def _decode_batch(encoder, emissions: Tensor, mask: Tensor, potentials: Potentials, scheme: str, scores: bool,
                  nbest: int) -> list[Decoded]:
    """Results of a batch's sentences from their (tempered) tag scores (B, T, K) and mask (B, T)."""
    best, best_score = viterbi(emissions, mask, potentials)
    tags = encoder.tag_names(best)
    spans = [tags_to_spans(sentence_tags) for sentence_tags in tags]
    if not scores and not nbest:
        return [Decoded(sentence_tags, sentence_spans) for sentence_tags, sentence_spans in zip(tags, spans)]
    alpha, beta, log_z = forward_backward(emissions, mask, potentials)
    probabilities = torch.exp(best_score - log_z).tolist()
    results = []
    readings: list[list[tuple[list[str], float]]] = [[] for _ in tags]
    if nbest:
        paths, path_score = nbest_decode(emissions, mask, potentials, nbest)
        path_probability = torch.exp(path_score - log_z.unsqueeze(1)).tolist()
        for i in range(len(tags)):
            for r in range(nbest):
                if path_score[i, r] > float("-inf"):
                    readings[i].append((encoder.tag_names(paths[i, r : r + 1])[0], path_probability[i][r]))
    if scores:
        spans_scores = _entity_scores(encoder, scheme, tags, spans, alpha.numpy(), beta.numpy(), log_z.numpy(),
                                      emissions.numpy(), potentials.transitions.numpy())
    for i, sentence_tags in enumerate(tags):
        results.append(Decoded(
            sentence_tags,
            spans[i],
            probabilities[i] if scores else None,
            spans_scores[i] if scores else None,
            readings[i] if nbest else None,
        ))
    return results


def _entity_scores(encoder, scheme, tags, spans, alpha, beta, log_z, emissions, transitions) -> list[list[float]]:
    """Probability of each predicted entity (see the module docstring), from forward-backward scores."""
    vocabulary = encoder.tags
    all_scores = []
    for i, (sentence_tags, sentence_spans) in enumerate(zip(tags, spans)):
        length = len(sentence_tags)
        sentence_scores = []
        for label, start, end in sentence_spans:
            # With constraints these are the entity's canonical tags (B I* E / S, or B I*).
            path = vocabulary.ids(sentence_tags[start:end])
            prefix = alpha[i, start, path[0]]
            for offset in range(1, len(path)):
                prefix += transitions[path[offset - 1], path[offset]] + emissions[i, start + offset, path[offset]]
            probability = math.exp(prefix + beta[i, end - 1, path[-1]] - log_z[i])
            if scheme == "IOB2" and end < length:
                inside = vocabulary.id(f"I-{label}")
                # minus the readings in which the entity goes on past ``end``
                longer = prefix + transitions[path[-1], inside] + emissions[i, end, inside] + beta[i, end, inside]
                probability -= math.exp(longer - log_z[i])
            sentence_scores.append(min(1.0, max(0.0, float(probability))))
        all_scores.append(sentence_scores)
    return all_scores


def predict_tags(
    model: BiLSTMCRF, encoder: Encoder, sentences: Sequence[Sequence[str]], batch_size: int = 256,
    contexts: Sequence[Context] | None = None, documents: Sequence[int] | None = None, entity_bias: float = 0.0,
) -> list[list[str]]:
    """Tags (in the model's scheme, constrained decoding) of each token list, in input order."""
    decoded = decode_sentences(model, encoder, sentences, batch_size, contexts=contexts, documents=documents,
                               entity_bias=entity_bias)
    return [result.tags for result in decoded]


def predict_tags_by_bias(
    model: BiLSTMCRF, encoder: Encoder, sentences: Sequence[Sequence[str]], entity_biases: Sequence[float],
    batch_size: int = 256, contexts: Sequence[Context] | None = None, documents: Sequence[int] | None = None,
) -> list[list[list[str]]]:
    """``predict_tags``'s tags of each token list at each of ``entity_biases``, one list per bias.

    The bias only changes the CRF's tables (``decoding_potentials``), so the network reads each
    sentence once and Viterbi runs once a bias: choosing a bias among 17 on a dev split costs
    one pass of the network, not 17.
    """
    if any(len(tokens) > LONGEST_READ for tokens in sentences):  # cut in pieces: decode_sentences joins them
        return [predict_tags(model, encoder, sentences, batch_size, contexts, documents, bias) for bias in entity_biases]
    results: list[list[list[str]]] = [[[] for _ in sentences] for _ in entity_biases]
    with evaluating(model), torch.inference_mode():
        tables = [decoding_potentials(model, encoder, entity_bias=bias) for bias in entity_biases]
        for chunk, emissions, mask in _scored_batches(model, encoder, sentences, batch_size, contexts, documents):
            for tags_of, potentials in zip(results, tables):
                for i, tags in zip(chunk, encoder.tag_names(viterbi(emissions, mask, potentials)[0])):
                    tags_of[i] = tags
    return results


def entity_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict:
    """Entity-level precision, recall and F1 (fractions), scored like conlleval by seqeval.

    Both sides may be in any scheme; they are compared as IOB2.
    """
    # Imports scikit-learn (about a second), so only here. One call for the three scores: seqeval's
    # precision_score, recall_score and f1_score each call it, reading every entity again.
    from seqeval.metrics.sequence_labeling import precision_recall_fscore_support

    gold2 = [convert_tags(tags, "IOB2") for tags in gold]
    predicted2 = [convert_tags(tags, "IOB2") for tags in predicted]
    precision, recall, f1, _ = precision_recall_fscore_support(gold2, predicted2, average="micro", zero_division=0)
    return {"precision": float(precision), "recall": float(recall), "f1": float(f1)}


def type_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict[str, dict[str, float]]:
    """Each entity type's precision, recall, F1 (fractions) and support (gold entities), scored as ``entity_scores``."""
    from seqeval.metrics.sequence_labeling import precision_recall_fscore_support

    gold2 = [convert_tags(tags, "IOB2") for tags in gold]
    predicted2 = [convert_tags(tags, "IOB2") for tags in predicted]
    # seqeval's rows, in its order: the types of either side's entities, sorted (in IOB2 every tag but O is in one)
    names = entity_types(tag for tags in (*gold2, *predicted2) for tag in tags)
    if not names:
        return {}
    rows = precision_recall_fscore_support(gold2, predicted2, average=None, zero_division=0)
    return {name: {"precision": float(precision), "recall": float(recall), "f1": float(f1), "support": int(support)}
            for name, precision, recall, f1, support in zip(names, *rows)}


def classification_report(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> str:
    """seqeval's per-type report (conlleval-compatible mode), four digits; a line saying so if there are no entities."""
    from seqeval.metrics import classification_report as seqeval_report

    gold2 = [convert_tags(tags, "IOB2") for tags in gold]
    predicted2 = [convert_tags(tags, "IOB2") for tags in predicted]
    if not entity_types(tag for tags in (*gold2, *predicted2) for tag in tags):  # seqeval's report would fail
        return "no entities, in the gold tags or the predicted ones\n"
    return seqeval_report(gold2, predicted2, digits=4, zero_division=0)
