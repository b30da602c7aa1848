"""Languages written without spaces: a model trained on a corpus of characters reads text a character at a time."""

import json
import re

import pytest

from tagger.corpus import Sentence, tokenization_of
from tagger.tokenizer import character_sentence_starts, tokenize_characters

from .conftest import SHARED, command

WEIBO = SHARED / "weibo"


def test_characters_with_their_offsets_and_sentences():
    text = "李明 在北京。\n\n他说：“好！”然后走了"
    tokens = tokenize_characters(text)
    assert [token for token, _, _ in tokens] == list("李明在北京。他说：“好！”然后走了")
    assert all(text[start:end] == token for token, start, end in tokens)
    assert tokens[2] == ("在", 3, 4)  # the space is dropped, the offsets are the text's
    starts = character_sentence_starts(tokens, text)
    # after 。 (and the blank line); after ！ and the quote that closes it
    assert [tokens[i][0] for i in starts] == ["李", "他", "然"]


def test_a_corpus_of_single_characters_is_read_as_characters():
    chinese = [Sentence(list("李明在北京大学工作。"), ["O"] * 10), Sentence(["😀x", "好"], ["O", "O"])]
    assert tokenization_of(chinese) == "characters"  # 11 of 12 tokens
    english = [Sentence("Angela Merkel visited Paris on Monday .".split(), ["O"] * 7)]
    assert tokenization_of(english) == "words" and tokenization_of([]) == "words"


# The corpora of ../shared are beside the project on CI; only a checkout without them goes without these.
needs_weibo = pytest.mark.skipif(not WEIBO.is_dir(), reason=f"{WEIBO} is absent")


@pytest.fixture(scope="module")
def weibo_model(tmp_path_factory):
    output = tmp_path_factory.mktemp("weibo") / "model"
    done = command("train.py", "--train", str(WEIBO / "train.conll"), "--dev", str(WEIBO / "dev.conll"),
                   "--output", str(output), "--epochs", "2", "--hidden-size", "32", "--batch-size", "32",
                   "--optimizer", "nadam", "--lr", "0.01")
    assert done.returncode == 0, done.stderr
    assert "(IOB2 read as BIOES)" in done.stdout and "tokens are characters" in done.stdout
    assert done.stdout.startswith("character bigrams: the corpus's tokens are characters (--bigram-dim 50; 0: none)")
    return output


@needs_weibo
def test_a_weibo_model_tags_chinese_text_a_character_at_a_time(weibo_model):
    from tagger import Tagger

    config = json.loads((weibo_model / "config.json").read_text())
    assert config["tokenization"] == "characters" and config["model"]["bigram_dim"] == 50
    assert config["model"]["language_model_words"] == 0  # the tokens are characters
    assert "北 京" in config["encoder"]["bigrams"]["names"]
    tagger = Tagger.load(weibo_model)
    assert tagger.reads_characters
    text = "李明 在北京大学工作。\n我爱北京天安门"
    [result] = tagger.predict([text])
    assert result.tokens == list("李明在北京大学工作。我爱北京天安门")
    assert result.sentence_starts == [0, 10]
    assert result.offsets[2] == (3, 4)
    # the model has learnt something in two epochs: names of people and places in its own dev messages
    dev = [line.split("\t")[0] for line in (WEIBO / "dev.conll").read_text(encoding="utf-8").split("\n")]
    messages = "".join(character or "\n" for character in dev).split("\n")
    entities = [entity for found in tagger.tag_batch(messages) for entity in found]
    assert len(entities) > 20
    for found, message in zip(tagger.tag_batch(messages), messages):
        assert all(entity.text == message[entity.start_char:entity.end_char] and " " not in entity.text
                   for entity in found)
    assert tagger.evaluate(WEIBO / "dev.conll").f1 > 0.1
    # tag_batch and pipe split strings as tag does
    assert [e.text for e in tagger.tag(text)] == [e.text for e in next(tagger.pipe([text])).entities]


@needs_weibo
def test_tag_py_writes_characters_without_spaces(weibo_model, tmp_path, capsys):
    from tagger.cli import main

    text = "我爱北京天安门。李明在北京大学工作。\n"
    (tmp_path / "text.txt").write_text(text, encoding="utf-8")
    for input_format in ("text", "paragraphs"):
        assert main(["--model", str(weibo_model), "--input-format", input_format, "--format", "inline",
                     str(tmp_path / "text.txt")]) == 0
        # brackets and types removed, the text is the input without whitespace: no space between characters
        assert re.sub(r"\[[A-Z.]+ |\]", "", capsys.readouterr().out.rstrip("\n")) == text.strip()
    done = command("tag.py", "--model", str(weibo_model), "-", input=text)
    assert done.returncode == 0 and done.stderr.startswith("<stdin>: read as plain text")
    rows = [line.split() for line in done.stdout.splitlines() if line]
    assert [row[0] for row in rows] == list(text.strip()) and {len(row) for row in rows} == {2}
