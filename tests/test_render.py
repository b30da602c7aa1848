"""HTML of tagged text: ``tagger.render``, ``Tagger.render``, results in notebooks and ``tag.py --format html``."""

import html
import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser

from tagger import render
from tagger.api import Entity, Tagger
from tagger.cli import main


class Marks(HTMLParser):
    """The highlighted entities of a page: (text, label, title) of each ``<mark>`` with a title, and the tags
    that would load something from elsewhere."""

    def __init__(self):
        super().__init__()
        self.marks, self.external = [], []
        self._title = self._in_label = None
        self._text = self._label = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "link", "img", "iframe") or "src" in attrs or "href" in attrs:
            self.external.append(tag)
        if tag == "mark" and "title" in attrs:
            self._title, self._text, self._label = attrs["title"], "", ""
        elif tag == "span" and self._title is not None:
            self._in_label = True

    def handle_endtag(self, tag):
        if tag == "mark" and self._title is not None:
            self.marks.append((self._text, self._label, self._title))
            self._title = self._in_label = None

    def handle_data(self, data):
        if self._in_label:
            self._label += data
        elif self._title is not None:
            self._text += data


def marks_of(markup: str) -> Marks:
    parser = Marks()
    parser.feed(markup)
    return parser


@dataclass
class Tagged:
    text: str
    entities: list


def test_entities_are_marked_at_their_offsets_and_the_text_escaped():
    text = "<b>Angela</b> & Merkel\nvisited Paris"
    entities = [Entity("Merkel", "PER", 3, 4, 16, 22, 0.875), Entity("Paris", "LOC", 5, 6, 31, 36, None)]
    markup = render.sentence_markup(Tagged(text, entities))
    assert marks_of(markup).marks == [("Merkel", "PER", "PER, probability 0.88"), ("Paris", "LOC", "LOC")]
    assert "&lt;b&gt;Angela&lt;/b&gt; &amp; " in markup and "<b>" not in markup
    assert "<br>visited" in markup  # a line break of the text shows as one
    # Taking the tags away gives back the text exactly.
    plain = re.sub(r'<span class="label">[^<]*</span>', "", markup)
    assert html.unescape(re.sub(r"<[^>]+>", "", plain.replace("<br>", "\n"))) == text


def test_types_have_fixed_colours_and_unknown_types_one_of_their_own():
    assert render.type_colour("PER") == "#aa9cfc" and render.type_colour("ORG") == "#7aecec"
    colour = render.type_colour("PER.NAM")
    assert re.fullmatch(r"#[0-9a-f]{6}", colour) and colour == render.type_colour("PER.NAM")
    assert render.type_colour("PER.NOM") != colour


def test_a_page_is_self_contained(sample_model):
    tagger = Tagger.load(sample_model[0])
    page = render.page("Entities", render.fragment(tagger.predict(["Angela Merkel visited Paris ."])),
                       tagger.labels)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert marks_of(page).external == []
    assert "url(" not in page and "@import" not in page and "http" not in page
    legend = re.search(r'<div class="legend">(.*?)</div>', page).group(1)
    assert re.findall(r">([A-Z]+)</mark>", legend) == tagger.labels


def test_tagger_render_tags_what_it_is_given_and_shows_results_as_they_are(sample_model):
    tagger = Tagger.load(sample_model[0])
    text = "Angela Merkel visited Paris on Monday ."
    result = tagger.predict([text])[0]
    expected = [(e.text, e.label, f"{e.label}, probability {e.score:.2f}") for e in result.entities]
    assert expected  # the sample model finds these
    assert marks_of(tagger.render(text)).marks == expected
    assert marks_of(tagger.render(result)).marks == expected
    assert marks_of(result._repr_html_()).marks == expected  # what a notebook shows
    both = marks_of(tagger.render([text, text.split(), result])).marks
    assert both == expected * 3
    # The legend names the model's types, so pages of different texts read alike.
    assert all(f">{label}</mark>" in tagger.render("nothing here") for label in tagger.labels)


def test_tag_py_format_html_marks_the_entities_jsonl_gives(sample_model, tmp_path, capsys):
    text = tmp_path / "news.txt"
    text.write_text("Angela Merkel visited Paris on Monday .\n\nReuters said so in London .\n")
    page = tmp_path / "news.html"
    assert main(["--model", str(sample_model[0]), str(text), "--format", "html", "--output", str(page)]) == 0
    assert main(["--model", str(sample_model[0]), str(text), "--format", "jsonl"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expected = [(e["text"], e["label"], f"{e['label']}, probability {e['score']:.2f}")
                for record in records for e in record["entities"]]
    written = page.read_text()
    assert expected and marks_of(written).marks == expected
    assert marks_of(written).external == []
    assert written.count(render.DOCUMENT_BREAK) == 1  # the blank line between the two documents
    assert "<title>Entities in " in written


def test_tag_py_format_html_of_a_conll_file_with_documents(sample_model, tmp_path):
    conll = tmp_path / "docs.conll"
    conll.write_text("-DOCSTART- O\n\nAngela B-PER\nMerkel I-PER\n\n-DOCSTART- O\n\nParis B-LOC\n")
    page = tmp_path / "out.html"
    main(["--model", str(sample_model[0]), str(conll), "--format", "html", "--output", str(page)])
    written = page.read_text()
    assert written.count(render.DOCUMENT_BREAK) == 2
    assert written.count('<div class="sentence">') == 2 and "Angela Merkel" in written


def test_html_of_a_character_model_keeps_the_text_unspaced():
    tagged = Tagged("李明在北京工作", [Entity("李明", "PER", 0, 2, 0, 2), Entity("北京", "LOC", 3, 5, 3, 5)])
    markup = render.sentence_markup(tagged)
    assert marks_of(markup).marks == [("李明", "PER", "PER"), ("北京", "LOC", "LOC")]
    assert '</mark>在<mark' in markup and markup.endswith("工作</div>")
