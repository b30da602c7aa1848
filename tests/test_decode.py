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


# Small batches run Viterbi in NumPy, large ones in torch, and with many tags a few sentences at a
# time: each must pick CRF.decode's paths, ties included.
@pytest.mark.parametrize("batch_size, num_tags", [(64, 9), (128, 17), (20, 257)])
@pytest.mark.parametrize("ties", [False, True])
def test_larger_random_batches_agree_with_torchcrf(batch_size, num_tags, ties):
    from tagger import decode

    crf, generator = random_crf(num_tags, 11)
    lengths = torch.randint(1, 40, (batch_size,), generator=generator)
    emissions = torch.randn((batch_size, int(lengths.max()), num_tags), generator=generator)
    if ties:  # many equal candidates: the first best previous tag must win, as in torch's max
        emissions = emissions.round()
        with torch.no_grad():
            for parameter in (crf.start_transitions, crf.end_transitions, crf.transitions):
                parameter.copy_(parameter.round())
    mask = torch.arange(int(lengths.max())).unsqueeze(0) < lengths.unsqueeze(1)
    uses_torch = batch_size * num_tags * num_tags >= decode._TORCH_VITERBI_FROM
    assert uses_torch == (num_tags != 9)
    assert (len(decode._row_chunks(batch_size, num_tags * num_tags)) > 1) == (num_tags == 257)
    with torch.no_grad():
        decoded = viterbi_decode(emissions, mask, crf)
        reference = crf.decode(emissions, mask=mask)
    assert [row[: len(ref)] for row, ref in zip(decoded.tolist(), reference)] == reference
    assert all(row[len(ref) :] == [-1] * (len(row) - len(ref)) for row, ref in zip(decoded.tolist(), reference))


def test_errors():
    crf, emissions, mask, _ = ragged_batch(0)
    with pytest.raises(ValueError, match="expected mask of shape"):
        viterbi_decode(emissions, mask[:, :2], crf)
    empty_first = mask.clone()
    empty_first[1, 0] = False
    with pytest.raises(ValueError, match="at least one token"):
        viterbi_decode(emissions, empty_first, crf)


from tagger.decode import (  # noqa: E402
    forward_backward,
    make_potentials,
    nbest_decode,
    viterbi,
    transition_penalties,
    token_marginals,
)
from tagger.schemes import allowed_transitions  # noqa: E402

BIOES_TAGS = ["O", "B-X", "I-X", "E-X", "S-X"]


def constrained_batch(seed, lengths=(4, 1, 3)):
    crf, emissions, mask, lengths = ragged_batch(seed, num_tags=len(BIOES_TAGS), lengths=lengths)
    return make_potentials(crf, transition_penalties(allowed_transitions(BIOES_TAGS, "BIOES"), 5)), emissions, mask, lengths


def allowed_paths(potentials, emissions):
    return [(p, s) for p, s in all_paths(potentials, emissions) if s.item() > float("-inf")]


@pytest.mark.parametrize("seed", range(4))
def test_constrained_viterbi_is_the_best_allowed_path(seed):
    potentials, emissions, mask, lengths = constrained_batch(seed)
    decoded = viterbi_decode(emissions, mask, potentials)
    for i, n in enumerate(lengths):
        best, _ = max(allowed_paths(potentials, emissions[i, :n]), key=lambda pair: pair[1].item())
        assert decoded[i, :n].tolist() == list(best)


@pytest.mark.parametrize("seed", range(4))
def test_marginals_and_partition_match_brute_force(seed):
    potentials, emissions, mask, lengths = constrained_batch(seed)
    _, _, log_z = forward_backward(emissions, mask, potentials)
    marginals = token_marginals(emissions, mask, potentials)
    for i, n in enumerate(lengths):
        paths = allowed_paths(potentials, emissions[i, :n])
        scores = torch.stack([score for _, score in paths])
        assert log_z[i].item() == pytest.approx(torch.logsumexp(scores, 0).item(), abs=1e-4)
        probabilities = torch.softmax(scores, 0)
        expected = torch.zeros(n, len(BIOES_TAGS))
        for (path, _), probability in zip(paths, probabilities):
            for t, tag in enumerate(path):
                expected[t, tag] += probability
        assert torch.allclose(marginals[i, :n], expected, atol=1e-5)
        assert marginals[i, n:].abs().sum() == 0


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("constrained", [True, False])
def test_nbest_is_the_top_of_the_enumeration(seed, constrained):
    crf, emissions, mask, lengths = ragged_batch(seed, num_tags=len(BIOES_TAGS), lengths=(4, 1, 3))
    penalties = transition_penalties(allowed_transitions(BIOES_TAGS, "BIOES"), 5) if constrained else None
    potentials = make_potentials(crf, penalties)
    n = 7
    tags, scores = nbest_decode(emissions, mask, potentials, n)
    assert tags.shape == (3, n, 4) and scores.shape == (3, n)
    for i, length in enumerate(lengths):
        ranked = sorted(allowed_paths(potentials, emissions[i, :length]), key=lambda pair: -pair[1].item())[:n]
        found = [(tuple(tags[i, r, :length].tolist()), scores[i, r].item()) for r in range(n)
                 if scores[i, r].item() > float("-inf")]
        assert [path for path, _ in found] == [path for path, _ in ranked]
        assert [score for _, score in found] == pytest.approx([score.item() for _, score in ranked], abs=1e-4)
        assert all(tags[i, r, length:].tolist() == [-1] * (4 - length) for r in range(n))
    best = viterbi_decode(emissions, mask, potentials)
    assert torch.equal(tags[:, 0], best)


@pytest.mark.parametrize("seed", range(3))
def test_decoding_a_few_sentences_at_a_time_changes_no_path(seed, monkeypatch):
    from tagger import decode

    crf, emissions, mask, lengths = ragged_batch(seed, num_tags=len(BIOES_TAGS), lengths=(4, 1, 3, 2, 4))
    potentials = make_potentials(crf, transition_penalties(allowed_transitions(BIOES_TAGS, "BIOES"), 5))
    whole = viterbi(emissions, mask, potentials), nbest_decode(emissions, mask, potentials, 3)
    monkeypatch.setattr(decode, "_CANDIDATES_PER_CHUNK", 2 * len(BIOES_TAGS) ** 2)  # Viterbi: two sentences a chunk
    assert len(decode._row_chunks(len(lengths), len(BIOES_TAGS) ** 2)) == 3
    assert len(decode._row_chunks(len(lengths), len(BIOES_TAGS) ** 2 * 3)) == 5
    chunked = viterbi(emissions, mask, potentials), nbest_decode(emissions, mask, potentials, 3)
    for (tags, scores), (chunked_tags, chunked_scores) in zip(whole, chunked):
        assert torch.equal(tags, chunked_tags) and torch.equal(scores, chunked_scores)


@pytest.mark.parametrize("types", [16, 64])
@pytest.mark.parametrize("ties", [False, True])
def test_viterbi_over_allowed_transitions_only_picks_the_dense_steps_paths(types, ties, monkeypatch):
    from tagger import decode

    tags = ["O"] + [f"{prefix}-T{k}" for k in range(types) for prefix in "BIES"]
    crf, generator = random_crf(len(tags), types)
    lengths = torch.randint(1, 30, (40,), generator=generator)
    emissions = torch.randn((40, int(lengths.max()), len(tags)), generator=generator)
    if ties:  # many equal candidates: the first best previous tag must win, as in the dense step
        emissions = emissions.round()
        with torch.no_grad():
            for parameter in (crf.start_transitions, crf.end_transitions, crf.transitions):
                parameter.copy_(parameter.round())
    mask = torch.arange(int(lengths.max())).unsqueeze(0) < lengths.unsqueeze(1)
    potentials = make_potentials(crf, transition_penalties(allowed_transitions(tags, "BIOES"), len(tags)))
    allowed = decode._allowed_previous(potentials.transitions.numpy())
    assert allowed.candidates == (2 * types + 1) ** 2 + 2 * types * 2  # of (4 * types + 1) ** 2
    assert 40 * len(tags) ** 2 >= decode._ALLOWED_ONLY_FROM
    best, scores = viterbi(emissions, mask, potentials)
    monkeypatch.setattr(decode, "_ALLOWED_ONLY_FROM", float("inf"))
    dense_best, dense_scores = viterbi(emissions, mask, potentials)
    assert torch.equal(best, dense_best) and torch.equal(scores, dense_scores)
    unconstrained = make_potentials(crf)
    assert decode._allowed_previous(unconstrained.transitions.numpy()) is None  # every transition allowed


@pytest.mark.parametrize("seed", range(4))
def test_viterbi_scores_its_paths_and_tempered_potentials(seed):
    potentials, emissions, mask, lengths = constrained_batch(seed, lengths=(4, 1, 3, 2))
    best, computed = viterbi(emissions, mask, potentials)
    assert torch.equal(best, viterbi_decode(emissions, mask, potentials))
    for i, n in enumerate(lengths):
        expected = max(score.item() for _, score in allowed_paths(potentials, emissions[i, :n]))
        assert computed[i].item() == pytest.approx(expected, abs=1e-4)
        assert computed[i].item() == pytest.approx(path_score(potentials, emissions[i, :n], best[i, :n].tolist()).item(), abs=1e-4)
    crf, *_ = ragged_batch(3)
    hot = make_potentials(crf, temperature=2.0)
    assert torch.allclose(hot.transitions, crf.transitions.detach() / 2)


def test_unconstrained_potentials_decode_exactly_like_torchcrf():
    crf, generator = random_crf(9, 12)
    lengths = torch.randint(1, 30, (32,), generator=generator)
    emissions = torch.randn((32, int(lengths.max()), 9), generator=generator)
    mask = torch.arange(int(lengths.max())).unsqueeze(0) < lengths.unsqueeze(1)
    with torch.no_grad():
        decoded = viterbi_decode(emissions, mask, make_potentials(crf))
        reference = crf.decode(emissions, mask=mask)
    assert [row[: len(ref)] for row, ref in zip(decoded.tolist(), reference)] == reference


def test_forward_backward_ignores_what_padding_holds():
    potentials, emissions, mask, lengths = constrained_batch(1, lengths=(5, 1, 3, 5))
    loud = emissions.clone()
    loud[~mask] = 1e3  # past the end: huge scores, which must not reach any result
    alpha, beta, log_z = forward_backward(emissions, mask, potentials)
    loud_alpha, loud_beta, loud_log_z = forward_backward(loud, mask, potentials)
    torch.testing.assert_close(loud_log_z, log_z)
    torch.testing.assert_close(loud_alpha[mask], alpha[mask])
    torch.testing.assert_close(loud_beta[mask], beta[mask])
    marginals = token_marginals(loud, mask, potentials)
    assert torch.isfinite(marginals).all() and marginals[~mask].abs().sum() == 0
    torch.testing.assert_close(marginals, token_marginals(emissions, mask, potentials))


from tagger.decode import transition_marginals  # noqa: E402
from tagger.model import TagDistribution, crf_loss  # noqa: E402


def enumerated_distribution(potentials, emissions):
    """(paths, probabilities) of every allowed tag sequence of a (T, K) sentence."""
    paths = allowed_paths(potentials, emissions)
    return [path for path, _ in paths], torch.softmax(torch.stack([score for _, score in paths]), 0)


@pytest.mark.parametrize("seed", range(4))
def test_transition_marginals_match_brute_force(seed):
    potentials, emissions, mask, lengths = constrained_batch(seed)
    computed = transition_marginals(emissions, mask, potentials)
    assert computed.shape == (len(lengths), len(BIOES_TAGS), len(BIOES_TAGS))
    for i, n in enumerate(lengths):
        expected = torch.zeros(len(BIOES_TAGS), len(BIOES_TAGS))
        for path, probability in zip(*enumerated_distribution(potentials, emissions[i, :n])):
            for source, target in zip(path, path[1:]):
                expected[source, target] += probability
        assert torch.allclose(computed[i], expected, atol=1e-5)
        assert computed[i].sum().item() == pytest.approx(n - 1, abs=1e-4)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("weight", [1.0, 0.3])
def test_distillation_loss_is_the_cross_entropy_to_the_teachers_distribution(seed, weight):
    # A teacher (constrained, its own scores) and a student CRF; the loss against brute-force sums over all paths.
    teacher, teacher_emissions, mask, lengths = constrained_batch(seed)
    student, generator = random_crf(len(BIOES_TAGS), seed + 50)
    emissions = torch.randn(teacher_emissions.shape, generator=generator) * 2
    gold = torch.randint(0, len(BIOES_TAGS), mask.shape, generator=generator)
    distribution = TagDistribution(token_marginals(teacher_emissions, mask, teacher),
                                   transition_marginals(teacher_emissions, mask, teacher))
    with torch.no_grad():
        computed = crf_loss(student, emissions, gold, mask, distribution, weight)
    expected = []
    for i, n in enumerate(lengths):
        scores = {path: score for path, score in all_paths(student, emissions[i, :n])}
        log_z = torch.logsumexp(torch.stack(list(scores.values())), 0)
        cross_entropy = sum(probability * (log_z - scores[path])
                            for path, probability in zip(*enumerated_distribution(teacher, teacher_emissions[i, :n])))
        nll = log_z - scores[tuple(gold[i, :n].tolist())]
        expected.append((1 - weight) * nll + weight * cross_entropy)
    assert computed.item() == pytest.approx(torch.stack(expected).mean().item(), abs=1e-4)
    with torch.no_grad():
        assert crf_loss(student, emissions, gold, mask, distribution, 0.0) == crf_loss(student, emissions, gold, mask)


@pytest.mark.parametrize("seed", range(4))
def test_a_tag_bias_in_the_potentials_is_a_bias_on_every_tokens_emissions(seed):
    crf, emissions, mask, lengths = ragged_batch(seed, num_tags=len(BIOES_TAGS), lengths=(4, 1, 3))
    penalties = transition_penalties(allowed_transitions(BIOES_TAGS, "BIOES"), 5)
    bias = torch.tensor([0.0, 1.5, 1.5, 1.5, 1.5])  # every tag but O, as an entity bias
    biased = make_potentials(crf, penalties, tag_bias=bias)
    plain = make_potentials(crf, penalties)
    shifted = emissions + bias
    assert torch.equal(viterbi_decode(emissions, mask, biased), viterbi_decode(shifted, mask, plain))
    _, _, log_z = forward_backward(emissions, mask, biased)
    for i, n in enumerate(lengths):
        # by enumeration: each path's score rises by the bias of each of its tags
        paths = allowed_paths(plain, emissions[i, :n])
        scores = torch.stack([score + bias[list(path)].sum() for path, score in paths])
        assert log_z[i].item() == pytest.approx(torch.logsumexp(scores, 0).item(), abs=1e-4)
        best_path, _ = max(zip([path for path, _ in paths], scores), key=lambda pair: pair[1].item())
        assert viterbi_decode(emissions, mask, biased)[i, :n].tolist() == list(best_path)
    assert torch.allclose(token_marginals(emissions, mask, biased), token_marginals(shifted, mask, plain), atol=1e-5)


def test_the_crf_of_many_tags_sums_its_paths_as_pytorch_crf_does(monkeypatch):
    from tagger.model import LinearChainCRF

    num_tags = LinearChainCRF.MATRIX_PRODUCT_FROM + 1
    reference, generator = random_crf(num_tags, 5)
    lengths = torch.tensor([7, 1, 2, 5])
    emissions = torch.randn((4, 7, num_tags), generator=generator) * 3
    mask = torch.arange(7).unsqueeze(0) < lengths.unsqueeze(1)
    tags = torch.randint(0, num_tags, mask.shape, generator=generator)
    # Where a tag's only likely previous tag scores 150 below the best one (out of float32's exp
    # range) and the next token lifts that tag above all others, the sum falls back to pytorch-crf's
    # log-sum-exp.
    far_apart = emissions.clone()
    far_apart[:, 0, 1] = far_apart[:, 0].max() + 150
    far_apart[:, 1, 0] = 400.0
    far_transitions = reference.transitions.detach().clone()
    far_transitions[:, 0] = -300.0
    far_transitions[2, 0] = 0.0
    log_sum_exps = []
    pytorch_crf_sum = CRF._compute_normalizer
    monkeypatch.setattr(CRF, "_compute_normalizer", lambda *args: log_sum_exps.append(1) or pytorch_crf_sum(*args))
    for case_emissions, transitions, fallbacks in ((emissions, reference.transitions, 0), (far_apart, far_transitions, 1)):
        tables = {**reference.state_dict(), "transitions": transitions.detach()}
        crf = LinearChainCRF(num_tags, batch_first=True)
        crf.load_state_dict(tables)
        exact = CRF(num_tags, batch_first=True).double()  # pytorch-crf in float64: what both float32 sums are held to
        exact.load_state_dict(tables)
        computed_emissions = case_emissions.clone().requires_grad_()
        exact_emissions = case_emissions.double().requires_grad_()
        log_sum_exps.clear()
        computed = crf(computed_emissions, tags, mask=mask, reduction="none")
        assert len(log_sum_exps) == fallbacks
        expected = exact(exact_emissions, tags, mask=mask, reduction="none")
        assert torch.isfinite(computed).all()
        assert torch.allclose(computed.double(), expected, atol=1e-3)
        gradients = torch.autograd.grad(computed.sum(), [computed_emissions, crf.transitions])
        expected_gradients = torch.autograd.grad(expected.sum(), [exact_emissions, exact.transitions])
        for gradient, expected_gradient in zip(gradients, expected_gradients):
            assert torch.allclose(gradient.double(), expected_gradient, atol=1e-4)
    # A two-token sentence, by enumeration of its K * K tag sequences.
    crf = LinearChainCRF(num_tags, batch_first=True)
    crf.load_state_dict(reference.state_dict())
    with torch.no_grad():
        first, second = emissions[2, 0], emissions[2, 1]
        scores = (crf.start_transitions + first)[:, None] + crf.transitions + (second + crf.end_transitions)[None, :]
        gold = tags[2, :2].tolist()
        log_likelihood = scores[gold[0], gold[1]] - torch.logsumexp(scores.flatten(), 0)
        assert crf(emissions[2:3, :2], tags[2:3, :2]).item() == pytest.approx(log_likelihood.item(), abs=1e-4)
