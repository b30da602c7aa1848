import json
from dataclasses import replace

import pytest
import torch

from tagger.api import Tagger
from tagger.corpus import read_corpus
from tagger.encoding import CASINGS, Encoder, casing
from tagger.inference import entity_scores, predict_tags
from tagger.model import BiLSTMCRF, ModelConfig
from tagger.storage import CONFIG_FILE, METRICS_FILE, WEIGHTS_FILE, load_model
from tagger.vocab import Vocabulary

from .conftest import SAMPLE, on_a_terminal


def test_casing_classes():
    names = [CASINGS[casing(token)] for token in ["paris", "EU", "Paris", "1996", "1996-08-22", ",", "iPhone"]]
    assert names == ["lower", "upper", "title", "numeric", "has_digit", "punctuation", "other"]


def test_batch_shares_characters_per_word_type():
    encoder = Encoder(Vocabulary.build(["a", "b"]), Vocabulary.build("ab"), Vocabulary(["O"]))
    batch = encoder.batch([["a", "b", "a"], ["b"]])
    assert batch.type_chars.shape[0] == 2  # two distinct words
    assert batch.token_types.tolist() == [[0, 1, 0], [1, 0, 0]]
    assert batch.mask.tolist() == [[True, True, True], [True, False, False]]


def test_training_learns_the_sample_corpus(sample_model):
    output, best = sample_model
    assert {CONFIG_FILE, WEIGHTS_FILE, METRICS_FILE} <= {path.name for path in output.iterdir()}
    records = [json.loads(line) for line in (output / METRICS_FILE).read_text().splitlines()]
    assert [record["epoch"] for record in records] == list(range(1, 13))
    assert records[-1]["loss"] < records[0]["loss"] / 10
    assert {"dev_precision", "dev_recall", "dev_f1", "train_tokens_per_second", "seconds"} <= set(records[0])
    assert best["f1"] > 0.85
    config = json.loads((output / CONFIG_FILE).read_text())
    assert config["tag_scheme"] == "BIOES" and config["input_scheme"] == "IOB2"
    assert config["tagger_version"] and config["training"]["seed"] == 3
    # it fits its own training sentences exactly
    model, encoder, _ = load_model(output)
    train = read_corpus(SAMPLE / "train.conll")
    predicted = predict_tags(model, encoder, [s.tokens for s in train])
    assert entity_scores([s.labels for s in train], predicted)["f1"] == 1.0
    # each type's dev F1, for every epoch and for the kept one: those of the saved model's tags
    from tagger.inference import type_scores

    dev = read_corpus(SAMPLE / "dev.conll")
    kept = type_scores([s.labels for s in dev], predict_tags(model, encoder, [s.tokens for s in dev]))
    assert best["type_f1"] == {name: row["f1"] for name, row in kept.items()} and set(kept) == {"LOC", "MISC", "ORG", "PER"}
    assert records[best["epoch"] - 1]["dev_type_f1"] == best["type_f1"]


def test_training_is_reproducible(tmp_path):
    from tagger.training import TrainingConfig, train

    sentences = read_corpus(SAMPLE / "train.conll")[:60]
    runs = []
    for name in ("a", "b"):
        train(sentences, sentences[:20], tmp_path / name, TrainingConfig(epochs=2, seed=5),
              {"hidden_size": 16}, log=lambda message: None)
        runs.append(load_model(tmp_path / name)[0].state_dict())
    assert all(torch.equal(runs[0][key], runs[1][key]) for key in runs[0])


def test_a_run_on_a_terminal_shows_each_epoch_s_batches_and_then_that_it_scores_dev(tmp_path):
    import re
    import sys

    code, out, shown = on_a_terminal(
        [sys.executable, "train.py", "--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll"),
         "--output", str(tmp_path / "model"), "--members", "1", "--epochs", "2", "--hidden-size", "16",
         "--threads", "1"])
    assert code == 0, shown
    states = [state.strip() for state in re.split(r"[\r\n]", shown) if state.strip()]
    for epoch in (1, 2):  # the bar from its start to its end, where it says that dev is scored
        shown = [state for state in states if state.startswith(f"epoch {epoch}/2")]
        assert shown[0].startswith(f"epoch {epoch}/2:   0%|") and len(shown) >= 2
        assert re.fullmatch(rf"epoch {epoch}/2 \(scoring dev\): 100%\|█+\| 40/40 \[.*loss=\d+\.\d{{3}}\]",
                            shown[-1])
    assert re.findall(r"^epoch +(\d) ", out, re.MULTILINE) == ["1", "2"]  # the log's lines; the bars on the terminal


def test_a_weight_average_over_epochs_takes_its_decay_from_the_corpus(tmp_path):
    import random

    from tagger.training import TrainingConfig, train
    from tagger.training.averaging import decay_for_epochs
    from tagger.training.batches import length_batches

    assert decay_for_epochs(2, 250) == 1 - 1 / 500 and decay_for_epochs(0.5, 1) == 0.0
    sentences = read_corpus(SAMPLE / "train.conll")[:60]
    steps = len(length_batches([len(s) for s in sentences], 8, random.Random(0)))  # the count, in any order
    logged: list[str] = []
    train(sentences, sentences[:20], tmp_path / "m", TrainingConfig(epochs=1, batch_size=8, average_epochs=1.5),
          {"hidden_size": 8}, log=logged.append)
    saved = json.loads((tmp_path / "m" / CONFIG_FILE).read_text())["training"]
    assert saved["average"] == pytest.approx(1 - 1 / (1.5 * steps)) and saved["average_epochs"] == 1.5
    assert f"weight average over 1.5 epochs of {steps} steps" in logged[1]
    logged.clear()  # an epoch of one step, counted in the singular
    train(sentences[:1], sentences[:1], tmp_path / "one", TrainingConfig(epochs=1, batch_size=8, average_epochs=2),
          {"hidden_size": 8}, log=logged.append)
    assert "weight average over 2 epochs of 1 step: decay 0.50000 a step" in logged[1]


def test_training_from_python_records_the_scheme_its_corpus_is_written_in(tmp_path):
    from tagger.corpus import Sentence
    from tagger.schemes import convert_tags
    from tagger.training import TrainingConfig, train

    iob1 = [Sentence(s.tokens, convert_tags(s.labels, "IOB1")) for s in read_corpus(SAMPLE / "train.conll")[:40]]
    assert any(tags[0].startswith("I-") for tags in (s.labels for s in iob1))
    logged: list[str] = []
    train(iob1, iob1[:10], str(tmp_path / "m"), TrainingConfig(epochs=1), {"hidden_size": 8}, log=logged.append)
    assert "40 training sentences (IOB1 read as BIOES)" in logged[0]
    config = json.loads((tmp_path / "m" / CONFIG_FILE).read_text())
    assert config["input_scheme"] == "IOB1" and config["tag_scheme"] == "BIOES"


def test_save_load_gives_identical_predictions(sample_model, tmp_path):
    output, _ = sample_model
    tagger = Tagger.load(output)
    test = [s.tokens for s in read_corpus(SAMPLE / "test.conll")]
    with torch.inference_mode():
        before = tagger.predict(test)
    from tagger.storage import save_config, save_weights

    save_config(tmp_path, tagger.model.config, tagger.encoder, tag_scheme="BIOES", entity_bias=tagger.entity_bias)
    save_weights(tmp_path, tagger.model)
    again = Tagger.load(tmp_path)
    assert [s.tags for s in again.predict(test)] == [s.tags for s in before]
    for key, value in tagger.model.state_dict().items():
        assert torch.equal(value, again.model.state_dict()[key])


def test_model_shapes():
    config = ModelConfig(num_words=10, num_chars=8, num_casings=len(CASINGS), num_tags=5, word_dim=6,
                         hidden_size=4, char_filters=3)
    model = BiLSTMCRF(config).eval()
    encoder = Encoder(Vocabulary.build("abc"), Vocabulary.build("abc"), Vocabulary(["O", "B-X", "I-X", "E-X", "S-X"]))
    batch = encoder.batch([["a", "b", "c"], ["a"]])
    assert model.emissions(batch).shape == (2, 3, 5)
    decoded = model.decode(batch)
    assert decoded.shape == (2, 3) and decoded[1, 1:].tolist() == [-1, -1]
    tags = torch.zeros((2, 3), dtype=torch.long)
    assert model.loss(batch, tags).dim() == 0


@pytest.mark.parametrize("kernel", [3, 5])
def test_char_cnn_computes_the_convolution_it_holds(kernel):
    from tagger.model import CharCNN

    torch.manual_seed(0)
    cnn = CharCNN(num_chars=20, char_dim=6, filters=7, kernel=kernel)
    chars = torch.randint(1, 20, (9, 5))
    chars[2:, 3:] = 0  # shorter words, padded
    chars[5, 1:] = 0
    embedded = cnn.embedding(chars).transpose(1, 2)
    expected = cnn.conv(embedded).masked_fill((chars == 0).unsqueeze(1), float("-inf")).max(dim=2).values
    computed = cnn(chars)
    torch.testing.assert_close(computed, expected)
    # and it trains the same: equal gradients, none for the padding character
    weights = torch.randn_like(expected)
    parameters = list(cnn.parameters())
    expected_gradients = torch.autograd.grad((expected * weights).sum(), parameters)
    computed_gradients = torch.autograd.grad((computed * weights).sum(), parameters)
    for expected_gradient, computed_gradient in zip(expected_gradients, computed_gradients):
        torch.testing.assert_close(computed_gradient, expected_gradient)
    assert computed_gradients[0][0].abs().sum() == 0


def test_dropout_keeps_each_value_with_probability_one_minus_p_and_scales_it():
    import pytest

    from tagger.model import Dropout

    values = torch.full((400, 500), 3.0, requires_grad=True)
    for p in (0.2, 0.5):
        dropout = Dropout(p).train()
        torch.manual_seed(0)
        dropped = dropout(values)
        kept = dropped != 0
        assert kept.float().mean().item() == pytest.approx(1 - p, abs=0.01)  # 200,000 draws: std 0.001
        assert torch.allclose(dropped[kept], torch.tensor(3.0 / (1 - p)))
        dropped.sum().backward()
        torch.testing.assert_close(values.grad, kept.float() / (1 - p))  # gradient through the same mask
        values.grad = None
        torch.manual_seed(0)
        assert torch.equal(dropout(values), dropped)  # a seed gives the same mask
        assert not torch.equal(dropout(values), dropped)
    assert torch.equal(Dropout(0.5).eval()(values), values)
    assert torch.equal(Dropout(0.0).train()(values), values)
    assert not Dropout(1.0).train()(values).any()


def test_locked_dropout_draws_one_mask_per_sentence_for_all_its_tokens():
    import pytest

    from tagger.model import Dropout

    values = torch.full((300, 12, 400), 3.0)
    dropped = Dropout(0.5, locked=True).train()(values)
    kept = dropped != 0
    assert torch.equal(kept, kept[:, :1].expand_as(kept))  # each (sentence, feature) kept at all tokens or none
    assert kept[:, 0].float().mean().item() == pytest.approx(0.5, abs=0.01)  # 120,000 draws: std 0.0015
    assert not torch.equal(kept[0, 0], kept[1, 0])  # sentences get masks of their own
    assert torch.allclose(dropped[kept], torch.tensor(6.0))
    assert torch.equal(Dropout(0.5, locked=True).eval()(values), values)


def test_word_dropout_reads_words_as_unknown_in_training_only():
    import pytest

    from tagger.model import UNKNOWN_WORD

    words = Vocabulary.build(f"w{i}" for i in range(48))
    encoder = Encoder(words, Vocabulary.build("w0123456789"), Vocabulary(["O", "B-X", "I-X", "E-X", "S-X"]))
    config = ModelConfig(num_words=len(words), num_chars=len(encoder.chars), num_casings=len(CASINGS), num_tags=5,
                         word_dim=6, hidden_size=4, char_filters=3, word_dropout=0.3)
    model = BiLSTMCRF(config)
    batch = encoder.batch([[f"w{(i * 7 + j) % 48}" for j in range(80 - i)] for i in range(80)])  # padded rows
    seen = []
    model.embed_words = lambda ids: seen.append(ids) or torch.zeros((*ids.shape, 6))
    torch.manual_seed(0)
    model.train().token_states(batch)
    read, given = seen[-1], batch.words
    dropped = read != given
    assert (read[dropped] == UNKNOWN_WORD).all() and not dropped[given == 0].any()  # padding stays padding
    assert dropped[given != 0].float().mean().item() == pytest.approx(0.3, abs=0.03)  # 3,240 tokens: std 0.008
    model.eval().token_states(batch)
    assert torch.equal(seen[-1], given)


def test_numeric_options_out_of_range_are_refused_before_anything_is_written(tmp_path, capsys):
    import subprocess
    import sys

    from tagger.errors import run_command
    from tagger.train_cli import main

    from .conftest import ROOT

    output = tmp_path / "m"
    output.mkdir()
    (output / CONFIG_FILE).write_text("{}")  # a model --overwrite would replace
    corpora = ["--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll"), "--output", str(output),
               "--overwrite"]
    done = subprocess.run([sys.executable, "train.py", *corpora, "--word-dropout", "1.5"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert (done.returncode, done.stderr) == (2, "error: --word-dropout must be in [0, 1), got 1.5\n")
    for option, value, expected in [("--dropout", "1.5", "in [0, 1)"),
                                    ("--lr", "-0.01", "positive"), ("--clip", "-1.0", "positive"),
                                    ("--average", "1.5", "in [0, 1)"), ("--momentum", "1.0", "in [0, 1)"),
                                    ("--hidden-size", "0", "at least 1"), ("--context", "-2", "at least 0"),
                                    ("--threads", "0", "at least 1"), ("--teacher-weight", "2.0", "in [0, 1]"),
                                    ("--language-model", "-5", "at least 0"),
                                    ("--char-kernel", "4", "odd and at least 1"),
                                    ("--entity-bias", "inf", "a finite number")]:
        assert run_command(main, [*corpora, option, value]) == 2
        assert capsys.readouterr().err == f"error: {option} must be {expected}, got {value}\n"
    assert (output / CONFIG_FILE).read_text() == "{}"


def test_nadam_with_locked_dropout_learns_the_sample_corpus(tmp_path):
    from .conftest import command

    output = tmp_path / "m"
    done = command("train.py", "--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll"),
                   "--output", str(output), "--optimizer", "nadam", "--lr", "0.002", "--locked-dropout", "--epochs",
                   "6", "--hidden-size", "64", "--seed", "3")
    assert done.returncode == 0, done.stderr
    config = json.loads((output / CONFIG_FILE).read_text())
    assert config["training"]["optimizer"] == "nadam" and config["training"]["learning_rate"] == 0.002
    assert config["model"]["locked_dropout"] is True
    records = [json.loads(line) for line in (output / METRICS_FILE).read_text().splitlines()]
    assert records[-1]["loss"] < records[0]["loss"] / 3
    assert max(record["dev_f1"] for record in records) > 0.85


def test_a_student_learns_its_teachers_distribution(sample_model, tmp_path):
    """Gold tags with PER and LOC swapped, teacher weight 1: the student tags as its teacher does."""
    import dataclasses

    from tagger.training import TrainingConfig, train

    teacher, teacher_best = sample_model
    swap = {"PER": "LOC", "LOC": "PER"}
    swapped = [dataclasses.replace(s, labels=[label[:2] + swap.get(label[2:], label[2:]) for label in s.labels])
               for s in read_corpus(SAMPLE / "train.conll")]
    dev = read_corpus(SAMPLE / "dev.conll")
    messages = []
    config = TrainingConfig(epochs=8, patience=8, seed=3, teacher=str(teacher), teacher_weight=1.0)
    best = train(swapped, dev, tmp_path / "student", config, {"hidden_size": 64},
                 log=messages.append)
    assert any(message.startswith(f"teacher {teacher}:") for message in messages)
    assert best["f1"] > 0.85  # against the true dev tags: learnt from the teacher, not from the swapped gold
    assert json.loads((tmp_path / "student" / CONFIG_FILE).read_text())["training"]["teacher"] == str(teacher)
    # Weight 0 ignores the teacher: the swapped gold is learnt, and PER and LOC come out wrong.
    ignored = train(swapped, dev, tmp_path / "gold", TrainingConfig(epochs=6, patience=6, seed=3, teacher=str(teacher),
                    teacher_weight=0.0), {"hidden_size": 64}, log=lambda message: None)
    assert ignored["f1"] < 0.6


def test_a_teacher_with_other_tags_is_refused(sample_model, tmp_path):
    import pytest

    from tagger.errors import TaggerError
    from tagger.training import TrainingConfig, train

    teacher, _ = sample_model
    sentences = read_corpus(SAMPLE / "train.conll")[:20]
    with pytest.raises(TaggerError, match="tags .* are not this run's"):
        train(sentences, sentences, tmp_path / "student", TrainingConfig(epochs=1, teacher=str(teacher),
              tag_scheme="IOB2"), {"hidden_size": 8}, log=lambda message: None)


def test_a_missing_teacher_leaves_the_model_in_output_alone(sample_model, tmp_path):
    import pytest

    from tagger.storage import ModelError
    from tagger.training import TrainingConfig, train

    sentences = read_corpus(SAMPLE / "train.conll")[:20]
    train(sentences, sentences, tmp_path / "m", TrainingConfig(epochs=1), {"hidden_size": 8}, log=lambda message: None)
    before = (tmp_path / "m" / WEIGHTS_FILE).read_bytes()
    with pytest.raises(ModelError, match="no such model directory"):
        train(sentences, sentences, tmp_path / "m", TrainingConfig(epochs=1, teacher=str(tmp_path / "none")),
              {"hidden_size": 8}, log=lambda message: None)
    assert (tmp_path / "m" / WEIGHTS_FILE).read_bytes() == before


def test_gradients_are_the_same_on_every_run_with_two_threads():
    """No step adds a word's gradients from several threads in varying order (as tensor indexing's backward does)."""
    import random

    words = [f"w{k}" for k in range(40)]
    encoder = Encoder(Vocabulary.build(words), Vocabulary.build("w0123456789"), Vocabulary(["O", "S-X"]))
    config = ModelConfig(len(encoder.words), len(encoder.chars), len(CASINGS), 2, word_dim=8, char_dim=4,
                         char_filters=16, hidden_size=8, document_memory=True)
    torch.manual_seed(0)
    model = BiLSTMCRF(config).eval()  # no dropout: the same forward pass every time
    rng = random.Random(0)
    sentences = [[rng.choice(words) for _ in range(rng.randint(20, 40))] for _ in range(64)]
    batch = encoder.batch(sentences, documents=[k // 8 for k in range(64)])
    tags = torch.randint(0, 2, batch.mask.shape) * batch.mask

    def gradients():
        model.zero_grad()
        model.loss(batch, tags).backward()
        return [parameter.grad.clone() for parameter in model.parameters() if parameter.grad is not None]

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        first = gradients()
        for _ in range(5):
            assert all(torch.equal(a, b) for a, b in zip(first, gradients()))
    finally:
        torch.set_num_threads(before)


def _with_person(sentences):
    """The sentences with their PER entities relabelled PERSON: a label set the sample model has not seen."""
    return [replace(s, labels=[label.replace("-PER", "-PERSON") for label in s.labels]) for s in sentences]


def test_a_base_network_carries_over_all_but_the_tags_it_does_not_share(sample_model):
    from tagger.training import TrainingConfig, from_base

    base, base_encoder, _ = load_model(sample_model[0])
    train = _with_person(read_corpus(SAMPLE / "train.conll"))
    (model,), encoder, config = from_base(TrainingConfig(base=str(sample_model[0]), tag_scheme="IOB2"), train)
    assert config.tag_scheme == "BIOES"  # the base's, whatever was asked
    assert encoder.words.names == base_encoder.words.names and encoder.chars.names == base_encoder.chars.names
    assert encoder.tags.names == ["O"] + [f"{p}-{t}" for t in ("LOC", "MISC", "ORG", "PERSON") for p in "BIES"]
    assert model.config.num_tags == len(encoder.tags) and model.projection.out_features == len(encoder.tags)
    for name in ("lstm.weight_ih_l0", "char_cnn.conv.weight", "word_embedding.weight"):
        torch.testing.assert_close(model.state_dict()[name], base.state_dict()[name])
    old = [base_encoder.tags.id(tag) for tag in encoder.tags.names if not tag.endswith("PERSON")]
    new = [encoder.tags.id(tag) for tag in encoder.tags.names if not tag.endswith("PERSON")]
    torch.testing.assert_close(model.projection.weight[new], base.projection.weight[old])
    torch.testing.assert_close(model.crf.transitions[new][:, new], base.crf.transitions[old][:, old])
    torch.testing.assert_close(model.crf.start_transitions[new], base.crf.start_transitions[old])
    person = encoder.tags.id("S-PERSON")
    assert not torch.allclose(model.projection.weight[person], base.projection.weight[base_encoder.tags.id("S-PER")])


def test_fine_tuning_learns_a_new_label_set_from_where_the_base_left_off(sample_model, tmp_path):
    from tagger.training import TrainingConfig, train

    train_sentences, dev = (_with_person(read_corpus(SAMPLE / name)) for name in ("train.conll", "dev.conll"))
    one_epoch = TrainingConfig(epochs=1, seed=3)
    tuned = train(train_sentences, dev, tmp_path / "tuned", replace(one_epoch, base=str(sample_model[0])),
                  log=lambda message: None)
    new = train(train_sentences, dev, tmp_path / "new", one_epoch, {"hidden_size": 64},
                log=lambda message: None)
    assert tuned["f1"] > 0.85 and tuned["f1"] > new["f1"] + 0.3  # 0.95 against 0.09 when written
    tagger = Tagger.load(tmp_path / "tuned")
    assert "PERSON" in {entity.label for sentence in dev[:50] for entity in tagger.tag(sentence.tokens)}
    assert json.loads((tmp_path / "tuned" / CONFIG_FILE).read_text())["training"]["base"] == str(sample_model[0])
    # reproducible: the new tags' rows are drawn from the seed, as the rest of the run is
    train(train_sentences, dev, tmp_path / "again", replace(one_epoch, base=str(sample_model[0])),
          log=lambda message: None)
    assert (tmp_path / "again" / WEIGHTS_FILE).read_bytes() == (tmp_path / "tuned" / WEIGHTS_FILE).read_bytes()


def test_fine_tuning_an_ensemble_fine_tunes_each_member(tmp_path):
    from tagger.model import Ensemble
    from tagger.training import TrainingConfig, from_base, train

    train_sentences, dev = (read_corpus(SAMPLE / name) for name in ("train.conll", "dev.conll"))
    quiet = dict(log=lambda message: None)
    # SGD at 0.01 learns the sample corpus in fewer epochs than NAdam at 0.002: 2 here, 1 to fine-tune.
    # (and without an average over two epochs, which in a run of two would weigh the first steps' weights)
    train(train_sentences, dev, tmp_path / "base", TrainingConfig(epochs=2, members=2, optimizer="sgd",
                                                                    average_epochs=0),
          {"hidden_size": 16}, **quiet)
    base, _, _ = load_model(tmp_path / "base")
    person_train, person_dev = _with_person(train_sentences), _with_person(dev)
    networks, encoder, config = from_base(TrainingConfig(base=str(tmp_path / "base"), seed=5), person_train)
    assert config.members == 2 and len(networks) == 2
    for network, member in zip(networks, base.members):  # each member carries over its own weights
        torch.testing.assert_close(network.lstm.weight_hh_l0, member.lstm.weight_hh_l0)
    assert not torch.equal(base.members[0].lstm.weight_hh_l0, base.members[1].lstm.weight_hh_l0)
    person = encoder.tags.id("S-PERSON")  # a new tag's rows: drawn from seed 5 for one member, 6 for the other
    assert not torch.equal(networks[0].projection.weight[person], networks[1].projection.weight[person])
    tuned = train(person_train, person_dev, tmp_path / "tuned",
                  TrainingConfig(epochs=1, base=str(tmp_path / "base"), optimizer="sgd", average_epochs=0), **quiet)
    assert tuned["f1"] > 0.5
    model, encoder, saved = load_model(tmp_path / "tuned")
    assert isinstance(model, Ensemble) and len(model.members) == 2 and saved["members"] == 2
    assert "S-PERSON" in encoder.tags.names and "S-PER" not in encoder.tags.names


def test_an_epoch_of_one_token_sentences_trains_with_each_optimizer(tmp_path):
    """Batches of one-token sentences use no transition: its gradient is zero, for fused optimizers too.

    Mostly such batches, then one that uses the transitions (whose optimizer state
    SGD's fused kernel found missing), and a corpus with no other batch at all.
    """
    from tagger.corpus import Sentence
    from tagger.training import OPTIMIZERS, TrainingConfig, train

    words = [("Paris", "S-LOC"), ("said", "O"), ("Bob", "S-PER"), ("yes", "O")]
    one_token = [Sentence([word], [tag]) for word, tag in words * 10]
    mixed = one_token + [Sentence(["Bob", "said"], ["S-PER", "O"])] * 4
    for optimizer in OPTIMIZERS:
        for name, sentences in (("mixed", mixed), ("one-token", one_token)):
            output = tmp_path / optimizer / name
            train(sentences, sentences[:8], output, TrainingConfig(epochs=2, optimizer=optimizer, batch_size=4),
                  {"hidden_size": 8}, log=lambda message: None)
            assert len((output / METRICS_FILE).read_text().splitlines()) == 2
            trained = load_model(output)[0]
            torch.manual_seed(1)  # the run's seed: its network as it was before training
            initial = BiLSTMCRF(trained.config)
            assert not torch.equal(trained.crf.start_transitions, initial.crf.start_transitions)
            # where no batch used the transitions, their gradient was zero throughout
            assert torch.equal(trained.crf.transitions, initial.crf.transitions) == (name == "one-token")


def test_each_optimizer_has_its_own_learning_rate_unless_one_is_given():
    from tagger.training import TrainingConfig

    assert TrainingConfig(optimizer="sgd").learning_rate == 0.01
    assert TrainingConfig(optimizer="nadam").learning_rate == 0.002
    assert TrainingConfig(optimizer="nadam", learning_rate=0.05).learning_rate == 0.05


def test_the_entity_bias_is_the_one_with_the_best_dev_f1_and_the_model_tags_with_it(sample_model):
    from tagger.training.loop import ENTITY_BIAS_MIN_GAIN, ENTITY_BIASES, choose_entity_bias, dev_scores

    output, _ = sample_model
    config = json.loads((output / CONFIG_FILE).read_text())
    model, encoder, _ = load_model(output)
    dev = read_corpus(SAMPLE / "dev.conll")
    f1 = {bias: dev_scores(model, encoder, dev, bias)["f1"] for bias in ENTITY_BIASES}
    assert len(set(f1.values())) > 1  # the bias moves the tags: at -1 or at 3 the F1 is another
    best = max(f1.values())
    nearest = min((bias for bias in ENTITY_BIASES if f1[bias] == best), key=abs)  # the nearest 0 of ties
    assert choose_entity_bias(model, encoder, dev, min_gain=0.0)[0] == nearest
    assert choose_entity_bias(model, encoder, dev, min_gain=best - f1[0.0] + 1e-6) == (0.0, dev_scores(model, encoder, dev))
    # the run kept the best unless it gains less than the minimum over none
    chosen = config["entity_bias"]
    assert chosen == (nearest if best - f1[0.0] >= ENTITY_BIAS_MIN_GAIN else 0.0)
    assert config["entity_bias_dev"]["f1"] == f1[chosen]
    tagger = Tagger.load(output)
    assert tagger.entity_bias == chosen
    assert tagger.evaluate(dev).f1 == f1[chosen]
    # a large bias makes every token part of an entity, a large negative one none
    tagger.entity_bias = 100.0
    assert all(tag != "O" for sentence in tagger.predict([s.tokens for s in dev[:5]]) for tag in sentence.tags)
    tagger.entity_bias = -100.0
    assert all(not sentence.entities for sentence in tagger.predict([s.tokens for s in dev[:5]]))


def test_an_entity_bias_given_is_kept_without_choosing(tmp_path):
    from tagger.training import TrainingConfig, train

    sentences = read_corpus(SAMPLE / "train.conll")[:40]
    dev = read_corpus(SAMPLE / "dev.conll")[:20]
    logged = []
    train(sentences, dev, tmp_path / "m", TrainingConfig(epochs=1, entity_bias=0.6), {"hidden_size": 8},
          log=logged.append)
    config = json.loads((tmp_path / "m" / CONFIG_FILE).read_text())
    assert config["entity_bias"] == 0.6 and config["training"]["entity_bias"] == 0.6
    assert any(line.startswith("entity bias 0.6 (as given): dev") for line in logged)
    assert Tagger.load(tmp_path / "m").entity_bias == 0.6
    assert "It tags with an entity bias of 0.6" in (tmp_path / "m" / "README.md").read_text()


def test_corpus_defaults_are_what_train_py_chooses_for_the_corpus(tmp_path):
    from tagger.train_cli import main
    from tagger.training import corpus_defaults

    # The sample (words, in documents), and the same text a character a line without documents.
    words = read_corpus(SAMPLE / "train.conll")
    characters = tmp_path / "characters.conll"
    characters.write_text("".join("".join(f"{c} {tag if i == 0 or tag == 'O' else 'I-' + tag[2:]}\n"
                                          for token, tag in zip(s.tokens, s.labels) for i, c in enumerate(token))
                                  + "\n" for s in words[:150]))
    for corpus in (SAMPLE / "train.conll", characters):
        sentences = read_corpus(corpus)
        config, sizes = corpus_defaults(sentences)
        assert main(["--train", str(corpus), "--dev", str(SAMPLE / "dev.conll"), "--output", str(tmp_path / "m"),
                     "--overwrite", "--epochs", "1", "--hidden-size", "8", "--threads", "1"]) == 0
        run = json.loads((tmp_path / "m" / CONFIG_FILE).read_text())
        assert {name: run["model"][name] for name in sizes} == sizes
        for name in ("min_count", "max_vectors", "members"):
            assert run["training"][name] == getattr(config, name)
        assert config.epochs == 40
    assert sizes == {"word_dropout": 0.1, "document_memory": False, "bigram_dim": 50, "char_kernel": 3,
                     "language_model_words": 0}
    config, sizes = corpus_defaults(words)
    assert sizes == {"word_dropout": 0.1, "document_memory": True, "bigram_dim": 0, "char_kernel": 5,
                     "language_model_words": 2000}
    # With vectors: words seen twice, no word dropout, and all of a package's words.
    config, sizes = corpus_defaults(words, "glove-6b-50d")
    assert (config.min_count, config.max_vectors, sizes["word_dropout"]) == (2, None, 0.0)


def test_a_corpus_larger_than_a_runs_reading_trains_fewer_epochs_by_default(tmp_path, monkeypatch, capsys):
    from tagger import train_cli
    from tagger.training import defaults
    from tagger.training.config import TrainingConfig

    from .test_sources import write_jsonl

    # The rule itself: CoNLL-2002 Dutch and CoNLL-2003 train 36 epochs (their two networks side by side
    # within 30 minutes on 2 cores), a corpus of 180,000 tokens the most, 40.
    most = TrainingConfig().epochs
    assert train_cli._epochs_for(202_644, most) == train_cli._epochs_for(203_621, most) == 36
    assert train_cli._epochs_for(180_000, most) == most == 40
    sentences = read_corpus(SAMPLE / "dev.conll")
    tokens = sum(len(sentence) for sentence in sentences)
    # As if a run read three times the corpus: a corpus of TOKENS_READ / 3 tokens, at the real rule.
    monkeypatch.setattr(defaults, "TOKENS_READ", 3 * tokens - 1)
    jsonl = write_jsonl(tmp_path / "dev.jsonl", sentences)  # a table: its tokens counted from Arrow
    for corpus, name in ((SAMPLE / "dev.conll", "conll"), (jsonl, "table")):
        options = ["--train", str(corpus), "--dev", str(corpus), "--hidden-size", "8", "--threads", "1"]
        assert train_cli.main([*options, "--output", str(tmp_path / name)]) == 0
        assert f"3 epochs at most: the training corpus has {tokens:,} tokens, and a run reads about " \
               f"{3 * tokens - 1:,} (--epochs to set)" in capsys.readouterr().out
        assert json.loads((tmp_path / name / CONFIG_FILE).read_text())["training"]["epochs"] == 3
        assert len((tmp_path / name / METRICS_FILE).read_text().splitlines()) == 3
    # Given, --epochs is the run's; a corpus that 40 epochs read within the budget trains 40.
    assert train_cli.main([*options, "--output", str(tmp_path / "given"), "--epochs", "4"]) == 0
    assert "epochs at most" not in capsys.readouterr().out
    assert json.loads((tmp_path / "given" / CONFIG_FILE).read_text())["training"]["epochs"] == 4
    assert train_cli._epochs_for(defaults.TOKENS_READ // most, most) == most
    assert train_cli._epochs_for(defaults.TOKENS_READ // most + 1, most) == most  # rounded up: 40 still
    assert train_cli._epochs_for(10 * defaults.TOKENS_READ, most) == 1


def test_a_corpus_of_ten_to_a_quarter_million_tokens_trains_an_ensemble_by_default(tmp_path, monkeypatch, capsys):
    from tagger import Tagger, train_cli
    from tagger.model import Ensemble
    from tagger.training import defaults

    bounds = (9_999, 10_000, 99_999, 100_000, 249_999, 250_000)
    assert [train_cli._members_for(tokens) for tokens in bounds] == [1, 5, 5, 2, 2, 1]
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 4 and printed[2] == ("an ensemble of 2 networks: the training corpus has 100,000 tokens, "
                                                "from 100,000 to 250,000 (--members 1: one network, faster to train "
                                                "and to tag)")
    tokens = sum(len(sentence) for sentence in read_corpus(SAMPLE / "dev.conll"))
    # As if the sample's dev split were of the size the rule gives an ensemble, at the real rule.
    monkeypatch.setattr(defaults, "ENSEMBLE_SIZES", ((range(tokens, tokens + 1), 5),))
    options = ["--train", str(SAMPLE / "dev.conll"), "--dev", str(SAMPLE / "dev.conll"), "--hidden-size", "8",
               "--threads", "1", "--epochs", "1", "--entity-bias", "0"]
    assert train_cli.main([*options, "--output", str(tmp_path / "default")]) == 0
    assert (f"an ensemble of 5 networks: the training corpus has {tokens:,} tokens, from {tokens:,} to "
            f"{tokens + 1:,} (--members 1: one network") in capsys.readouterr().out
    assert json.loads((tmp_path / "default" / CONFIG_FILE).read_text())["members"] == 5
    assert sorted(path.name for path in (tmp_path / "default" / "members").iterdir()) == ["1", "2", "3", "4", "5"]
    assert isinstance(Tagger.load(tmp_path / "default").model, Ensemble)
    # Given, --members is the run's.
    assert train_cli.main([*options, "--output", str(tmp_path / "one"), "--members", "1"]) == 0
    assert "an ensemble" not in capsys.readouterr().out
    assert not (tmp_path / "one" / "members").exists()
    assert not isinstance(Tagger.load(tmp_path / "one").model, Ensemble)
