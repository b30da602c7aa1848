"""Probabilities on the tagging path against brute-force enumeration over a small random model."""

import itertools
import math

import pytest
import torch

from tagger.api import Tagger
from tagger.encoding import CASINGS, Encoder
from tagger.inference import decode_sentences, decoding_potentials
from tagger.model import BiLSTMCRF, ModelConfig
from tagger.schemes import allowed_transitions, scheme_labels, tags_to_spans
from tagger.vocab import Vocabulary

SENTENCES = [["Tom", "met", "Ann"], ["Oslo"], ["a", "b", "c", "d"]]


def random_model(scheme, seed=0):
    torch.manual_seed(seed)
    tags = Vocabulary(scheme_labels(["X"], scheme))
    encoder = Encoder(Vocabulary.build(["tom", "met", "ann", "oslo"]), Vocabulary.build("TomeAnOslabcd"), tags)
    model = BiLSTMCRF(ModelConfig(len(encoder.words), len(encoder.chars), len(CASINGS), len(tags), word_dim=4,
                                  char_dim=3, char_filters=3, hidden_size=3)).eval()
    with torch.no_grad():
        for parameter in (model.crf.transitions, model.crf.start_transitions, model.crf.end_transitions,
                          model.projection.bias):
            parameter.copy_(torch.randn(parameter.shape) * 1.5)
    return model, encoder


def enumerate_readings(model, encoder, tokens, constrained, temperature):
    """Every tag sequence with its probability, by brute force."""
    potentials = decoding_potentials(model, encoder, constrained, temperature)
    with torch.no_grad():
        emissions = model.emissions(encoder.batch([tokens]))[0] / temperature
    names = encoder.tags.names
    scored = []
    for path in itertools.product(range(len(names)), repeat=len(tokens)):
        score = potentials.start_transitions[path[0]] + emissions[0, path[0]]
        for t in range(1, len(path)):
            score = score + potentials.transitions[path[t - 1], path[t]] + emissions[t, path[t]]
        scored.append(([names[k] for k in path], (score + potentials.end_transitions[path[-1]]).item()))
    log_z = torch.logsumexp(torch.tensor([s for _, s in scored]), 0).item()
    return [(tags, math.exp(s - log_z)) for tags, s in scored]


@pytest.mark.parametrize("scheme", ["BIOES", "IOB2"])
@pytest.mark.parametrize("constrained, temperature", [(True, 1.0), (True, 1.7), (False, 1.0)])
def test_entity_scores_probabilities_and_nbest(scheme, constrained, temperature):
    model, encoder = random_model(scheme)
    results = decode_sentences(model, encoder, SENTENCES, constrained=constrained, temperature=temperature,
                               scores=True, nbest=5)
    allowed = set(allowed_transitions(encoder.tags.names, scheme))
    index = {tag: i for i, tag in enumerate(encoder.tags.names)}
    for tokens, result in zip(SENTENCES, results):
        readings = enumerate_readings(model, encoder, tokens, constrained, temperature)
        probability = dict((tuple(tags), p) for tags, p in readings)
        assert result.probability == pytest.approx(probability[tuple(result.tags)], abs=1e-5)
        assert result.probability == pytest.approx(max(probability.values()), abs=1e-5)
        for (label, start, end), score in zip(tags_to_spans(result.tags), result.entity_scores):
            if constrained:
                expected = sum(p for tags, p in readings if (label, start, end) in tags_to_spans(tags))
            else:
                canonical = result.tags[start:end]
                expected = sum(p for tags, p in readings if tags[start:end] == canonical
                               and not (scheme == "IOB2" and end < len(tags) and tags[end] == f"I-{label}"))
            assert score == pytest.approx(expected, abs=1e-5)
            assert 0.0 <= score <= 1.0
        top = sorted((pair for pair in readings if pair[1] > 0), key=lambda pair: -pair[1])[:5]
        assert [tags for tags, _ in result.readings] == [tags for tags, _ in top]
        assert [p for _, p in result.readings] == pytest.approx([p for _, p in top], abs=1e-5)
        assert sum(p for _, p in result.readings) <= 1.0 + 1e-6
        if constrained:
            for tags, _ in result.readings:
                path = [len(index)] + [index[t] for t in tags] + [len(index) + 1]
                assert all(pair in allowed for pair in zip(path, path[1:]))


def test_tagger_scores_marginals_and_nbest_api(sample_model):
    tagger = Tagger.load(sample_model[0])
    entities = tagger.tag("Angela Merkel visited Paris on Monday .")
    assert entities and all(0.0 <= e.score <= 1.0 for e in entities)
    readings = tagger.tag("Angela Merkel visited Paris on Monday .", nbest=3)
    assert 1 <= len(readings) <= 3
    assert readings[0].entities == [
        e.__class__(e.text, e.label, e.start, e.end, e.start_char, e.end_char) for e in entities
    ]
    assert [r.probability for r in readings] == sorted((r.probability for r in readings), reverse=True)
    assert len({tuple(r.tags) for r in readings}) == len(readings)
    marginals = tagger.marginals("Angela Merkel visited Paris")
    assert marginals.probabilities.shape == (4, len(marginals.labels))
    assert torch.allclose(marginals.probabilities.sum(dim=1), torch.ones(4), atol=1e-5)
    assert tagger.marginals("").probabilities.shape == (0, len(marginals.labels))
    plain = tagger.predict(["Angela Merkel visited Paris ."], scores=False)[0]
    assert plain.probability is None and all(e.score is None for e in plain.entities)
    assert tagger.tag("", nbest=2) == [] or tagger.tag("", nbest=2)[0].tags == []


def test_cached_character_features_change_nothing_and_follow_the_weights(sample_model):
    from tagger.corpus import read_corpus
    from tagger.inference import CharFeatureCache

    from .conftest import SAMPLE

    tagger = Tagger.load(sample_model[0])
    sentences = [s.tokens for s in read_corpus(SAMPLE / "dev.conll")]
    plain = decode_sentences(tagger.model, tagger.encoder, sentences, 16, scores=True)
    cache = CharFeatureCache()
    for _ in range(2):  # filling the cache, then reading from it
        cached = decode_sentences(tagger.model, tagger.encoder, sentences, 16, scores=True, char_features=cache)
        assert [(r.tags, r.entity_scores, r.probability) for r in cached] == \
            [(r.tags, r.entity_scores, r.probability) for r in plain]
    assert len(cache._rows) == len({token for tokens in sentences for token in tokens})
    # new char CNN weights: the cache starts again instead of serving stale features
    with torch.no_grad():
        tagger.model.char_cnn.conv.bias.add_(1.0)
    changed = decode_sentences(tagger.model, tagger.encoder, sentences, 16, scores=True)
    cached = decode_sentences(tagger.model, tagger.encoder, sentences, 16, scores=True, char_features=cache)
    assert [r.entity_scores for r in cached] == [r.entity_scores for r in changed]
    assert [r.entity_scores for r in changed] != [r.entity_scores for r in plain]
    small = CharFeatureCache(limit=50)
    limited = decode_sentences(tagger.model, tagger.encoder, sentences, 16, scores=True, char_features=small)
    assert [r.entity_scores for r in limited] == [r.entity_scores for r in changed]
    tagger.tag_batch(sentences[:3])
    assert tagger._char_features._rows
    tagger.clear_cache()
    assert not tagger._char_features._rows


def test_decoding_merged_batches_gives_each_sentence_what_it_gets_alone(sample_model):
    """The CRF runs on batches of several lengths joined (``_merged``): tags and readings exact, probabilities close."""
    from tagger.corpus import read_corpus

    from .conftest import SAMPLE

    tagger = Tagger.load(sample_model[0])
    sentences = [s.tokens for s in read_corpus(SAMPLE / "dev.conll")]
    assert len({len(s) for s in sentences}) >= 10
    options = dict(scores=True, nbest=3, temperature=1.5)
    merged = decode_sentences(tagger.model, tagger.encoder, sentences, batch_size=16, **options)
    alone = decode_sentences(tagger.model, tagger.encoder, sentences, batch_size=1, **options)
    assert [r.tags for r in merged] == [r.tags for r in alone]
    assert [[tags for tags, _ in r.readings] for r in merged] == [[tags for tags, _ in r.readings] for r in alone]
    # float32 forward-backward, summed in another order: the same to about 1e-5
    assert [r.probability for r in merged] == pytest.approx([r.probability for r in alone], abs=1e-4)
    assert ([score for r in merged for score in r.entity_scores]
            == pytest.approx([score for r in alone for score in r.entity_scores], abs=1e-4))


@pytest.mark.parametrize("document_memory", [False, True])
def test_tagging_runs_pytorch_on_the_callers_thread_count(document_memory):
    """Batches of any size, one sentence included: the count is the caller's setting, not tagger's."""
    model, encoder = random_model("BIOES")
    if document_memory:
        model = BiLSTMCRF(ModelConfig(**{**model.config.to_dict(), "document_memory": True})).eval()
    seen = []
    one_direction = model._one_direction  # how the LSTM reads a batch of several lengths, padded
    model._one_direction = lambda suffix, inputs: seen.append((inputs.shape[0], torch.get_num_threads())) or \
        one_direction(suffix, inputs)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        sentences = [["Tom", "met", "Ann"], ["Oslo"], ["a", "b", "c"], ["Ann", "met", "Tom"], ["a", "b"]]
        decode_sentences(model, encoder, sentences, batch_size=256)
        assert seen == [(5, 2), (5, 2)]  # lengths too rare for batches of their own: one batch, each direction
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("document_memory", [False, True])
def test_progress_counts_each_token_once_the_network_has_read_it_and_changes_nothing(document_memory, monkeypatch):
    import tagger.inference as inference

    model, encoder = random_model("BIOES")
    if document_memory:  # the network reads every batch before any is decoded
        model = BiLSTMCRF(ModelConfig(**{**model.config.to_dict(), "document_memory": True})).eval()
    monkeypatch.setattr(inference, "LONGEST_READ", 3)  # the four-token sentence in two pieces
    sentences = [*SENTENCES, [], ["Ann", "met", "Tom"], ["Oslo", "a"]]
    events = []
    read = model.emissions if not document_memory else model.token_states
    monkeypatch.setattr(model, "emissions" if not document_memory else "token_states",
                        lambda *args: events.append("network") or read(*args))
    with_progress = decode_sentences(model, encoder, sentences, batch_size=2, progress=events.append)
    counts = [event for event in events if event != "network"]
    assert sum(counts) == sum(map(len, sentences)) and len(counts) == events.count("network") > 1
    assert all(event == "network" for event in events[::2])  # each count right after its batch is read
    assert with_progress == decode_sentences(model, encoder, sentences, batch_size=2)


def test_entity_scores_count_whole_entities_in_any_scheme():
    from tagger.inference import entity_scores

    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"], ["O"]]  # IOB2: 3 entities
    # BIOES: the PER and the LOC right, an extra MISC, the ORG missed
    predicted = [["B-PER", "E-PER", "O", "S-LOC"], ["O", "S-MISC"], ["O"]]
    assert entity_scores(gold, predicted) == {"precision": pytest.approx(2 / 3), "recall": pytest.approx(2 / 3),
                                              "f1": pytest.approx(2 / 3)}
    assert entity_scores(gold, [["O"] * 4, ["O", "O"], ["O"]]) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_a_sentence_longer_than_the_longest_read_is_decoded_in_pieces(sample_model, monkeypatch):
    """Each piece a sentence of its own (bounded memory); the sentence's result is theirs, joined."""
    import tagger.inference as inference
    from tagger.corpus import read_corpus

    from .conftest import SAMPLE

    monkeypatch.setattr(inference, "LONGEST_READ", 25)
    model = Tagger.load(sample_model[0])
    long = [token for sentence in read_corpus(SAMPLE / "dev.conll")[:12] for token in sentence.tokens]
    starts = range(0, len(long), 25)
    assert len(starts) >= 4
    options = dict(scores=True, nbest=3)
    short, whole = decode_sentences(model.model, model.encoder, [["Oslo"], long], **options)
    apart = decode_sentences(model.model, model.encoder, [long[k : k + 25] for k in starts], **options)
    assert short == decode_sentences(model.model, model.encoder, [["Oslo"]], **options)[0]
    assert whole.tags == [tag for piece in apart for tag in piece.tags]
    assert whole.spans == [(label, start + k, end + k) for k, piece in zip(starts, apart)
                           for label, start, end in piece.spans]
    assert whole.spans and whole.spans == tags_to_spans(whole.tags)
    assert whole.entity_scores == [score for piece in apart for score in piece.entity_scores]
    assert whole.probability == pytest.approx(math.prod(piece.probability for piece in apart))
    assert whole.readings == [(whole.tags, pytest.approx(math.prod(piece.readings[0][1] for piece in apart)))]
    entities = model.tag(long)  # through the API: entities where they are in the whole sentence
    assert [(e.start, e.end, e.text) for e in entities] == [
        (start, end, " ".join(long[start:end])) for _, start, end in whole.spans]


def test_batches_hold_at_most_batch_tokens(monkeypatch):
    import tagger.inference as inference

    monkeypatch.setattr(inference, "BATCH_TOKENS", 10)
    sentences = [["a"] * 3] * 7 + [["b"] * 20] * 2 + [["c"]] * 30
    chunks = inference._length_chunks(sentences, None, batch_size=8)
    assert [len(chunk) for chunk in chunks] == [8, 8, 8, 6, 3, 3, 1, 1, 1]
    assert sorted(i for chunk in chunks for i in chunk) == list(range(len(sentences)))


@pytest.mark.parametrize("longest_read", [None, 25])
def test_tags_at_several_entity_biases_are_those_of_each_bias_alone(sample_model, monkeypatch, longest_read):
    """The network read once for all biases (or, with a sentence cut in pieces, once a bias) tags as each bias alone."""
    import tagger.inference as inference
    from tagger.corpus import read_corpus
    from tagger.inference import predict_tags, predict_tags_by_bias

    from .conftest import SAMPLE

    if longest_read:
        monkeypatch.setattr(inference, "LONGEST_READ", longest_read)
    tagger = Tagger.load(sample_model[0])
    sentences = [s.tokens for s in read_corpus(SAMPLE / "dev.conll")]
    if longest_read:
        sentences.append([token for tokens in sentences[:12] for token in tokens])
    biases = [0.0, -1.0, 1.5, 3.0]
    by_bias = predict_tags_by_bias(tagger.model, tagger.encoder, sentences, biases, batch_size=7)
    alone = [predict_tags(tagger.model, tagger.encoder, sentences, entity_bias=bias) for bias in biases]
    assert by_bias == alone
    entities = [sum(tag != "O" for tags in tagged for tag in tags) for tagged in by_bias]
    assert entities[1] < entities[0] < entities[2] < entities[3]  # each bias its own tags
