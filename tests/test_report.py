"""The error report: kinds of error, the confusion of types, the worst sentences, and ``tag.py --errors``."""

import json

import pytest

from tagger.api import Tagger
from tagger.cli import main
from tagger.corpus import Sentence, read_corpus
from tagger.report import (
    KINDS,
    NONE,
    EntityError,
    error_report,
    report_html,
    sentence_errors,
)

from .conftest import SAMPLE, command
from .test_render import marks_of


@pytest.mark.parametrize("gold, predicted, correct, errors", [
    ([("PER", 0, 2)], [("PER", 0, 2)], [("PER", 0, 2)], []),
    ([("PER", 0, 2)], [("ORG", 0, 2)], [], [EntityError("wrong type", ("PER", 0, 2), ("ORG", 0, 2))]),
    ([("PER", 0, 2)], [("PER", 1, 2)], [], [EntityError("wrong span", ("PER", 0, 2), ("PER", 1, 2))]),
    ([("PER", 0, 2)], [("ORG", 1, 3)], [], [EntityError("wrong type and span", ("PER", 0, 2), ("ORG", 1, 3))]),
    ([("PER", 0, 2)], [], [], [EntityError("missed", ("PER", 0, 2), None)]),
    ([], [("LOC", 4, 5)], [], [EntityError("spurious", None, ("LOC", 4, 5))]),
    ([("PER", 0, 2)], [("PER", 5, 6)], [], [EntityError("missed", ("PER", 0, 2), None),
                                             EntityError("spurious", None, ("PER", 5, 6))]),
    # One gold entity split in two: the larger part pairs with it, the other is spurious.
    ([("LOC", 0, 3)], [("LOC", 0, 1), ("LOC", 1, 3)], [], [EntityError("wrong span", ("LOC", 0, 3), ("LOC", 1, 3)),
                                                         EntityError("spurious", None, ("LOC", 0, 1))]),
    # Two gold entities merged into one: the first pairs with it, the second is missed.
    ([("ORG", 0, 1), ("ORG", 1, 2)], [("ORG", 0, 2)], [], [EntityError("wrong span", ("ORG", 0, 1), ("ORG", 0, 2)),
                                                         EntityError("missed", ("ORG", 1, 2), None)]),
    # An exact match is correct even beside an error over its tokens' neighbours.
    ([("PER", 0, 1), ("LOC", 2, 3)], [("PER", 0, 1), ("ORG", 2, 4)], [("PER", 0, 1)],
     [EntityError("wrong type and span", ("LOC", 2, 3), ("ORG", 2, 4))]),
])
def test_each_kind_of_error(gold, predicted, correct, errors):
    assert sentence_errors(gold, predicted) == (correct, errors)


def test_counts_agree_with_precision_and_recall_and_the_confusion_adds_up(sample_model):
    tagger = Tagger.load(sample_model[0])
    gold = read_corpus(SAMPLE / "test.conll")
    evaluation = tagger.evaluate(gold)
    report = error_report(gold, evaluation.predicted)
    counts = report.counts
    assert counts["correct"] / report.gold_entities == pytest.approx(evaluation.recall)
    assert counts["correct"] / report.predicted_entities == pytest.approx(evaluation.precision)
    # Every gold entity is correct, paired in an error, or missed; every predicted one likewise, or spurious.
    paired = counts["wrong type"] + counts["wrong span"] + counts["wrong type and span"]
    assert counts["correct"] + paired + counts["missed"] == report.gold_entities
    assert counts["correct"] + paired + counts["spurious"] == report.predicted_entities
    confusion = report.confusion
    assert sum(sum(row.values()) for row in confusion.values()) == counts["correct"] + paired + counts["missed"] + \
        counts["spurious"]
    assert sum(row.get(NONE, 0) for row in confusion.values()) == counts["missed"]
    assert sum(confusion.get(NONE, {}).values()) == counts["spurious"]
    errors_listed = [len(s.errors) for s in report.sentences]
    assert sum(errors_listed) == sum(counts[kind] for kind in KINDS) and errors_listed == sorted(errors_listed,
                                                                                                reverse=True)


def test_the_page_shows_counts_confusion_and_sentences_side_by_side():
    gold = [Sentence(["Angela", "Merkel", "met", "Siemens", "in", "Paris"],
                     ["B-PER", "I-PER", "O", "B-ORG", "O", "B-LOC"]),
            Sentence(["Fine", "here"], ["O", "O"])]
    predicted = [["B-PER", "I-PER", "O", "B-LOC", "O", "O"], ["O", "O"]]
    report = error_report(gold, predicted)
    assert report.counts == {"correct": 1, "wrong type": 1, "wrong span": 0, "wrong type and span": 0,
                             "missed": 1, "spurious": 0}
    page = report_html(report, "Errors", ["LOC", "ORG", "PER"])
    assert marks_of(page).external == [] and "http" not in page
    row = page.split('<table class="sentences">')[1]
    # Gold then predicted, each entity with its type; those in an error outlined.
    assert [(text, label) for text, label, _ in marks_of(row).marks] == [
        ("Angela Merkel", "PER"), ("Siemens", "ORG"), ("Paris", "LOC"), ("Angela Merkel", "PER"), ("Siemens", "LOC")]
    assert row.count('class="entity flagged"') == 3
    assert "1 wrong type<br>1 missed" in row or "1 missed<br>1 wrong type" in row
    assert "Fine" not in row  # sentences without errors are not listed


def test_tag_py_eval_writes_the_error_report(sample_model, tmp_path, capsys):
    report = tmp_path / "errors.html"
    test = str(SAMPLE / "test.conll")
    assert main(["--model", str(sample_model[0]), "--eval", test, "--json", "--errors", str(report)]) == 0
    scores = json.loads(capsys.readouterr().out)
    page = report.read_text()
    expected = error_report(read_corpus(test), Tagger.load(sample_model[0]).evaluate(test).predicted)
    assert f"{expected.counts['correct']:,} correct" in page
    assert f"{expected.gold_entities:,} gold entities" in page
    assert expected.counts["correct"] / expected.gold_entities == pytest.approx(scores["recall"])
    assert page.count('<tr><td class="number">') == min(50, len(expected.sentences))


def test_errors_goes_with_eval_and_never_overwrites_an_input(sample_model):
    def run(*args):
        return command("tag.py", "--model", str(sample_model[0]), *args)

    alone = run(str(SAMPLE / "test.conll"), "--errors", "x.html")
    assert alone.returncode == 2
    assert alone.stderr.strip() == "error: --errors reports the errors on --eval's gold corpus: it goes with --eval"
    onto_gold = run("--eval", str(SAMPLE / "test.conll"), "--errors", str(SAMPLE / "test.conll"))
    assert onto_gold.returncode == 2 and "is also an input" in onto_gold.stderr
