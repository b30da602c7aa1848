"""Document casing: how a sentence's document writes each of its words, as an input of the model."""

import json
import subprocess
import sys

import pytest
import torch

from tagger.api import Tagger
from tagger.corpus import NO_CASING_EVIDENCE, Context, document_casing, document_contexts, document_starts, read_corpus
from tagger.encoding import CASINGS, Encoder
from tagger.inference import reading_contexts
from tagger.model import BiLSTMCRF, ModelConfig
from tagger.vocab import Vocabulary

from .conftest import ROOT, SAMPLE

DOCUMENT = [
    ["SOCCER", "-", "JAPAN", "GET", "LUCKY", "WIN", "."],  # a headline: says nothing about case
    ["Japan", "beat", "Syria", "2-1", "in", "Japan", "."],  # the first Japan says nothing either
    ["The", "Japan", "FA", "said", "the", "win", "was", "lucky", "."],
    ["Lucky", "Japan", "!"],
]


def test_document_casing_counts_only_where_case_is_the_writers_choice():
    casing = document_casing(DOCUMENT)
    assert casing["japan"] == (0.0, 1.0, 0.0, 0.0)  # twice Japan mid-sentence; JAPAN and Japan at starts ignored
    assert casing["fa"] == (0.0, 0.0, 1.0, 0.0)
    assert casing["the"] == (1.0, 0.0, 0.0, 0.0)  # the first word The is not counted
    assert casing["lucky"] == (1.0, 0.0, 0.0, 0.0)
    assert casing["win"] == (1.0, 0.0, 0.0, 0.0)
    assert "soccer" not in casing and "get" not in casing  # only in the headline
    assert "2-1" not in casing and "." not in casing and "-" not in casing  # no letters
    mixed = document_casing([["x", "Paris", "paris", "PARIS", "Paris"]])
    assert mixed["paris"] == (0.25, 0.5, 0.25, 0.0)
    # a one-letter capital is capitalised, not upper case; a sentence of one-letter capitals is no headline
    assert document_casing([["x", "I", "A"], ["B", "C"]]) == {"i": (0.0, 1.0, 0.0, 0.0), "a": (0.0, 1.0, 0.0, 0.0),
                                                           "c": (0.0, 1.0, 0.0, 0.0)}


def test_contexts_carry_their_own_documents_casing():
    sentences = DOCUMENT + [["Then", "japan", "fell"], ["Other", "news"]]
    starts = [True, False, False, False, True, False]
    contexts = document_contexts(sentences, starts, 0, casing=True)
    assert all(c.casing is contexts[0].casing for c in contexts[:4])  # one mapping per document, shared
    assert contexts[0].casing == document_casing(DOCUMENT)
    assert contexts[4].casing is contexts[5].casing
    assert contexts[4].casing == document_casing(sentences[4:])  # nothing from the first document
    assert all(c.before == [] and c.after == [] for c in contexts)
    assert all(c.casing is None for c in document_contexts(sentences, starts, 2))


def _model(context: int = 0) -> tuple[BiLSTMCRF, Encoder]:
    words = Vocabulary.build("soccer japan get lucky win beat syria in the fa said was".split())
    encoder = Encoder(words, Vocabulary.build("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"),
                      Vocabulary(["O", "S-X", "B-X", "I-X", "E-X"]))
    torch.manual_seed(0)
    config = ModelConfig(len(words), len(encoder.chars), len(CASINGS), len(encoder.tags), word_dim=6, char_dim=4,
                         char_filters=5, hidden_size=7, context=context, document_casing=len(NO_CASING_EVIDENCE))
    return BiLSTMCRF(config).eval(), encoder


@pytest.mark.parametrize("context", [0, 3])
def test_batches_hold_each_tokens_document_casing(context):
    model, encoder = _model(context)
    contexts = reading_contexts(model, DOCUMENT, [True, False, False, False])
    batch = encoder.batch(DOCUMENT, contexts)
    casing = document_casing(DOCUMENT)
    for i, (tokens, (before, after, _)) in enumerate(zip(DOCUMENT, contexts)):
        sequence = before + tokens + after
        expected = torch.tensor([casing.get(token.lower(), NO_CASING_EVIDENCE) for token in sequence])
        torch.testing.assert_close(batch.document_casing[i, : len(sequence)], expected)
        assert not batch.document_casing[i, len(sequence) :].any()  # padding
    assert (batch.offsets is None) == (context == 0)


def test_the_model_reads_document_casing_and_asks_for_it():
    model, encoder = _model()
    sentence = ["Lucky", "Japan", "!"]
    with torch.no_grad():
        contexts = reading_contexts(model, DOCUMENT, [True, False, False, False])
        in_document = model.emissions(encoder.batch([sentence], contexts[3:]))
        alone = model.emissions(encoder.batch([sentence], reading_contexts(model, [sentence])))
        # "Lucky" is lower-case elsewhere in its document, and unknown alone: a different input
        assert not torch.allclose(in_document[0, 0], alone[0, 0])
        with pytest.raises(ValueError, match="document casing"):
            model.emissions(encoder.batch([sentence]))


@pytest.fixture(scope="module")
def casing_model(tmp_path_factory):
    from tagger.training import TrainingConfig, train

    output = tmp_path_factory.mktemp("casing-model")
    best = train(read_corpus(SAMPLE / "train.conll"), read_corpus(SAMPLE / "dev.conll"), output,
                 TrainingConfig(epochs=10, patience=10, seed=2), {"hidden_size": 48, "document_casing": 4},
                 source_scheme="IOB2", log=lambda message: None)
    return output, best


def test_a_model_trained_with_document_casing_learns_and_reads_its_documents(casing_model, tmp_path):
    output, best = casing_model
    assert best["f1"] > 0.8
    assert json.loads((output / "config.json").read_text())["model"]["document_casing"] == 4
    tagger = Tagger.load(output)
    test = read_corpus(SAMPLE / "test.conll")
    tokens = [s.tokens for s in test]
    starts = document_starts(test)
    in_documents = tagger.predict(tokens, document_starts=starts)
    alone = tagger.predict(tokens)
    assert any(a.probability != b.probability for a, b in zip(in_documents, alone))
    assert [r.tags for r in alone] == [r.tags for r in tagger.predict(tokens, document_starts=[True] * len(tokens))]
    first = tokens[:6]
    assert tagger.tag_document(first) == tagger.tag_batch(first, document_starts=[True] + [False] * 5)
    # the CLI reads a CoNLL file's documents
    written = tmp_path / "tagged.conll"
    subprocess.run([sys.executable, "tag.py", "--model", str(output), str(SAMPLE / "test.conll"),
                    "--output", str(written)], cwd=ROOT, check=True)
    tagged = [[line.split()[-1] for line in block.splitlines() if not line.startswith("-DOCSTART-")]
              for block in written.read_text().split("\n\n")]
    assert [tags for tags in tagged if tags] == [r.tags for r in in_documents]
    # one sentence through Tagger.tag is a document of its own
    assert tagger.tag(tokens[0]) == tagger.tag_batch([tokens[0]])[0]
    torch.testing.assert_close(tagger.marginals(tokens[0]).probabilities.sum(dim=1), torch.ones(len(tokens[0])), atol=1e-4, rtol=0)


def test_benchmark_compares_a_document_casing_model_with_its_straightforward_path(casing_model, tmp_path):
    import shutil

    shutil.copy(SAMPLE / "train.conll", tmp_path / "eng.train")
    shutil.copy(SAMPLE / "test.conll", tmp_path / "eng.testb")
    done = subprocess.run(
        [sys.executable, "-m", "tagger.bench", "--data", str(tmp_path), "--model", str(casing_model[0]),
         "--repeats", "1", "--train-sentences", "50"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    rows = {line[:40].strip(): line for line in done.stdout.splitlines()}
    assert "all identical" in rows["same tags as the straightforward path"]


def test_context_unpacks_as_before_after_casing():
    before, after, casing = Context(["a"], ["b"])
    assert (before, after, casing) == (["a"], ["b"], None)
