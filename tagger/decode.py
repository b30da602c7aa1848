"""Exact inference over a linear-chain CRF, batched: Viterbi, n-best, forward-backward.

Everything here works on a CRF's three score tables — ``start_transitions``
(K,), ``end_transitions`` (K,) and ``transitions`` (K, K; from, to) — given as
a ``torchcrf.CRF`` or as ``Potentials``, which may add the tag scheme's
constraints (-inf on forbidden transitions) and a temperature. Back-pointers,
backtracking and the forward and backward scores stay in tensors for the whole
batch. With no constraints, ``viterbi_decode`` picks exactly the path
``CRF.decode`` picks (same operations, same tie-breaking).

Shapes: B sentences, T tokens (padded), K tags, N readings. ``mask`` (B, T) is
True on real tokens, left-aligned, and every sentence has a first token.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple, Protocol

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


def make_potentials(crf: CRFScores, penalties: Tensor | None = None, temperature: float = 1.0) -> Potentials:
    """The CRF's tables divided by ``temperature``, plus ``penalties`` (from ``transition_penalties``) if given."""
    num_tags = crf.transitions.shape[0]
    start, end, transitions = (p.detach() / temperature for p in
                               (crf.start_transitions, crf.end_transitions, crf.transitions))
    if penalties is not None:
        start = start + penalties[num_tags, :num_tags]
        end = end + penalties[:num_tags, num_tags + 1]
        transitions = transitions + penalties[:num_tags, :num_tags]
    return Potentials(start, end, transitions)


def _check(emissions: Tensor, mask: Tensor) -> None:
    batch_size, length, _ = emissions.shape
    if mask.shape != (batch_size, length):
        raise ValueError(f"expected mask of shape {(batch_size, length)}, got {tuple(mask.shape)}")
    if length and not bool(mask[:, 0].all()):
        raise ValueError("every sentence needs at least one token: mask[:, 0] must be all True")


def viterbi_decode(emissions: Tensor, mask: Tensor, crf: CRFScores) -> Tensor:
    """Highest-scoring tag sequence of each sentence.

    Args:
        emissions: (B, T, K) per-token tag scores.
        mask: (B, T) bool.
        crf: score tables (a ``torchcrf.CRF`` or ``Potentials``).

    Returns:
        (B, T) long tag ids; -1 past each sentence's end.
    """
    _check(emissions, mask)
    batch_size, length, num_tags = emissions.shape
    if length == 0:
        return emissions.new_empty((batch_size, 0), dtype=torch.long)
    mask = mask.bool()
    score = crf.start_transitions + emissions[:, 0]  # shape: (B, K)
    identity = torch.arange(num_tags, device=emissions.device).expand(batch_size, num_tags)
    backpointers = []
    for t in range(1, length):
        candidates = score.unsqueeze(2) + crf.transitions + emissions[:, t].unsqueeze(1)  # shape: (B, K, K)
        best_score, best_previous = candidates.max(dim=1)  # shape: (B, K)
        active = mask[:, t].unsqueeze(1)
        score = torch.where(active, best_score, score)
        # Past a sentence's end, each tag points to itself, so backtracking
        # carries the sentence's best last tag back to its real last token.
        backpointers.append(torch.where(active, best_previous, identity))
    score = score + crf.end_transitions
    tags = emissions.new_empty((batch_size, length), dtype=torch.long)
    tags[:, -1] = score.argmax(dim=1)
    for t in range(length - 1, 0, -1):
        tags[:, t - 1] = backpointers[t - 1].gather(1, tags[:, t].unsqueeze(1)).squeeze(1)
    return tags.masked_fill(~mask, -1)


def nbest_decode(emissions: Tensor, mask: Tensor, crf: CRFScores, n: int) -> tuple[Tensor, Tensor]:
    """The ``n`` highest-scoring tag sequences of each sentence, best first.

    Returns:
        tags: (B, N, T) long tag ids, -1 past each sentence's end;
        scores: (B, N) path scores; -inf where a sentence has fewer than N allowed paths.
    """
    _check(emissions, mask)
    batch_size, length, num_tags = emissions.shape
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    mask = mask.bool()
    # scores[b, k, r]: score of the r-th best prefix ending in tag k.
    scores = emissions.new_full((batch_size, num_tags, n), float("-inf"))
    scores[:, :, 0] = crf.start_transitions + emissions[:, 0]
    identity = torch.arange(num_tags * n, device=emissions.device).view(1, num_tags, n).expand(batch_size, -1, -1)
    backpointers = []
    for t in range(1, length):
        candidates = (
            scores.unsqueeze(3) + crf.transitions.view(1, num_tags, 1, num_tags)
            + emissions[:, t].view(batch_size, 1, 1, num_tags)
        )  # shape: (B, K from, N, K to)
        top, index = candidates.reshape(batch_size, num_tags * n, num_tags).topk(n, dim=1)  # shape: (B, N, K)
        active = mask[:, t].view(batch_size, 1, 1)
        scores = torch.where(active, top.transpose(1, 2), scores)
        backpointers.append(torch.where(active, index.transpose(1, 2), identity))  # flat (from tag, rank)
    final = (scores + crf.end_transitions.view(1, num_tags, 1)).reshape(batch_size, num_tags * n)
    best, position = final.topk(n, dim=1)  # shape: (B, N)
    tags = emissions.new_empty((batch_size, n, length), dtype=torch.long)
    tags[:, :, -1] = position // n
    for t in range(length - 1, 0, -1):
        position = backpointers[t - 1].reshape(batch_size, num_tags * n).gather(1, position)
        tags[:, :, t - 1] = position // n
    return tags.masked_fill(~mask.unsqueeze(1), -1), best


def forward_backward(emissions: Tensor, mask: Tensor, crf: CRFScores) -> tuple[Tensor, Tensor, Tensor]:
    """Forward and backward log scores, and the log partition function.

    Returns:
        alpha: (B, T, K), log-sum of the scores of every prefix ending in tag k at t (its emission included);
        beta: (B, T, K), log-sum of every suffix after tag k at t (the end transition included);
        log_z: (B,), log-sum of the scores of all tag sequences.
        Positions past a sentence's end hold values of no meaning.
    """
    _check(emissions, mask)
    batch_size, length, num_tags = emissions.shape
    mask = mask.bool()
    # Sums over the previous (or next) tag as matrix products in exp space, each
    # step shifted by its maximum: the same values as logsumexp, several times faster.
    shift = crf.transitions.masked_fill(torch.isinf(crf.transitions), float("-inf")).max()
    moves = torch.exp(crf.transitions - shift)  # shape: (K, K); 0 where forbidden
    alpha = [crf.start_transitions + emissions[:, 0]]
    for t in range(1, length):
        previous = alpha[-1]
        top = previous.max(dim=1, keepdim=True).values.clamp_(min=-1e30)  # shape: (B, 1)
        step = torch.log(torch.exp(previous - top) @ moves) + (top + shift) + emissions[:, t]
        alpha.append(torch.where(mask[:, t].unsqueeze(1), step, previous))
    end = crf.end_transitions.expand(batch_size, num_tags)
    beta = [end]
    moves_back = moves.t()
    for t in range(length - 2, -1, -1):
        following = emissions[:, t + 1] + beta[-1]  # shape: (B, K)
        top = following.max(dim=1, keepdim=True).values.clamp_(min=-1e30)
        step = torch.log(torch.exp(following - top) @ moves_back) + (top + shift)
        beta.append(torch.where(mask[:, t + 1].unsqueeze(1), step, end))
    beta.reverse()
    log_z = torch.logsumexp(alpha[-1] + crf.end_transitions, dim=1)
    return torch.stack(alpha, dim=1), torch.stack(beta, dim=1), log_z


def token_marginals(emissions: Tensor, mask: Tensor, crf: CRFScores) -> Tensor:
    """(B, T, K) probability of each tag at each token; 0 past each sentence's end."""
    alpha, beta, log_z = forward_backward(emissions, mask, crf)
    marginals = torch.exp(alpha + beta - log_z.view(-1, 1, 1))
    return marginals * mask.unsqueeze(2)


def path_scores(emissions: Tensor, mask: Tensor, crf: CRFScores, tags: Tensor) -> Tensor:
    """(B,) score of the given (B, T) tag sequences (padding positions ignored)."""
    _check(emissions, mask)
    mask = mask.bool()
    safe = tags.clamp(min=0)
    emitted = emissions.gather(2, safe.unsqueeze(2)).squeeze(2)  # shape: (B, T)
    moves = crf.transitions[safe[:, :-1], safe[:, 1:]]  # shape: (B, T - 1)
    steps = torch.where(mask[:, 1:], emitted[:, 1:] + moves, torch.zeros_like(moves))
    last = safe.gather(1, (mask.sum(dim=1) - 1).unsqueeze(1)).squeeze(1)
    return crf.start_transitions[safe[:, 0]] + emitted[:, 0] + steps.sum(dim=1) + crf.end_transitions[last]
