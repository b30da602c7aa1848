"""A model trained on Weibo NER, Chinese social media written a character a line: it reads and tags text a
character at a time, from Python, tag.py and spaCy."""

import json
import re

import pytest

from .conftest import SHARED, command

WEIBO = SHARED / "weibo"


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
    assert "an ensemble of 5 networks: the training corpus has 73,778 tokens" in done.stdout
    return output


@needs_weibo
def test_a_weibo_model_tags_chinese_text_a_character_at_a_time(weibo_model):
    from tagger import Tagger

    config = json.loads((weibo_model / "config.json").read_text())
    assert config["tokenization"] == "characters" and config["model"]["bigram_dim"] == 50
    assert config["members"] == 5  # a corpus of 10,000 to 100,000 tokens
    assert config["model"]["language_model_words"] == 0  # the tokens are characters
    assert config["model"]["char_kernel"] == 3  # a character fills its window alone, whatever the width
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


@needs_weibo
def test_the_spacy_component_reads_a_character_models_text_and_finds_spacys_tokens(weibo_model):
    import spacy

    from tagger import Tagger
    from tagger.integrations.spacy import FACTORY

    tagger = Tagger.load(weibo_model)
    dev = [line.split("\t")[0] for line in (WEIBO / "dev.conll").read_text(encoding="utf-8").split("\n")]
    messages = "".join(character or "\n" for character in dev).split("\n")[:120]
    expected = [[(e.start_char, e.end_char, e.label) for e in found] for found in tagger.tag_batch(messages)]
    assert sum(map(len, expected)) > 10
    # spaCy's Chinese tokens are characters, as the model's are: the same entities
    characters = spacy.blank("zh")
    characters.add_pipe(FACTORY, config={"model": str(weibo_model)})
    assert [[(ent.start_char, ent.end_char, ent.label_) for ent in doc.ents]
            for doc in characters.pipe(messages)] == expected
    # tokens of several characters: an entity takes in the tokens it touches, and no two overlap
    words = spacy.blank("xx")
    words.add_pipe(FACTORY, config={"model": str(weibo_model)})
    for doc, found in zip(words.pipe(messages), expected):
        for start, end, label in found:
            assert any(ent.start_char <= start and end <= ent.end_char for ent in doc.ents)
        assert all(any(start < ent.end_char and ent.start_char < end for start, end, _ in found) for ent in doc.ents)
