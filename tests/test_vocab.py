import gzip

import numpy as np
import pytest

from tagger.corpus import Sentence
from tagger.embeddings import EmbeddingsError, load_embeddings
from tagger.training import TrainingConfig, build_encoder, initial_word_vectors
from tagger.vocab import PAD, UNK, Vocabulary

import torch


def test_build_orders_by_count_and_reserves_pad_unk():
    vocab = Vocabulary.build(["b", "a", "b", "c", "a", "b"], min_count=2, extra=["z", "a"])
    assert vocab.names == [PAD, UNK, "b", "a", "z"]
    assert vocab.id("b") == 2 and vocab.id("c") == 1 and vocab.id("never") == 1
    assert vocab.name(4) == "z"


def test_labels_reject_unknown_and_duplicates():
    labels = Vocabulary(["O", "B-PER"])
    assert labels.ids(["B-PER", "O"]) == [1, 0]
    with pytest.raises(KeyError, match="unknown label 'B-LOC'"):
        labels.id("B-LOC")
    with pytest.raises(ValueError, match="duplicate names"):
        Vocabulary(["O", "O"])


def test_json_round_trip():
    vocab = Vocabulary.build(["x", "y", "x"])
    assert Vocabulary.from_dict(vocab.to_dict()) == vocab
    labels = Vocabulary(["O", "B-X"])
    assert Vocabulary.from_dict(labels.to_dict()) == labels


def write_vectors(path, lines, header=None):
    text = ((header + "\n") if header else "") + "\n".join(lines) + "\n"
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8") as stream:
            stream.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name, header", [("v.txt", None), ("v.txt.gz", None), ("w2v.txt", "3 2")])
def test_text_vectors(tmp_path, name, header):
    path = write_vectors(tmp_path / name, ["the 0.1 0.2", "paris 1 -1", "berlin 0.5 0.25"], header)
    embeddings = load_embeddings(path)
    assert embeddings.words == ["the", "paris", "berlin"]
    assert embeddings.dim == 2 and embeddings.lowercase
    np.testing.assert_allclose(embeddings.vectors[1], [1.0, -1.0])


def test_a_word_listed_again_keeps_its_first_vector(tmp_path):
    embeddings = load_embeddings(write_vectors(tmp_path / "v.txt", ["paris 1 2", "oslo 3 4", "paris 5 6"]))
    assert embeddings.words == ["paris", "oslo"]
    np.testing.assert_allclose(embeddings.vectors, [[1, 2], [3, 4]])


def test_bad_vectors(tmp_path):
    with pytest.raises(EmbeddingsError, match=r"v.txt:2: expected 2 numbers"):
        load_embeddings(write_vectors(tmp_path / "v.txt", ["a 1 2", "b 1"]))
    with pytest.raises(EmbeddingsError, match="no such file"):
        load_embeddings(tmp_path / "none.txt")


def test_vectors_make_words_known_and_initialise_the_table(tmp_path):
    path = write_vectors(tmp_path / "v.txt", ["the 0.1 0.2", "paris 1 -1", "berlin 0.5 0.25"])
    embeddings = load_embeddings(path)
    sentences = [Sentence(["Paris", "is", "big", "is"], ["B-LOC", "O", "O", "O"])]
    encoder = build_encoder(sentences, embeddings, TrainingConfig(min_count=2))
    # "is" (twice) by count, "paris" (once) because it has a vector, "berlin" from the vectors alone
    assert "is" in encoder.words and "paris" in encoder.words and "berlin" in encoder.words
    assert "big" not in encoder.words
    assert encoder.lowercase and encoder.words.id(encoder.word_key("BERLIN")) == encoder.words.id("berlin")
    table = initial_word_vectors(encoder, embeddings, torch.Generator().manual_seed(0))
    assert table.shape == (len(encoder.words), 2)
    assert table[encoder.words.id("berlin")].tolist() == [0.5, 0.25]
    assert table[encoder.words.id("paris")].tolist() == [1.0, -1.0]
    assert table[0].abs().sum() == 0
    assert encoder.tags.names == ["O", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]
    limited = build_encoder(sentences, embeddings, TrainingConfig(min_count=2, max_vectors=1))
    assert "berlin" not in limited.words and "the" in limited.words and "paris" in limited.words


def test_packaged_glove_is_memory_mapped():
    embeddings = load_embeddings("glove-6b-50d")
    assert len(embeddings.words) == 400000 and embeddings.dim == 50
    assert isinstance(embeddings.vectors, np.memmap)
    assert embeddings.words[:3] == ["the", ",", "."]
    assert embeddings.lowercase
    assert len(set(embeddings.words)) == len(embeddings.words)  # distinct, as ``Embeddings`` promises


def test_pretrained_words_the_training_data_never_shows_stay_fixed(tmp_path):
    from tagger.corpus import read_corpus
    from tagger.storage import load_model
    from tagger.training import train

    from .conftest import SAMPLE

    sentences = read_corpus(SAMPLE / "train.conll")[:40]
    lines = ["paris " + " ".join(["0.5"] * 6), "zanzibar " + " ".join(["0.25"] * 6), "qwerty " + " ".join(["-1"] * 6)]
    embeddings = load_embeddings(write_vectors(tmp_path / "v.txt", lines))
    train(sentences, sentences[:10], tmp_path / "m", TrainingConfig(epochs=2, seed=1), {"hidden_size": 8},
          embeddings, log=lambda message: None)
    model, encoder, _ = load_model(tmp_path / "m")
    seen = {token.lower() for s in sentences for token in s.tokens}
    assert "zanzibar" not in seen and "qwerty" not in seen and "paris" in seen
    assert model.config.fixed_words == 2 and encoder.words.names[-2:] == ["zanzibar", "qwerty"]
    assert model.fixed_word_vectors.tolist() == [[0.25] * 6, [-1.0] * 6]
    zanzibar = torch.tensor([[encoder.words.id("zanzibar"), encoder.words.id("paris")]])
    vectors = model.embed_words(zanzibar)[0]
    assert vectors[0].tolist() == [0.25] * 6
    assert vectors[1].tolist() != [0.5] * 6  # trained words move


def test_frozen_vectors_stay_as_pretrained_and_go_last(tmp_path):
    from tagger.corpus import read_corpus
    from tagger.storage import load_model
    from tagger.training import train

    from .conftest import SAMPLE

    sentences = read_corpus(SAMPLE / "train.conll")[:40]
    lines = ["paris " + " ".join(["0.5"] * 6), "zanzibar " + " ".join(["0.25"] * 6), "the " + " ".join(["-1"] * 6)]
    embeddings = load_embeddings(write_vectors(tmp_path / "v.txt", lines))
    train(sentences, sentences[:10], tmp_path / "m", TrainingConfig(epochs=2, seed=1, freeze_vectors=True),
          {"hidden_size": 8}, embeddings, log=lambda message: None)
    model, encoder, config = load_model(tmp_path / "m")
    assert config["training"]["freeze_vectors"] is True
    # every word with a vector is fixed, training words or not, in the vector file's order
    assert model.config.fixed_words == 3 and encoder.words.names[-3:] == ["paris", "zanzibar", "the"]
    assert model.fixed_word_vectors.tolist() == [[0.5] * 6, [0.25] * 6, [-1.0] * 6]
    assert "the" in {token.lower() for s in sentences for token in s.tokens}
    ids = torch.tensor([[encoder.words.id("the"), encoder.words.id("paris")]])
    assert model.embed_words(ids)[0].tolist() == [[-1.0] * 6, [0.5] * 6]


def test_all_packaged_vectors_are_read_back_from_the_package_not_saved(tmp_path):
    import json

    from tagger.corpus import read_corpus
    from tagger.storage import CONFIG_FILE, WEIGHTS_FILE, ModelError, load_model
    from tagger.training import train

    from .conftest import SAMPLE

    sentences = read_corpus(SAMPLE / "train.conll")[:40]
    glove = load_embeddings("glove-6b-50d")
    train(sentences, sentences[:10], tmp_path / "m", TrainingConfig(epochs=1, seed=1, max_vectors=None),
          {"hidden_size": 8}, glove, log=lambda message: None)
    assert (tmp_path / "m" / WEIGHTS_FILE).stat().st_size < 5_000_000  # 400,000 vectors would be 80 MB
    model, encoder, _ = load_model(tmp_path / "m")
    assert model.config.fixed_vectors == "glove-6b-50d" and len(encoder.words) >= 400_000
    seen = {token.lower() for s in sentences for token in s.tokens}
    for word in ("zanzibar", "photosynthesis", "kumquat"):
        assert word not in seen
        row = glove.words.index(word)
        vector = model.embed_words(torch.tensor([[encoder.words.id(word)]]))[0, 0]
        assert vector.tolist() == glove.vectors[row].tolist()
    # vectors that are not the ones it was trained with: a clear error, not a silently different model
    config = json.loads((tmp_path / "m" / CONFIG_FILE).read_text())
    config["encoder"]["words"]["fixed_names_sha256"] = "0" * 64
    (tmp_path / "m" / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ModelError, match="not those the model was trained with"):
        load_model(tmp_path / "m")
