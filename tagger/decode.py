"""Batched Viterbi decoding over a ``torchcrf.CRF``'s parameters.

``CRF.decode`` backtracks sentence by sentence in Python and returns lists;
this decoder keeps back-pointers and backtracking in tensors for the whole
batch, and picks the same path (same operations, same tie-breaking).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchcrf import CRF


def viterbi_decode(emissions: Tensor, mask: Tensor, crf: CRF) -> Tensor:
    """Highest-scoring tag sequence of each sentence.

    Args:
        emissions: (B, T, K) per-token tag scores.
        mask: (B, T) bool, True on real tokens, left-aligned; every row has a first token.
        crf: the layer whose ``start_transitions`` (K,), ``end_transitions`` (K,)
            and ``transitions`` (K, K; from, to) score the path.

    Returns:
        (B, T) long tag ids; -1 past each sentence's end.
    """
    batch_size, length, num_tags = emissions.shape
    if mask.shape != (batch_size, length):
        raise ValueError(f"expected mask of shape {(batch_size, length)}, got {tuple(mask.shape)}")
    if length == 0:
        return emissions.new_empty((batch_size, 0), dtype=torch.long)
    if not bool(mask[:, 0].all()):
        raise ValueError("every sentence needs at least one token: mask[:, 0] must be all True")
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
