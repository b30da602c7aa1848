"""Exact inference over a linear-chain CRF, batched: Viterbi, n-best, forward-backward, marginals.

Everything here works on a CRF's three score tables — ``start_transitions``
(K,), ``end_transitions`` (K,) and ``transitions`` (K, K; from, to) — given as
a ``torchcrf.CRF`` or as ``Potentials``, which may add the tag scheme's
constraints (-inf on forbidden transitions) and a temperature. Back-pointers,
backtracking and the forward and backward scores stay in arrays for the whole
batch. With no constraints, ``viterbi_decode`` picks exactly the path
``CRF.decode`` picks (same float32 operations, same tie-breaking).

Tensors go in and come out, but the work is mostly done in NumPy: these loops
run T steps of small array operations, and NumPy's cost per operation is
several times lower than torch's, which makes single sentences and small
batches several times faster. Viterbi on large batches is the exception: there
torch's ``max``, which returns values and indices in one multi-threaded pass,
is about 3x faster than NumPy's argmax and gather.

Shapes: B sentences, T tokens (padded), K tags, N readings. ``mask`` (B, T) is
True on real tokens, left-aligned, and every sentence has a first token.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple, Protocol

import numpy as np
import torch
from torch import Tensor


class CRFScores(Protocol):
    start_transitions: Tensor
    end_transitions: Tensor
    transitions: Tensor


class Potentials(NamedTuple):
    """A CRF's score tables, as used for decoding (possibly constrained and tempered)."""

    start_transitions: Tensor  # (K,)
    end_transitions: Tensor  # (K,)
    transitions: Tensor  # (K, K), from -> to


def transition_penalties(allowed: Iterable[tuple[int, int]], num_tags: int) -> Tensor:
    """(K + 2, K + 2) table: 0 where ``allowed`` lists ``(from, to)``, -inf elsewhere.

    Pairs are as ``tagger.schemes.allowed_transitions`` gives them: K stands for
    START, K + 1 for END.
    """
    penalty = torch.full((num_tags + 2, num_tags + 2), float("-inf"))
    for source, target in allowed:
        penalty[source, target] = 0.0
    return penalty


def make_potentials(crf: CRFScores, penalties: Tensor | None = None, temperature: float = 1.0,
                    tag_bias: Tensor | None = None) -> Potentials:
    """The CRF's tables divided by ``temperature``, plus ``penalties`` (from ``transition_penalties``) if given.

    ``tag_bias`` (K,), if given, is added to each tag's score at every token: to its start score and to
    every transition into it, which is the same as adding it to every token's emissions (B, T, K).
    """
    # In NumPy: a few small operations, and its cost per operation is several times lower than torch's.
    num_tags = crf.transitions.shape[0]
    start, end, transitions = (p.detach().cpu().numpy() / np.float32(temperature) for p in
                               (crf.start_transitions, crf.end_transitions, crf.transitions))
    if penalties is not None:
        table = penalties.numpy()
        start = start + table[num_tags, :num_tags]
        end = end + table[:num_tags, num_tags + 1]
        transitions = transitions + table[:num_tags, :num_tags]
    if tag_bias is not None:
        bias = tag_bias.detach().cpu().numpy().astype(np.float32)
        start = start + bias
        transitions = transitions + bias[None, :]
    return Potentials(torch.from_numpy(start), torch.from_numpy(end), torch.from_numpy(transitions))


def _arrays(emissions: Tensor, mask: Tensor, crf: CRFScores) -> tuple[np.ndarray, ...]:
    """NumPy views of the inputs: emissions (B, T, K), mask (B, T), start (K,), end (K,), transitions (K, K)."""
    tables = (crf.start_transitions, crf.end_transitions, crf.transitions)
    arrays = tuple(t.detach().cpu().numpy() for t in (emissions, mask.bool(), *tables))
    batch_size, length, _ = arrays[0].shape
    if arrays[1].shape != (batch_size, length):
        raise ValueError(f"expected mask of shape {(batch_size, length)}, got {tuple(arrays[1].shape)}")
    if length and not arrays[1][:, 0].all():
        raise ValueError("every sentence needs at least one token: mask[:, 0] must be all True")
    return arrays


def viterbi_decode(emissions: Tensor, mask: Tensor, crf: CRFScores) -> Tensor:
    """Highest-scoring tag sequence of each sentence: ``viterbi(...)``'s tags."""
    return viterbi(emissions, mask, crf)[0]


def viterbi(emissions: Tensor, mask: Tensor, crf: CRFScores) -> tuple[Tensor, Tensor]:
    """Highest-scoring tag sequence of each sentence, and its score.

    Args:
        emissions: (B, T, K) per-token tag scores.
        mask: (B, T) bool.
        crf: score tables (a ``torchcrf.CRF`` or ``Potentials``).

    Returns:
        tags: (B, T) long tag ids; -1 past each sentence's end;
        scores: (B,) the paths' scores (start, emissions, transitions and end summed).
    """
    emissions, mask, start, end, transitions = _arrays(emissions, mask, crf)
    batch_size, length, num_tags = emissions.shape
    if length == 0:
        return torch.empty((batch_size, 0), dtype=torch.long), torch.zeros(batch_size)
    allowed = _allowed_previous(transitions) if batch_size * num_tags * num_tags >= _ALLOWED_ONLY_FROM else None
    chunks = _row_chunks(batch_size, allowed.candidates if allowed else num_tags * num_tags)
    if len(chunks) == 1:
        score, backpointers = _viterbi_forward_of(start, emissions, mask, transitions, allowed)
    else:
        parts = [_viterbi_forward_of(start, emissions[rows], mask[rows], transitions, allowed) for rows in chunks]
        score = np.concatenate([score for score, _ in parts])
        backpointers = np.concatenate([backpointers for _, backpointers in parts], axis=1)
    score = score + end
    tags = np.empty((batch_size, length), dtype=np.int64)
    tags[:, -1] = score.argmax(axis=1)
    rows = np.arange(batch_size)
    for t in range(length - 1, 0, -1):
        tags[:, t - 1] = backpointers[t, rows, tags[:, t]]
    return torch.from_numpy(np.where(mask, tags, -1)), torch.from_numpy(score[rows, tags[:, -1]])


# From this many (sentence, tag, tag) candidates a step, torch's max (values and indices in one
# pass, multi-threaded) beats NumPy's argmax then max; below it NumPy's lower cost per call wins.
_TORCH_VITERBI_FROM = 8192
# At most this many candidates a step (2 MB of float32), so that a step's arrays stay in the CPU's
# cache: with many tags a batch is decoded a few sentences at a time. 257 tags (64 entity types in
# BIOES), 512 sentences of 30 tokens: 0.62 s against 2.3 s in one piece; no change at 17 tags.
_CANDIDATES_PER_CHUNK = 2**19


def _row_chunks(batch_size: int, candidates_per_row: int) -> list[slice]:
    """Slices of the batch's rows, each of at most ``_CANDIDATES_PER_CHUNK`` candidates a step (one row at least)."""
    rows = max(1, _CANDIDATES_PER_CHUNK // candidates_per_row)
    return [slice(first, first + rows) for first in range(0, batch_size, rows)]


def _viterbi_forward_of(start, emissions, mask, transitions, allowed: "AllowedPrevious | None" = None
                        ) -> tuple[np.ndarray, np.ndarray]:
    """``_viterbi_forward`` on NumPy arrays, run in torch where the batch is large enough to gain by it;
    over the allowed transitions only where the constraints leave each tag few previous tags (``allowed``)."""
    batch_size, _, num_tags = emissions.shape
    if allowed is None and batch_size * num_tags * num_tags < _TORCH_VITERBI_FROM:
        return _viterbi_forward(np, start + emissions[:, 0], emissions, mask, _dense_step(np, transitions, batch_size))
    step = (_dense_step(torch, torch.from_numpy(transitions), batch_size) if allowed is None
            else _allowed_step(allowed, batch_size, torch.from_numpy(emissions).dtype))
    score, backpointers = _viterbi_forward(torch, torch.from_numpy(start + emissions[:, 0]),
                                           torch.from_numpy(emissions), torch.from_numpy(mask), step)
    return score.numpy(), backpointers.numpy()


class AllowedPrevious(NamedTuple):
    """The transitions a constrained CRF allows, in two groups of tags, for a Viterbi over those alone.

    In BIOES, O, B-x and S-x may follow O, E-y and S-y only, and I-x and E-x
    follow B-x and I-x only: of 257 x 257 transitions (64 types), 16,897 are
    allowed. The "wide" tags are scored against the union of their allowed
    previous tags (a (W, F) block of the table); each "narrow" tag against its
    own few (D of them, padded with a tag K that scores -inf).
    """

    wide: Tensor  # (W,) tags with many allowed previous tags
    wide_from: Tensor  # (F,) the tags any of them may follow, ascending
    wide_moves: Tensor  # (W, F) transitions[wide_from, wide].T: to, from
    narrow: Tensor  # (N,) the other tags
    narrow_from: Tensor  # (N, D) each one's allowed previous tags, ascending, padded with K
    narrow_moves: Tensor  # (N, D) their transitions; -inf at padding
    candidates: int  # W * F + N * D: candidates a sentence and step


# Viterbi looks at the allowed transitions only from 64 tags, where they are under half of all, and
# from this many (sentence, tag, tag) candidates a step; below either the dense step's fewer
# operations win. BIOES, one thread, 25 tokens a sentence, allowed only against dense: 257 tags,
# 1 sentence 2.24 against 1.67 ms, 2 sentences 2.76 against 3.57, 32 sentences 21.9 against 70.0;
# 129 tags, 4 sentences 2.20 against 2.10, 8 sentences 2.84 against 3.99; 65 tags, 32 sentences
# 3.40 against 5.19; 33 tags, 256 sentences 22.1 against 21.0.
_ALLOWED_ONLY_FROM = 2**17
_ALLOWED_ONLY_TAGS = 64


def _allowed_previous(transitions: np.ndarray) -> AllowedPrevious | None:
    """The ``AllowedPrevious`` of a (K, K) table whose forbidden transitions are -inf; None where the
    tags are few or most transitions are allowed (a dense step is then as fast)."""
    num_tags = len(transitions)
    if num_tags < _ALLOWED_ONLY_TAGS:
        return None
    allowed = np.isfinite(transitions)  # shape: (K from, K to)
    degree = allowed.sum(axis=0)
    narrow = np.flatnonzero(degree <= max(2, num_tags // 8))
    wide = np.flatnonzero(degree > max(2, num_tags // 8))
    wide_from = np.flatnonzero(allowed[:, wide].any(axis=1))
    width = int(degree[narrow].max()) if len(narrow) else 0
    candidates = len(wide) * len(wide_from) + len(narrow) * width
    if candidates * 2 > num_tags * num_tags:
        return None
    narrow_from = np.full((len(narrow), width), num_tags)
    for row, tag in enumerate(narrow):
        previous = np.flatnonzero(allowed[:, tag])
        narrow_from[row, : len(previous)] = previous
    padded = np.concatenate([transitions, np.full((1, num_tags), -np.inf, dtype=transitions.dtype)])
    return AllowedPrevious(
        torch.from_numpy(wide), torch.from_numpy(wide_from), torch.from_numpy(transitions[np.ix_(wide_from, wide)].T.copy()),
        torch.from_numpy(narrow), torch.from_numpy(narrow_from),
        torch.from_numpy(padded[narrow_from, narrow[:, None]]), candidates)


def _allowed_step(allowed: AllowedPrevious, batch_size: int, dtype: torch.dtype):
    """A Viterbi step (``_viterbi_forward``'s ``step``) in torch over the ``allowed`` transitions only: the dense
    step's scores and previous tags, ties included (each group's previous tags ascend, as the dense step's do),
    wherever a path is allowed."""
    narrow_rows = torch.arange(len(allowed.narrow))[None, :]
    forbidden = torch.full((batch_size, 1), float("-inf"), dtype=dtype)

    def step(score: Tensor, arriving: Tensor) -> tuple[Tensor, Tensor]:
        best_score = torch.empty(score.shape, dtype=dtype)
        best_previous = torch.empty(score.shape, dtype=torch.long)
        wide = score[:, allowed.wide_from][:, None, :] + allowed.wide_moves + arriving[:, allowed.wide, None]
        values, choices = wide.max(dim=2)  # shape: (B, W)
        best_score[:, allowed.wide], best_previous[:, allowed.wide] = values, allowed.wide_from[choices]
        if len(allowed.narrow):
            narrow = (torch.cat([score, forbidden], dim=1)[:, allowed.narrow_from] + allowed.narrow_moves
                      + arriving[:, allowed.narrow, None])  # shape: (B, N, D)
            values, choices = narrow.max(dim=2)  # shape: (B, N)
            best_score[:, allowed.narrow] = values
            best_previous[:, allowed.narrow] = allowed.narrow_from[narrow_rows, choices]
        return best_score, best_previous

    return step


def _dense_step(xp, transitions, batch_size: int):
    """A Viterbi step (``_viterbi_forward``'s ``step``) over all (K, K) transitions, in NumPy or torch (``xp``)."""
    into = transitions.T  # (to, from): the choice of previous tag on the last axis, where reductions are fastest
    num_tags = len(into)
    rows, columns = xp.arange(batch_size)[:, None], xp.arange(num_tags)[None, :]

    def step(score, arriving):
        candidates = score[:, None, :] + into + arriving[:, :, None]  # shape: (B, K to, K from)
        if xp is torch:
            return candidates.max(dim=2)  # shape: (B, K)
        best_previous = candidates.argmax(axis=2)
        return candidates[rows, columns, best_previous], best_previous

    return step


def _viterbi_forward(xp, score, emissions, mask, step):
    """Viterbi's forward pass in NumPy or torch (``xp``, the same operations in both).

    score: (B, K) scores of the first tokens; emissions (B, T, K); mask (B, T); ``step(score, arriving)``:
    each tag's best score given the (B, K) scores so far and the next token's (B, K) emissions, and its
    best previous tag (``_dense_step``, ``_allowed_step``).
    Returns the (B, K) best scores at each sentence's last token and the (T, B, K) back-pointers.
    """
    batch_size, length, num_tags = emissions.shape
    identity = xp.arange(num_tags)
    padded = not mask.all()
    backpointers = xp.zeros((length, batch_size, num_tags), dtype=xp.int64)
    for t in range(1, length):
        best_score, best_previous = step(score, emissions[:, t])
        if padded:
            # Past a sentence's end, each tag points to itself, so backtracking
            # carries the sentence's best last tag back to its real last token.
            active = mask[:, t, None]
            best_score = xp.where(active, best_score, score)
            best_previous = xp.where(active, best_previous, identity)
        score = best_score
        backpointers[t] = best_previous
    return score, backpointers


def nbest_decode(emissions: Tensor, mask: Tensor, crf: CRFScores, n: int) -> tuple[Tensor, Tensor]:
    """The ``n`` highest-scoring tag sequences of each sentence, best first.

    Returns:
        tags: (B, N, T) long tag ids, -1 past each sentence's end;
        scores: (B, N) path scores; -inf where a sentence has fewer than N allowed paths.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    chunks = _row_chunks(emissions.shape[0], emissions.shape[2] ** 2 * n)
    if len(chunks) > 1:
        parts = [nbest_decode(emissions[rows], mask[rows], crf, n) for rows in chunks]
        return torch.cat([tags for tags, _ in parts]), torch.cat([scores for _, scores in parts])
    emissions, mask, start, end, transitions = _arrays(emissions, mask, crf)
    batch_size, length, num_tags = emissions.shape
    # scores[b, k, r]: score of the r-th best prefix ending in tag k.
    scores = np.full((batch_size, num_tags, n), -np.inf, dtype=emissions.dtype)
    scores[:, :, 0] = start + emissions[:, 0]
    identity = np.broadcast_to(np.arange(num_tags * n).reshape(1, num_tags, n), (batch_size, num_tags, n))
    # moves[to, from * N + r] = transitions[from, to]: candidates laid out with the choice on the last axis.
    moves = np.repeat(transitions.T, n, axis=1)  # shape: (K, K * N)
    backpointers = []
    for t in range(1, length):
        candidates = (
            scores.reshape(batch_size, 1, num_tags * n) + moves + emissions[:, t, :, None]
        )  # shape: (B, K to, K from * N)
        index, top = _top(candidates, n)  # shape: (B, K, N), flat (from tag, rank)
        active = mask[:, t, None, None]
        scores = np.where(active, top, scores)
        backpointers.append(np.where(active, index, identity))
    final = (scores + end[None, :, None]).reshape(batch_size, num_tags * n)
    position, best = _top(final, n)  # shape: (B, N)
    tags = np.empty((batch_size, n, length), dtype=np.int64)
    tags[:, :, -1] = position // n
    for t in range(length - 1, 0, -1):
        position = np.take_along_axis(backpointers[t - 1].reshape(batch_size, num_tags * n), position, axis=1)
        tags[:, :, t - 1] = position // n
    return torch.from_numpy(np.where(mask[:, None, :], tags, -1)), torch.from_numpy(best)


def _top(values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the ``n`` largest entries along the last axis, largest first."""
    # torch's topk beats NumPy's argpartition many times over on many short rows.
    top = torch.from_numpy(values).topk(min(n, values.shape[-1]), dim=-1)
    return top.indices.numpy(), top.values.numpy()


def forward_backward(emissions: Tensor, mask: Tensor, crf: CRFScores) -> tuple[Tensor, Tensor, Tensor]:
    """Forward and backward log scores, and the log partition function.

    Returns:
        alpha: (B, T, K), log-sum of the scores of every prefix ending in tag k at t (its emission included);
        beta: (B, T, K), log-sum of every suffix after tag k at t (the end transition included);
        log_z: (B,), log-sum of the scores of all tag sequences.
        Positions past a sentence's end hold values of no meaning.
    """
    emissions, mask, start, end, transitions = _arrays(emissions, mask, crf)
    batch_size, length, num_tags = emissions.shape
    last = mask.sum(axis=1) - 1  # shape: (B,)
    padded = not mask.all()
    # Sums over the previous (or next) tag as matrix products in exp space, each
    # step shifted by its maximum: logsumexp's values with far fewer operations.
    # The forward pass (to t) and the backward pass (to T - 1 - t) run as one
    # stacked array: each step's operations serve both, which halves their number.
    shift = transitions[np.isfinite(transitions)].max()
    with np.errstate(divide="ignore", invalid="ignore"):
        moves = np.stack([transitions, transitions.T])
        moves = np.exp(moves - shift)  # shape: (2, K, K): forward, backward; 0 where forbidden
        by_step = emissions.transpose(1, 0, 2)  # shape: (T, B, K)
        addends = np.stack([by_step, by_step[::-1]], axis=1)  # shape: (T, 2, B, K)
        alpha = np.empty((batch_size, length, num_tags), dtype=emissions.dtype)
        beta = np.empty_like(alpha)
        alpha[:, 0] = start + emissions[:, 0]
        beta[:, -1] = end
        state = np.stack([alpha[:, 0], end + emissions[:, -1]])  # shape: (2, B, K): alpha, emission + beta
        for t in range(1, length):
            back = length - 1 - t
            top = np.maximum(state.max(axis=2, keepdims=True), -1e30)  # shape: (2, B, 1)
            step = np.log(np.exp(state - top) @ moves) + (top + shift)
            if padded:  # a shorter sentence's backward pass starts at its last token
                step[1] = np.where((last == back)[:, None], end, step[1])
            beta[:, back] = step[1]
            state = step + addends[t]
            alpha[:, t] = state[0]
        final = alpha[np.arange(batch_size), last] + end  # shape: (B, K)
        top = np.maximum(final.max(axis=1, keepdims=True), -1e30)
        log_z = np.log(np.exp(final - top).sum(axis=1)) + top[:, 0]
    return torch.from_numpy(alpha), torch.from_numpy(beta), torch.from_numpy(log_z)


def token_marginals(emissions: Tensor, mask: Tensor, crf: CRFScores) -> Tensor:
    """(B, T, K) probability of each tag at each token; 0 past each sentence's end."""
    alpha, beta, log_z = forward_backward(emissions, mask, crf)
    marginals = torch.exp(alpha + beta - log_z.view(-1, 1, 1))
    return torch.where(mask.unsqueeze(2), marginals, 0.0)  # not a product: padding may hold inf


def transition_marginals(emissions: Tensor, mask: Tensor, crf: CRFScores) -> Tensor:
    """(B, K, K) expected number of times each transition (from, to) occurs in each sentence.

    The sum over a sentence's steps t of P(tag j at t - 1 and tag k at t); it
    sums to the sentence's length minus one.
    """
    alpha, beta, log_z = forward_backward(emissions, mask, crf)
    transitions = crf.transitions.detach().cpu()
    arriving = emissions.detach().cpu()[:, 1:] + beta[:, 1:]  # shape: (B, T - 1, K)
    log_pairs = alpha[:, :-1, :, None] + transitions + arriving[:, :, None, :] - log_z.view(-1, 1, 1, 1)
    pairs = torch.exp(log_pairs)  # shape: (B, T - 1, K, K)
    pairs = torch.where(mask.cpu()[:, 1:, None, None], pairs, 0.0)  # not a product: padding may hold inf
    return pairs.sum(dim=1)
