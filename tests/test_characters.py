"""Languages written without spaces: a model trained on a corpus of characters reads text a character at a time."""

import json

from tagger.corpus import Sentence, read_conll, read_corpus, tokenization_of
from tagger.schemes import convert_tags
from tagger.tokenizer import character_sentence_starts, tokenize_characters, with_space_tokens

from .conftest import SAMPLE, command


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
    korean = [Sentence(list("서울 시청에 갔다"), ["O"] * 9)]  # KLUE writes the space between words as a token
    assert tokenization_of(korean) == "characters and spaces"
    # a stray ideographic space in a Chinese corpus (under 1% of its tokens) leaves it a corpus of characters
    assert tokenization_of(chinese * 10 + [Sentence(["\u3000"], ["O"])]) == "characters"


def test_the_spaces_between_words_are_tokens_within_a_sentence_only():
    text = "서울 시청에  갔다. 그리고\n돌아왔다"
    tokens, starts = with_space_tokens(*(lambda found: (found, character_sentence_starts(found, text, spaced=True)))(
        tokenize_characters(text)))
    assert [token for token, _, _ in tokens] == list("서울 시청에 갔다.") + list("그리고 돌아왔다")
    assert all(text[start:end].isspace() if token == " " else text[start:end] == token for token, start, end in tokens)
    assert tokens[6] == (" ", 6, 8)  # two spaces, one token with the offsets of both
    assert starts == [0, 10]  # after the full stop that a space follows; a line break inside a sentence is a space
    # without spaced, a full stop ends no sentence of characters (Chinese writes 。)
    assert character_sentence_starts(tokenize_characters(text), text) == [0]


def _klue_layout(source, target):
    """``source``, a CoNLL file of words, written as KLUE writes Korean: a character a line, the space between
    words a token, a comment line with the text before each sentence."""
    lines = []
    for number, sentence in enumerate(read_corpus(source)):
        tags = convert_tags(sentence.labels, "IOB2")
        lines.append(f"## sample-{number:05d}\t{' '.join(sentence.tokens)}")
        for i, (word, tag) in enumerate(zip(sentence.tokens, tags)):
            if i:
                lines.append(" \t" + (tag if tag.startswith("I-") else "O"))
            lines += [f"{character}\t{tag if j == 0 or tag == 'O' else 'I-' + tag[2:]}" for j, character in enumerate(word)]
        lines.append("")
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_corpus_whose_spaces_are_tokens_trains_a_model_that_reads_them(tmp_path):
    from tagger import Tagger

    for split in ("train", "dev"):
        _klue_layout(SAMPLE / f"{split}.conll", tmp_path / f"{split}.tsv")
    options = ["--comment-prefix", "##", "--column-separator", "tab"]
    done = command("train.py", "--train", str(tmp_path / "train.tsv"), "--dev", str(tmp_path / "dev.tsv"),
                   "--output", str(tmp_path / "model"), "--epochs", "2", "--hidden-size", "32", *options[:2])
    assert done.returncode == 2 and done.stderr.count("\n") == 1  # the space lines, split at spaces, lack a column
    assert "--column-separator tab reads the columns between tabs" in done.stderr
    done = command("train.py", "--train", str(tmp_path / "train.tsv"), "--dev", str(tmp_path / "dev.tsv"),
                   "--output", str(tmp_path / "model"), "--epochs", "10", "--hidden-size", "32", "--seed", "1",
                   *options)
    assert done.returncode == 0, done.stderr
    assert "tokens are characters and spaces" in done.stdout and "character bigrams" in done.stdout
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert config["tokenization"] == "characters and spaces" and config["data"]["reading"]["column_separator"] == "tab"
    done = command("tag.py", "--model", str(tmp_path / "model"), "--eval", str(tmp_path / "dev.tsv"), "--json",
                   *options)
    assert done.returncode == 0 and json.loads(done.stdout)["f1"] > 0.8  # 0.94 (seed 1)
    tagger = Tagger.load(tmp_path / "model")
    text = "Interpol said that James O'Neil  would lead the talks in Seoul on Monday. He left."
    [result] = tagger.predict([text])
    assert result.tokens[:10] == list("Interpol s") and len(result.sentence_starts) == 2
    assert "".join(result.tokens[result.sentence_starts[1]:]) == "He left."  # after a full stop and a space
    found = {(entity.label, entity.text) for entity in tagger.tag(text)}
    assert {("ORG", "Interpol"), ("PER", "James O'Neil"), ("LOC", "Seoul")} <= found  # an entity with its space
    # tag.py writes a tagged file line for line, the space lines included
    sample = (tmp_path / "dev.tsv").read_text(encoding="utf-8").split("\n\n")[0] + "\n"
    (tmp_path / "one.tsv").write_text(sample, encoding="utf-8")
    done = command("tag.py", "--model", str(tmp_path / "model"), str(tmp_path / "one.tsv"), *options)
    assert done.returncode == 0, done.stderr
    written = done.stdout.rstrip("\n").split("\n")
    comment, *lines = sample.rstrip("\n").split("\n")
    assert written[0] == comment and [line.rsplit("\t", 1)[0] for line in written[1:]] == lines
    assert " \tO\tO" in written
    # text tagged into columns: each token before a tab, the space tokens too, so that the columns read back
    done = command("tag.py", "--model", str(tmp_path / "model"), "--input-format", "text", "-", input=text + "\n")
    assert done.returncode == 0, done.stderr
    assert " \tO" in done.stdout.splitlines() and all("\t" in line for line in done.stdout.splitlines() if line)
    (tmp_path / "tagged.tsv").write_text(done.stdout, encoding="utf-8")
    assert [token for sentence in read_conll(tmp_path / "tagged.tsv", column_separator="tab")
            for token in sentence.tokens] == result.tokens
    done = command("tag.py", "--model", str(tmp_path / "model"), str(tmp_path / "one.tsv"), *options[:2])
    assert done.stderr.endswith("read as plain text (--input-format conll reads it as CoNLL columns); if a token is "
                                "or holds a space, --column-separator tab reads it as CoNLL columns\n")
