"""Document context: sentences read with the tokens around them in their document."""

import json
import math

import pytest
import torch

from tagger.api import Tagger
from tagger.corpus import document_chunks
from tagger.corpus import Sentence, document_contexts, document_starts, read_corpus
from tagger.encoding import Encoder
from tagger.model import BiLSTMCRF

from .conftest import SAMPLE, bench_rows, command, tiny_model

SENTENCES = [["a", "b"], ["c"], ["d", "e", "f"], ["g"], ["h", "i"]]
STARTS = [True, False, False, True, False]


def test_contexts_take_neighbouring_tokens_within_a_document():
    contexts = document_contexts(SENTENCES, STARTS, 2)
    assert contexts == [
        ([], ["c", "d"]),
        (["a", "b"], ["d", "e"]),
        (["b", "c"], []),
        ([], ["h", "i"]),
        (["g"], []),
    ]
    assert document_contexts(SENTENCES, STARTS, 0) == [([], [])] * 5
    assert document_contexts(SENTENCES, [True] * 5, 3) == [([], [])] * 5
    wide = document_contexts(SENTENCES, [True, False, False, False, False], 100)
    assert wide[2] == (["a", "b", "c"], ["g", "h", "i"])


def test_document_starts_follow_docstart_lines():
    sentences = read_corpus(SAMPLE / "train.conll")
    starts = document_starts(sentences)
    assert starts[0] and sum(starts) == 40  # the sample has 40 -DOCSTART- lines
    assert starts == [i == 0 or s.document_start is not None for i, s in enumerate(sentences)]


def _model(context: int) -> tuple[BiLSTMCRF, Encoder]:
    return tiny_model("a b c d e f g h i", "abcdefghi", context=context)


def test_a_sentence_in_context_scores_like_its_positions_in_the_whole_sequence():
    model, encoder = _model(context=2)
    contexts = document_contexts(SENTENCES, STARTS, 2)
    with torch.no_grad():
        batched = model.emissions(encoder.batch(SENTENCES, contexts))
        for i, (tokens, (before, after)) in enumerate(zip(SENTENCES, contexts)):
            alone = model.emissions(encoder.batch([before + tokens + after]))[0]
            expected = alone[len(before) : len(before) + len(tokens)]
            torch.testing.assert_close(batched[i, : len(tokens)], expected, rtol=1e-5, atol=1e-6)
        # no context reads the same as empty contexts
        torch.testing.assert_close(
            model.emissions(encoder.batch(SENTENCES)),
            model.emissions(encoder.batch(SENTENCES, [([], [])] * len(SENTENCES))),
        )
        # and context changes what the sentence reads
        assert not torch.allclose(batched[1, :1], model.emissions(encoder.batch([["c"]]))[0])


def test_document_chunks_end_where_documents_begin():
    items = [Sentence([str(i)], document_start="-DOCSTART-" if i % 5 == 0 else None) for i in range(23)]
    begins = lambda item: item.document_start is not None  # noqa: E731
    chunks = list(document_chunks(items, 3, begins))
    assert [len(c) for c in chunks] == [5, 5, 5, 5, 3]
    assert all(begins(chunk[0]) for chunk in chunks)
    capped = list(document_chunks(items, 2, lambda item: False, most=4))
    assert [len(c) for c in capped] == [4, 4, 4, 4, 4, 3]
    assert [s for c in chunks for s in c] == items
    # A document as long as a chunk, beginning just before the chunk is full, stays whole.
    starts = {0, 4, 9}
    items = [Sentence([str(i)], document_start="-DOCSTART-" if i in starts else None) for i in range(12)]
    assert [[int(s.tokens[0]) for s in c] for c in document_chunks(items, 5, begins)] == [list(range(9)), [9, 10, 11]]


@pytest.fixture(scope="module")
def context_model(tmp_path_factory):
    from tagger.training import TrainingConfig, train

    output = tmp_path_factory.mktemp("context-model")
    best = train(read_corpus(SAMPLE / "train.conll"), read_corpus(SAMPLE / "dev.conll"), output,
                 TrainingConfig(epochs=10, patience=10, seed=2), {"hidden_size": 48, "context": 8},
                 log=lambda message: None)
    return output, best


def test_a_model_trained_with_context_learns_and_reads_its_documents(context_model):
    output, best = context_model
    assert best["f1"] > 0.8
    assert json.loads((output / "config.json").read_text())["model"]["context"] == 8
    tagger = Tagger.load(output)
    assert tagger.context == 8
    test = read_corpus(SAMPLE / "test.conll")
    tokens = [s.tokens for s in test]
    in_documents = tagger.predict(tokens, document_starts=document_starts(test))
    alone = tagger.predict(tokens)
    assert [r.tags for r in in_documents] != [r.tags for r in alone] or any(
        a.probability != b.probability for a, b in zip(in_documents, alone))
    # one document through tag_document reads like the same sentences marked as one document
    first = [s.tokens for s in test[:6]]
    assert tagger.tag_document(first) == tagger.tag_batch(first, document_starts=[True] + [False] * 5)


def test_pieces_of_a_long_sentence_read_each_other_as_context(context_model, monkeypatch):
    """Cut for memory (``LONGEST_READ``), a sentence's pieces read like consecutive sentences of its document."""
    import tagger.inference as inference

    monkeypatch.setattr(inference, "LONGEST_READ", 20)
    tagger = Tagger.load(context_model[0])
    test = read_corpus(SAMPLE / "test.conll")
    before, long, after = test[0].tokens, [token for s in test[1:8] for token in s.tokens], test[8].tokens
    pieces = [long[k : k + 20] for k in range(0, len(long), 20)]
    assert len(pieces) >= 3
    whole = tagger.predict([before, long, after], document_starts=[True, False, False])
    apart = tagger.predict([before, *pieces, after], document_starts=[True] + [False] * (len(pieces) + 1))
    assert whole[1].tags == [tag for piece in apart[1:-1] for tag in piece.tags]
    # Probabilities follow every score, so they show that each piece read what its place in the document gives.
    assert whole[1].probability == pytest.approx(math.prod(piece.probability for piece in apart[1:-1]), rel=1e-5)
    assert [e.score for e in whole[1].entities] == pytest.approx(
        [e.score for piece in apart[1:-1] for e in piece.entities], abs=1e-6)
    for alone, in_pieces in [(whole[0], apart[0]), (whole[2], apart[-1])]:
        assert alone.tags == in_pieces.tags and alone.probability == pytest.approx(in_pieces.probability, rel=1e-5)


def test_cli_reads_documents_in_context(context_model, tmp_path):
    output, _ = context_model
    tagger = Tagger.load(output)
    test = read_corpus(SAMPLE / "test.conll")
    expected = [r.tags for r in tagger.predict([s.tokens for s in test], document_starts=document_starts(test))]
    written = tmp_path / "tagged.conll"
    assert command("tag.py", "--model", str(output), str(SAMPLE / "test.conll"), "--output", str(written)).returncode == 0
    tagged = [[line.split()[-1] for line in block.splitlines() if not line.startswith("-DOCSTART-")]
              for block in written.read_text().split("\n\n")]
    assert [tags for tags in tagged if tags] == expected
    result = command("tag.py", "--model", str(output), "--eval", str(SAMPLE / "test.conll"), "--json")
    from tagger.inference import entity_scores

    assert json.loads(result.stdout)["f1"] == pytest.approx(entity_scores([s.labels for s in test], expected)["f1"])


@pytest.mark.parametrize("context", [0, 2, 5])
def test_each_lstm_direction_run_unpacked_gives_the_packed_bidirectional_lstm(context):
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    model, encoder = _model(context)
    contexts = document_contexts(SENTENCES, STARTS, context) if context else None
    batch = encoder.batch(SENTENCES, contexts)
    features = torch.randn(*batch.words.shape, model.lstm.input_size)
    input_mask = batch.mask if batch.input_mask is None else batch.input_mask
    lengths = input_mask.sum(dim=1)
    offsets = batch.offsets if batch.offsets is not None else torch.zeros_like(lengths)
    with torch.no_grad():
        packed = pack_padded_sequence(features, lengths, batch_first=True, enforce_sorted=False)
        expected, _ = pad_packed_sequence(model.lstm(packed)[0], batch_first=True)
        hidden = model._directions(features, lengths, offsets, batch.mask.sum(dim=1))
    for i, tokens in enumerate(SENTENCES):
        start = int(offsets[i])
        torch.testing.assert_close(hidden[i, : len(tokens)], expected[i, start : start + len(tokens)])


@pytest.mark.parametrize("context", [0, 2])
def test_a_batch_of_many_lengths_runs_the_lstm_in_groups_and_gives_the_packed_lstm(context):
    """A batch of whole documents pads its sentences to the longest: the LSTM reads them in groups, exactly."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    model, encoder = _model(context)
    sentences = [list("abc"), list("ab"), list("abcdefghi") * 30, list("abcd"), list("a"), list("hi")] * 3
    contexts = document_contexts(sentences, [True] + [False] * (len(sentences) - 1), context) if context else None
    batch = encoder.batch(sentences, contexts)
    features = torch.randn(*batch.words.shape, model.lstm.input_size, requires_grad=True)
    input_mask = batch.mask if batch.input_mask is None else batch.input_mask
    lengths = input_mask.sum(dim=1)
    offsets = batch.offsets if batch.offsets is not None else torch.zeros_like(lengths)
    packed = pack_padded_sequence(features, lengths, batch_first=True, enforce_sorted=False)
    expected, _ = pad_packed_sequence(model.lstm(packed)[0], batch_first=True)
    read = []
    one_direction = model._one_direction
    model._one_direction = lambda suffix, inputs: read.append(inputs.shape) or one_direction(suffix, inputs)
    hidden = model._directions(features, lengths, offsets, batch.mask.sum(dim=1))
    assert len(read) == 4  # each direction: the three long sentences, and the fifteen short ones
    assert sorted(shape[0] for shape in read) == [3, 3, 15, 15]
    padded = 2 * len(sentences) * max(shape[1] for shape in read)  # what one group a direction would read
    assert sum(shape[0] * shape[1] for shape in read) < padded / 4
    mine, theirs = [], []
    for i, tokens in enumerate(sentences):
        start = int(offsets[i])
        mine.append(hidden[i, : len(tokens)])
        theirs.append(expected[i, start : start + len(tokens)])
    torch.testing.assert_close(torch.cat(mine), torch.cat(theirs))
    weights = torch.randn(torch.cat(mine).shape)  # the gradients reach the inputs as through the packed LSTM
    grouped_gradient, = torch.autograd.grad((torch.cat(mine) * weights).sum(), features)
    packed_gradient, = torch.autograd.grad((torch.cat(theirs) * weights).sum(), features)
    torch.testing.assert_close(grouped_gradient, packed_gradient)


def test_length_groups_put_every_sequence_in_one_group_and_cost_at_most_one_group():
    import random

    from tagger.model import GROUP_CALL_COST, GROUP_STEP_COST, length_groups

    def cost(groups, lengths):
        longest = [max(lengths[i] for i in group) for group in groups]
        return sum(GROUP_CALL_COST + GROUP_STEP_COST * top + len(group) * top for group, top in zip(groups, longest))

    assert length_groups([3, 1, 3, 3, 2]) == [[0, 1, 2, 3, 4]]  # little padding: not worth another call
    assert length_groups([12] * 40 + [400]) == [list(range(40)), [40]]
    rng = random.Random(0)
    for _ in range(200):
        lengths = [rng.choice([1, 2, 5, 9, 10, 14, 30, 60, 300]) for _ in range(rng.randint(1, 60))]
        groups = length_groups(lengths)
        assert sorted(i for group in groups for i in group) == list(range(len(lengths)))
        assert cost(groups, lengths) <= cost([list(range(len(lengths)))], lengths)
        tops = [max(lengths[i] for i in group) for group in groups]
        assert tops == sorted(set(tops))  # groups of whole runs of the sorted lengths
        assert all(min(lengths[i] for i in later) > top for top, later in zip(tops, groups[1:]))


def test_benchmark_of_a_model_with_context_counts_what_its_lstm_reads(context_model, tmp_path):
    rows = bench_rows(context_model[0], tmp_path)
    assert "over the sentences with their context" in rows["bare nn.LSTM forward, batch 256"]
    assert "bare nn.LSTM forward, sentences alone" in rows
    assert "eng.testb F1, --quantize" in rows
    assert "all identical" in rows["same tags as the straightforward path"]
