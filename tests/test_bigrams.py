"""Token pairs (bigrams): each token also reads its pairs with the token before it and the one after it."""

import json

import torch

from tagger.encoding import CASINGS, Encoder
from tagger.inference import decode_sentences
from tagger.model import BiLSTMCRF, ModelConfig
from tagger.training import TrainingConfig
from tagger.training.networks import build_encoder
from tagger.corpus import Sentence
from tagger.vocab import Vocabulary

from .conftest import SAMPLE, command


def pair_encoder() -> Encoder:
    pairs = Vocabulary.build([" 北", "北 京", "京 ", "京 大", "大 学"])
    return Encoder(Vocabulary.build("北京大学"), Vocabulary.build("北京大学"), Vocabulary(["O"]), True, pairs)


def test_each_token_reads_its_pairs_with_the_tokens_beside_it():
    encoder = pair_encoder()
    assert encoder.bigram_keys(["北", "京"]) == [" 北", "北 京", "京 "]
    pair = encoder.bigrams.id
    batch = encoder.batch([["北", "京"], ["京", "大", "学"], ["学"]])
    unknown = 1
    assert batch.bigrams.tolist() == [
        [[pair(" 北"), pair("北 京")], [pair("北 京"), pair("京 ")], [0, 0]],  # padding: 0
        [[unknown, pair("京 大")], [pair("京 大"), pair("大 学")], [pair("大 学"), unknown]],  # " 京", "学 " unseen
        [[unknown, unknown], [0, 0], [0, 0]],
    ]
    # With context the pairs are the whole sequence's: the sentence's first token pairs with the context's last.
    read = encoder.batch([["京", "大"]], [(["北"], ["学"])])
    assert read.bigrams.tolist() == [[[pair(" 北"), pair("北 京")], [pair("北 京"), pair("京 大")],
                                      [pair("京 大"), pair("大 学")], [pair("大 学"), unknown]]]
    # An encoder without pairs gives batches without them; both kinds come back from their dicts.
    plain = Encoder(encoder.words, encoder.chars, encoder.tags)
    assert plain.batch([["北"]]).bigrams is None
    for saved in (encoder, plain):
        assert Encoder.from_dict(json.loads(json.dumps(saved.to_dict()))) == saved


def test_pairs_seen_once_read_as_unknown_whatever_the_words_min_count():
    sentences = [Sentence(list("北京大学"), ["O"] * 4), Sentence(list("北京"), ["O"] * 2)]
    for min_count in (1, 3):
        encoder = build_encoder(sentences, None, TrainingConfig(min_count=min_count), bigrams=True)
        assert encoder.bigrams.names == ["<pad>", "<unk>", " 北", "北 京"]  # the pairs seen twice, most frequent first
    assert build_encoder(sentences, None, TrainingConfig()).bigrams is None


def test_a_model_with_bigrams_tags_a_sentence_alike_alone_and_in_a_padded_batch():
    torch.manual_seed(0)
    encoder = pair_encoder()
    model = BiLSTMCRF(ModelConfig(len(encoder.words), len(encoder.chars), len(CASINGS), 1, word_dim=4, char_dim=3,
                                  char_filters=3, hidden_size=3, bigram_dim=5, num_bigrams=len(encoder.bigrams)))
    model.eval()
    assert model.lstm.input_size == 4 + 8 + 3 + 2 * 5
    sentences = [["北", "京", "大", "学"], ["学"], ["京", "大"]]
    with torch.no_grad():
        together = model.emissions(encoder.batch(sentences))
        for row, tokens in enumerate(sentences):
            alone = model.emissions(encoder.batch([tokens]))[0]
            assert torch.allclose(together[row, : len(tokens)], alone, atol=1e-6)
        # The pairs reach the scores: another pair vector changes them.
        model.bigram_embedding.weight[encoder.bigrams.id("大 学")] += 1.0
        assert not torch.allclose(model.emissions(encoder.batch(sentences)), together)
    assert [r.tags for r in decode_sentences(model, encoder, sentences)] == [["O"] * len(s) for s in sentences]


def test_train_py_gives_bigrams_where_the_tokens_are_characters_and_keeps_them_in_the_model(tmp_path):
    def trained(output: str, *options: str) -> dict:
        done = command("train.py", "--train", str(SAMPLE / "train.conll"), "--dev", str(SAMPLE / "dev.conll"),
                       "--output", str(tmp_path / output), "--epochs", "1", *options)
        assert done.returncode == 0, done.stderr
        assert "character bigrams:" not in done.stdout  # the sample corpus's tokens are words
        return json.loads((tmp_path / output / "config.json").read_text())

    words = trained("words", "--hidden-size", "8")
    assert words["model"]["bigram_dim"] == 0 and "bigrams" not in words["encoder"]
    pairs = trained("pairs", "--hidden-size", "8", "--bigram-dim", "6")
    assert pairs["model"]["bigram_dim"] == 6
    assert pairs["model"]["num_bigrams"] == len(pairs["encoder"]["bigrams"]["names"]) > 500
    assert "interpol said" in pairs["encoder"]["bigrams"]["names"]  # lower-cased word keys, as the words are
    card = (tmp_path / "pairs" / "README.md").read_text()
    assert f"- **Token pairs** known (bigrams beside each token): {pairs['model']['num_bigrams']:,}\n" in card
    assert "Token pairs" not in (tmp_path / "words" / "README.md").read_text()
    # The saved model tags as the trained one did, and a run from it as --base keeps its pairs.
    tagged = command("tag.py", "--model", str(tmp_path / "pairs"), "--eval", str(SAMPLE / "dev.conll"), "--json")
    assert tagged.returncode == 0, tagged.stderr
    assert json.loads(tagged.stdout)["f1"] == pairs["entity_bias_dev"]["f1"]  # with the entity bias chosen on dev
    again = trained("again", "--base", str(tmp_path / "pairs"))
    assert again["model"]["bigram_dim"] == 6 and again["encoder"]["bigrams"] == pairs["encoder"]["bigrams"]
    done = command("train.py", "--train", str(SAMPLE / "train.conll"), "--output", str(tmp_path / "bad"),
                   "--bigram-dim", "-1")
    assert done.returncode != 0 and done.stderr.strip().endswith("--bigram-dim must be at least 0, got -1")
