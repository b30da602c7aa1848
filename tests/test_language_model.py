"""The language-model objective: each LSTM direction also predicts the word it has not read yet."""

import json
import math

import torch

from tagger.api import Tagger
from tagger.corpus import read_corpus
from tagger.model import UNKNOWN_WORD

from .conftest import SAMPLE, command, tiny_model

SENTENCES = [["a", "b", "c", "a"], ["b"], ["c", "a", "d"]]


def test_the_loss_is_the_crfs_plus_the_weighted_next_and_previous_word_cross_entropy():
    model, encoder = tiny_model("a a a b b c d", "abcd", language_model_words=2, language_model_weight=0.3)
    plain, _ = tiny_model("a a a b b c d", "abcd")
    plain.load_state_dict(model.state_dict(), strict=False)
    batch = encoder.batch(SENTENCES)
    tags = torch.zeros(batch.mask.shape, dtype=torch.long)
    states = model.token_states(batch)
    # Words a and b are the two most frequent: ids 2 and 3; c and d are predicted as unknown.
    ids = {"a": 2, "b": 3, "c": UNKNOWN_WORD, "d": UNKNOWN_WORD}
    expected = 0.0
    for row, tokens in enumerate(SENTENCES):
        for t in range(len(tokens) - 1):
            next_scores = model.language_model.forward_head(states[row, t, :7])
            previous_scores = model.language_model.backward_head(states[row, t + 1, 7:])
            expected -= next_scores.log_softmax(-1)[ids[tokens[t + 1]]] + previous_scores.log_softmax(-1)[ids[tokens[t]]]
    expected /= len(SENTENCES)
    assert model.language_model.forward_head[-1].out_features == 4  # padding, unknown, a, b
    torch.testing.assert_close(model.loss(batch, tags), plain.loss(batch, tags) + 0.3 * expected)


def test_each_direction_predicts_a_word_it_has_not_read():
    model, encoder = tiny_model("a b c d", "abcd", language_model_words=4)
    states = model.token_states(encoder.batch([["a", "b", "c", "d"]]))
    changed = model.token_states(encoder.batch([["a", "b", "d", "d"]]))  # the third word differs
    # The forward states up to the second token, which predict the third word, have not read it; nor
    # have the backward states from the fourth token on, which predict it from the other side.
    torch.testing.assert_close(states[0, :2, :7], changed[0, :2, :7])
    torch.testing.assert_close(states[0, 3:, 7:], changed[0, 3:, 7:])
    assert not torch.allclose(states[0, 2, :7], changed[0, 2, :7])


def test_sentences_read_in_context_predict_their_own_words():
    model, encoder = tiny_model("a b c d e", "abcde", language_model_words=5, context=2)
    contexts = [(["e", "e"], ["d"]), ([], ["a", "a"])]
    batch = encoder.batch([["a", "b"], ["c"]], contexts)
    words = model.predicted_words(batch)
    assert words[batch.mask].tolist() == encoder.words.ids(["a", "b", "c"])


def test_training_with_the_objective_learns_saves_and_tags(tmp_path):
    output = tmp_path / "model"
    done = command("train.py", "--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll"),
                   "--output", str(output), "--epochs", "6", "--hidden-size", "48", "--language-model", "100",
                   "--language-model-weight", "0.2", "--threads", "1")
    assert done.returncode == 0, done.stderr
    config = json.loads((output / "config.json").read_text())["model"]
    assert (config["language_model_words"], config["language_model_weight"]) == (100, 0.2)
    metrics = [json.loads(line) for line in (output / "metrics.jsonl").read_text().splitlines()]
    assert max(m["dev_f1"] for m in metrics) > 0.75
    assert all(math.isfinite(m["loss"]) for m in metrics)
    tagger = Tagger.load(output)
    test = read_corpus(SAMPLE / "test.conll")
    assert tagger.evaluate(test).f1 > 0.7


def test_train_py_gives_the_objective_where_the_tokens_are_words(tmp_path):
    def trained(output: str, *options: str) -> tuple[str, dict]:
        done = command("train.py", "--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll"),
                       "--output", str(tmp_path / output), "--epochs", "1", *options)
        assert done.returncode == 0, done.stderr
        return done.stdout, json.loads((tmp_path / output / "config.json").read_text())["model"]

    line = "language-model objective: the corpus's tokens are words (--language-model 2000; 0: none)\n"
    stdout, config = trained("without-vectors", "--hidden-size", "8")
    assert line in stdout and config["language_model_words"] == 2000
    stdout, config = trained("with-vectors", "--hidden-size", "8", "--embeddings", "glove-6b-50d")
    assert line in stdout and config["language_model_words"] == 2000
    stdout, config = trained("none", "--hidden-size", "8", "--language-model", "0")
    assert "language-model objective" not in stdout and config["language_model_words"] == 0
    # A run from a base keeps the base's objective, whichever it was.
    _, config = trained("again", "--base", str(tmp_path / "without-vectors"))
    assert config["language_model_words"] == 2000
