import itertools

import pytest
import torch
from torchcrf import CRF

from tagger.decode import viterbi_decode


def random_crf(num_tags, seed):
    generator = torch.Generator().manual_seed(seed)
    crf = CRF(num_tags, batch_first=True)
    with torch.no_grad():
        for parameter in (crf.start_transitions, crf.end_transitions, crf.transitions):
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 2)
    return crf, generator


def path_score(crf, emissions, path):
    """Score of one tag sequence for one sentence's emissions (T, K)."""
    score = crf.start_transitions[path[0]] + emissions[0, path[0]]
    for t in range(1, len(path)):
        score = score + crf.transitions[path[t - 1], path[t]] + emissions[t, path[t]]
    return score + crf.end_transitions[path[-1]]


def all_paths(crf, emissions):
    """Every tag sequence of a (T, K) sentence with its score, by enumeration."""
    length, num_tags = emissions.shape
    return [(path, path_score(crf, emissions, path)) for path in itertools.product(range(num_tags), repeat=length)]


def ragged_batch(seed, num_tags=4, lengths=(5, 1, 3, 4)):
    crf, generator = random_crf(num_tags, seed)
    emissions = torch.randn((len(lengths), max(lengths), num_tags), generator=generator) * 3
    mask = torch.arange(max(lengths)).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    return crf, emissions, mask, lengths


@pytest.mark.parametrize("seed", range(5))
def test_log_likelihood_matches_brute_force(seed):
    crf, emissions, mask, lengths = ragged_batch(seed)
    generator = torch.Generator().manual_seed(seed + 100)
    tags = torch.randint(0, 4, mask.shape, generator=generator)
    with torch.no_grad():
        computed = crf(emissions, tags, mask=mask, reduction="none")
    for i, n in enumerate(lengths):
        scores = torch.stack([score for _, score in all_paths(crf, emissions[i, :n])])
        expected = path_score(crf, emissions[i, :n], tags[i, :n].tolist()) - torch.logsumexp(scores, 0)
        assert computed[i].item() == pytest.approx(expected.item(), abs=1e-4)


@pytest.mark.parametrize("seed", range(5))
def test_viterbi_matches_brute_force_and_torchcrf(seed):
    crf, emissions, mask, lengths = ragged_batch(seed)
    with torch.no_grad():
        decoded = viterbi_decode(emissions, mask, crf)
        reference = crf.decode(emissions, mask=mask)
    assert decoded.shape == mask.shape
    for i, n in enumerate(lengths):
        best_path, _ = max(all_paths(crf, emissions[i, :n]), key=lambda pair: pair[1].item())
        assert decoded[i, :n].tolist() == list(best_path)
        assert decoded[i, n:].tolist() == [-1] * (mask.shape[1] - n)
        assert decoded[i, :n].tolist() == reference[i]


def test_batched_equals_one_by_one_and_length_one():
    crf, emissions, mask, lengths = ragged_batch(7, num_tags=6, lengths=(9, 1, 6, 2, 9))
    with torch.no_grad():
        batched = viterbi_decode(emissions, mask, crf)
        for i, n in enumerate(lengths):
            alone = viterbi_decode(emissions[i : i + 1, :n], mask[i : i + 1, :n], crf)
            assert alone[0].tolist() == batched[i, :n].tolist()


def test_larger_random_batches_agree_with_torchcrf():
    crf, generator = random_crf(9, 11)
    lengths = torch.randint(1, 40, (64,), generator=generator)
    emissions = torch.randn((64, int(lengths.max()), 9), generator=generator)
    mask = torch.arange(int(lengths.max())).unsqueeze(0) < lengths.unsqueeze(1)
    with torch.no_grad():
        decoded = viterbi_decode(emissions, mask, crf)
        reference = crf.decode(emissions, mask=mask)
    assert [row[: len(ref)] for row, ref in zip(decoded.tolist(), reference)] == reference


def test_errors():
    crf, emissions, mask, _ = ragged_batch(0)
    with pytest.raises(ValueError, match="expected mask of shape"):
        viterbi_decode(emissions, mask[:, :2], crf)
    empty_first = mask.clone()
    empty_first[1, 0] = False
    with pytest.raises(ValueError, match="at least one token"):
        viterbi_decode(emissions, empty_first, crf)
