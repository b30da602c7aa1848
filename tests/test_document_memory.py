"""Document memory: each token also reads its word's LSTM outputs at the word's other places in its document."""

import collections
import json
import random
from dataclasses import replace

import pytest
import torch

from tagger.api import Tagger
from tagger.corpus import document_ids, document_starts, read_corpus
from tagger.encoding import CASINGS, Encoder
from tagger.inference import decode_sentences
from tagger.model import BiLSTMCRF, ModelConfig, mean_of_others, quantize_dynamic, word_memory
from tagger.training import whole_document_batches
from tagger.vocab import Vocabulary

from .conftest import SAMPLE, bench_rows, command, tiny_model


def test_word_memory_is_the_mean_over_the_other_tokens_of_a_group():
    torch.manual_seed(0)
    hidden = torch.randn(3, 4, 5, requires_grad=True)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 1, 1, 0]], dtype=torch.bool)
    groups = torch.tensor([[0, 1, 0, 2], [1, 0, 0, 0], [3, 0, 1, 0]])
    memory = word_memory(hidden, groups, mask)
    places = [(b, t) for b in range(3) for t in range(4) if mask[b, t]]
    for b, t in places:
        others = [hidden[c, u] for c, u in places if groups[c, u] == groups[b, t] and (c, u) != (b, t)]
        expected = torch.stack(others).mean(dim=0) if others else torch.zeros(5)
        torch.testing.assert_close(memory[b, t], expected)
    assert (memory[~mask] == 0).all()
    # a token's memory is learned from the other occurrences: gradients reach them, not the token itself
    memory[0, 0].sum().backward()
    assert hidden.grad[0, 0].abs().sum() == 0
    assert hidden.grad[0, 2].abs().sum() > 0 and hidden.grad[1, 1].abs().sum() > 0 and hidden.grad[2, 1].abs().sum() > 0
    assert hidden.grad[0, 1].abs().sum() == 0


def test_mean_of_others_takes_any_group_ids():
    values = torch.randn(3, 4)
    torch.testing.assert_close(mean_of_others(values, torch.tensor([0, 2, 2])),
                               torch.stack([torch.zeros(4), values[2], values[1]]))
    assert not mean_of_others(values, torch.tensor([5, 0, 3])).any()  # no word twice: no memory
    assert mean_of_others(values[:0], torch.tensor([], dtype=torch.long)).shape == (0, 4)


def test_pooling_the_projections_memory_half_is_projecting_the_pooled_states():
    model, _ = _model()
    torch.manual_seed(1)
    states = torch.randn(3, 4, 2 * model.config.hidden_size)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 1, 1, 0]], dtype=torch.bool)
    groups = torch.tensor([[0, 1, 0, 2], [1, 0, 0, 0], [3, 0, 1, 0]])
    with torch.no_grad():
        own, shared = model.memory_parts(states)
        pooled = own + word_memory(shared, groups, mask)
        straightforward = model.projection(torch.cat([states, word_memory(states, groups, mask)], dim=-1))
        torch.testing.assert_close(pooled[mask], straightforward[mask])
        # and the same for the packed weights of a quantized projection, within their rounding
        quantized = quantize_dynamic(model)
        own, shared = quantized.memory_parts(states)
        torch.testing.assert_close((own + word_memory(shared, groups, mask))[mask], straightforward[mask],
                                   atol=0.05, rtol=0.05)


def test_document_ids_and_batches_keep_documents_whole():
    starts = [True, False, False, True, True, False, False, False, True]
    documents = document_ids(starts)
    assert documents == [0, 0, 0, 1, 2, 2, 2, 2, 3]
    assert document_ids([False, False, True]) == [0, 0, 1]  # the first sentence always begins one
    for seed in range(5):
        for size in (1, 2, 4, 16):
            batches = whole_document_batches(documents, size, random.Random(seed))
            assert sorted(i for batch in batches for i in batch) == list(range(9))
            for batch in batches:
                held = {documents[i] for i in batch}
                assert all(documents.count(d) == sum(documents[i] == d for i in batch) for d in held)
                assert len(batch) <= size or len(held) == 1
            assert len(batches) == {1: 4, 16: 1}.get(size, len(batches))  # one a document; all in one
    orders = {tuple(map(tuple, whole_document_batches(documents, 4, random.Random(seed)))) for seed in range(5)}
    assert len(orders) > 1  # documents come in a new order with each seed


def test_a_document_too_long_for_a_batch_is_cut_into_batches_of_consecutive_sentences():
    from tagger.training import LONGEST_DOCUMENT

    documents = [0] * 3 + [1] * (LONGEST_DOCUMENT + 40) + [2] * LONGEST_DOCUMENT + [3] * 2
    batches = whole_document_batches(documents, 16, random.Random(0))
    assert sorted(i for batch in batches for i in batch) == list(range(len(documents)))
    long = [batch for batch in batches if documents[batch[0]] == 1]
    assert [len(batch) for batch in long] == [16] * (LONGEST_DOCUMENT // 16 + 2) + [(LONGEST_DOCUMENT + 40) % 16]
    assert all(batch == list(range(batch[0], batch[0] + len(batch))) for batch in long)
    assert [len(batch) for batch in batches if documents[batch[0]] == 2] == [LONGEST_DOCUMENT]  # whole, as ever


def test_a_corpus_of_too_few_documents_for_its_steps_trains_on_pieces_of_consecutive_sentences():
    from tagger.training.batches import DOCUMENT_STEPS_SHARE, log_cut_documents, too_few_documents

    few = [0] * 200 + [1] * 150 + [2] * 100  # 3 steps an epoch whole, against 29 of 16 sentences
    assert too_few_documents(few, 16) and not too_few_documents(few, 100)  # 3 against 5 at 100: enough
    batches = whole_document_batches(few, 16, random.Random(0))
    assert sorted(i for batch in batches for i in batch) == list(range(len(few)))
    assert sorted(len(batch) for batch in batches) == [4, 6, 8] + [16] * 27
    assert all(batch == list(range(batch[0], batch[0] + len(batch))) and len({few[i] for i in batch}) == 1
               for batch in batches)
    logged = []
    log_cut_documents(few, 16, logged.append)
    assert logged == [f"document memory: the training corpus's 3 documents are too few to be a batch each (under "
                      f"1/{DOCUMENT_STEPS_SHARE} of the steps an epoch that batches of 16 sentences make): it trains "
                      "on pieces of 16 consecutive sentences"]
    # Just enough: documents of 4 batches' sentences stay whole, as the 67 long Dutch ones (146 steps against 476) do
    enough = [d for d in range(8) for _ in range(64)]  # 8 steps against 32
    assert not too_few_documents(enough, 16) and too_few_documents([d for d in range(8) for _ in range(65)], 16)
    assert sorted(len(batch) for batch in whole_document_batches(enough, 16, random.Random(0))) == [64] * 8


def test_document_memory_learns_a_corpus_without_docstart_lines(tmp_path):
    from tagger.training import TrainingConfig, train

    # the sample corpus as one document: without its -DOCSTART- lines, 400 sentences in a row
    sentences = [replace(s, document_start=None) for s in read_corpus(SAMPLE / "train.conll")]
    logged = []
    best = train(sentences, read_corpus(SAMPLE / "dev.conll"), tmp_path / "m", TrainingConfig(epochs=5, seed=3),
                 {"hidden_size": 32, "document_memory": True}, log=logged.append)
    assert best["f1"] > 0.7  # 0.83 when written; 0.04 when the 400 sentences made one batch, a step an epoch
    assert any("1 training document of more than" in line and "the longest 400" in line for line in logged)


def _model() -> tuple[BiLSTMCRF, Encoder]:
    return tiny_model("paris is big . he saw in", "parisbighesawn.P", document_memory=True)


def test_memory_groups_join_a_words_forms_within_a_document_only():
    _, encoder = _model()
    batch = encoder.batch([["Paris", "is", "big"], ["he", "saw", "PARIS"], ["paris", "."]], documents=[0, 0, 1])
    groups = batch.memory_groups
    assert groups[0, 0] == groups[1, 2]  # one word, one document, any case
    assert groups[2, 0] != groups[0, 0]  # another document
    assert len({int(g) for g in groups[batch.mask]}) == 7  # paris is big he saw; paris .
    with pytest.raises(ValueError, match="2 document ids for 3 sentences"):
        encoder.batch([["a"], ["b"], ["c"]], documents=[0, 0])


def test_a_sentence_reads_its_documents_other_sentences_and_no_other_document():
    model, encoder = _model()
    first, second, elsewhere = ["Paris", "is", "big"], ["he", "saw", "Paris", "."], ["Paris", "is", "big"]
    with torch.no_grad():
        alone = model.emissions(encoder.batch([first], documents=[0]))[0]
        together = model.emissions(encoder.batch([first, second], documents=[0, 0]))[0]
        apart = model.emissions(encoder.batch([first, elsewhere], documents=[0, 1]))[0]
    assert not torch.allclose(alone[0], together[0])  # "Paris" reads its other mention
    torch.testing.assert_close(alone[1:], together[1 : len(first)], rtol=1e-5, atol=1e-6)  # "is", "big" have none
    torch.testing.assert_close(alone, apart[: len(first)], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="memory_groups"):
        model.emissions(encoder.batch([first]))


def test_decoding_documents_does_not_depend_on_how_they_are_batched():
    model, encoder = _model()
    rng = random.Random(3)
    vocabulary = "Paris is big . he saw in PARIS paris".split()
    sentences = [[rng.choice(vocabulary) for _ in range(rng.randint(1, 7))] for _ in range(40)]
    sentences[5] = []
    documents = document_ids([i % 6 == 0 or rng.random() < 0.1 for i in range(40)])
    reference = None
    for batch_size in (1, 3, 7, 256):
        decoded = decode_sentences(model, encoder, sentences, batch_size, scores=True, documents=documents)
        tags = [(d.tags, round(d.probability, 5)) for d in decoded]
        reference = reference or tags
        assert tags == reference
    assert decoded[5].tags == []
    # and it reads each document as training does: the whole document in one batch, its memory pooled there
    unconstrained = decode_sentences(model, encoder, sentences, 4, constrained=False, documents=documents)
    names = encoder.tags.names
    for document in sorted(set(documents)):
        indices = [i for i in range(40) if documents[i] == document and sentences[i]]
        with torch.no_grad():
            batch = encoder.batch([sentences[i] for i in indices], documents=[0] * len(indices))
            paths = model.crf.decode(model.emissions(batch), batch.mask)
        assert [[names[k] for k in path] for path in paths] == [unconstrained[i].tags for i in indices]
    # without documents each sentence is its own document
    own = decode_sentences(model, encoder, sentences, 256, documents=list(range(40)))
    assert [d.tags for d in decode_sentences(model, encoder, sentences, 256)] == [d.tags for d in own]


def test_document_memory_with_context_does_not_depend_on_how_sentences_are_batched():
    from tagger.corpus import document_contexts

    words = Vocabulary.build("paris is big . he saw in".split())
    encoder = Encoder(words, Vocabulary.build("parisbighesawn.P"), Vocabulary(["O", "S-X", "B-X", "I-X", "E-X"]))
    torch.manual_seed(0)
    config = ModelConfig(len(words), len(encoder.chars), len(CASINGS), len(encoder.tags), word_dim=6, char_dim=4,
                         char_filters=5, hidden_size=7, document_memory=True, context=3)
    model = BiLSTMCRF(config).eval()
    rng = random.Random(5)
    vocabulary = "Paris is big . he saw in PARIS paris".split()
    sentences = [[rng.choice(vocabulary) for _ in range(rng.randint(1, 6))] for _ in range(30)]
    starts = [i % 7 == 0 for i in range(30)]
    contexts, documents = document_contexts(sentences, starts, 3), document_ids(starts)
    # sentences of one read length (context included) but of several lengths share a batch: padded rows
    decoded = [[(d.tags, round(d.probability, 5)) for d in decode_sentences(
        model, encoder, sentences, batch_size, scores=True, contexts=contexts, documents=documents)]
        for batch_size in (1, 4, 256)]
    assert decoded[0] == decoded[1] == decoded[2]
    with torch.no_grad():
        alone = decode_sentences(model, encoder, sentences, 256, contexts=contexts, documents=list(range(30)))
    assert [d.tags for d in alone] != [tags for tags, _ in decoded[0]]  # the documents' memory counts


@pytest.fixture(scope="module")
def memory_model(tmp_path_factory):
    from tagger.training import TrainingConfig, train

    output = tmp_path_factory.mktemp("memory-model")
    best = train(read_corpus(SAMPLE / "train.conll"), read_corpus(SAMPLE / "dev.conll"), output,
                 TrainingConfig(epochs=10, patience=10, seed=2), {"hidden_size": 48, "document_memory": True},
                 log=lambda message: None)
    return output, best


def test_a_model_trained_with_document_memory_learns_and_reads_its_documents(memory_model, tmp_path):
    output, best = memory_model
    assert best["f1"] > 0.8
    assert json.loads((output / "config.json").read_text())["model"]["document_memory"] is True
    tagger = Tagger.load(output)
    test = read_corpus(SAMPLE / "test.conll")
    tokens = [s.tokens for s in test]
    in_documents = tagger.predict(tokens, document_starts=document_starts(test))
    alone = tagger.predict(tokens)
    assert [(r.tags, r.probability) for r in in_documents] != [(r.tags, r.probability) for r in alone]
    first = tokens[:6]
    assert tagger.tag_document(first) == tagger.tag_batch(first, document_starts=[True] + [False] * 5)
    # a stream of documents, a chunk at a time: chunks end where documents begin, so each is read whole
    starts = document_starts(test)
    longest = max(collections.Counter(document_ids(starts)).values())
    piped = list(tagger.pipe(iter(tokens), chunk_size=longest, document_starts=iter(starts)))
    assert len(set(document_ids(starts))) > 2 and longest < len(tokens) / 2  # several chunks
    assert [r.tags for r in piped] == [r.tags for r in in_documents]
    assert [r.probability for r in piped] == pytest.approx([r.probability for r in in_documents], abs=1e-4)
    with pytest.raises(ValueError):  # as many starts as sentences
        list(tagger.pipe(tokens, document_starts=starts[:-1]))
    assert tagger.marginals(tokens[0]).probabilities.shape == (len(tokens[0]), len(tagger.encoder.tags))
    # the CLI reads a CoNLL file's documents as documents
    written = tmp_path / "tagged.conll"
    assert command("tag.py", "--model", str(output), str(SAMPLE / "test.conll"), "--output", str(written)).returncode == 0
    tagged = [[line.split()[-1] for line in block.splitlines() if not line.startswith("-DOCSTART-")]
              for block in written.read_text().split("\n\n")]
    assert [tags for tags in tagged if tags] == [r.tags for r in in_documents]


def test_train_py_takes_document_memory_by_default_where_the_corpus_has_documents(tmp_path):
    def memory(output: str, train=SAMPLE / "train.conll", *options: str) -> bool:
        done = command("train.py", "--train", str(train), "--dev", str(SAMPLE / "dev.conll"), "--output",
                       str(tmp_path / output), "--epochs", "1", "--hidden-size", "8", *options)
        assert done.returncode == 0, done.stderr
        said = "document memory: the training corpus has 40 documents (--no-document-memory: none)\n"
        assert done.stdout.startswith(said) == (output == "default")
        return json.loads((tmp_path / output / "config.json").read_text())["model"]["document_memory"]

    assert memory("default") is True  # the sample corpus: 40 documents
    assert memory("off", SAMPLE / "train.conll", "--no-document-memory") is False
    lines = (SAMPLE / "train.conll").read_text().splitlines(keepends=True)
    (tmp_path / "one.conll").write_text("".join(line for line in lines if not line.startswith("-DOCSTART-")))
    assert memory("one", tmp_path / "one.conll") is False  # one document: nothing to pool over
    assert memory("on", tmp_path / "one.conll", "--document-memory") is True
    done = command("train.py", "--recipe", "conll03-en", "--train", str(SAMPLE / "train.conll"), "--dev",
                   str(SAMPLE / "dev.conll"), "--output", str(tmp_path / "n"), "--epochs", "1", "--hidden-size", "8",
                   "--max-vectors", "1000", "--members", "1", "--no-document-memory")
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "n" / "config.json").read_text())["model"]["document_memory"] is False


def test_benchmark_of_a_model_with_document_memory_checks_it_against_the_plain_path(memory_model, tmp_path):
    rows = bench_rows(memory_model[0], tmp_path)
    assert "all identical" in rows["same tags as the straightforward path"]
    assert "eng.testb F1, --quantize" in rows and "training, batch 16" in rows
    assert not [name for name in rows if name.startswith("tag.py")]  # --no-cli: no new processes
