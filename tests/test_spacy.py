"""The spaCy pipeline component (tagger.integrations.spacy): doc.ents from a tagger model, in a pipeline and saved."""

import sys
from importlib.metadata import entry_points

import spacy
from spacy.tokens import Doc, Span

from tagger import Tagger
from tagger.corpus import read_corpus
from tagger.integrations.spacy import FACTORY, EntityTagger

from .conftest import SAMPLE, command

TEST = read_corpus(SAMPLE / "test.conll")


def documents(vocab, sentences, size=5):
    """Docs of ``size`` sentences each, with their sentence boundaries, and a whitespace token after each sentence."""
    docs = []
    for k in range(0, len(sentences), size):
        group = sentences[k:k + size]
        words = [word for sentence in group for word in [*sentence.tokens, "\n"]]
        starts = [i == 0 for sentence in group for i in range(len(sentence.tokens) + 1)]
        docs.append(Doc(vocab, words=words, sent_starts=starts))
    return docs


def test_the_component_sets_the_entities_the_tagger_finds_in_each_docs_sentences(sample_model, tmp_path,
                                                                                    monkeypatch):
    assert {point.name: point.value for point in entry_points(group="spacy_factories")}[FACTORY] == (
        "tagger.integrations.spacy:make_entity_tagger")  # installed: spaCy finds the factory without an import
    tagger = Tagger.load(sample_model[0])
    nlp = spacy.blank("en")
    component = nlp.add_pipe(FACTORY, config={"model": str(sample_model[0])})
    docs = list(nlp.pipe(documents(nlp.vocab, TEST), batch_size=3))
    # the tagger's entities of the same sentences, each Doc a document; token i of a sentence is Doc token i + 1
    # per sentence before it (the whitespace tokens left out)
    expected, found = [], []
    for k, doc in enumerate(docs):
        group = TEST[5 * k:5 * k + 5]
        results = tagger.predict([s.tokens for s in group], document_starts=[i == 0 for i in range(len(group))])
        offset = 0
        for sentence, result in zip(group, results):
            expected += [(k, offset + e.start, offset + e.end, e.label, round(e.score, 6)) for e in result.entities]
            offset += len(sentence.tokens) + 1
        scores = doc.spans[FACTORY].attrs["scores"]
        found += [(k, ent.start, ent.end, ent.label_, round(score, 6)) for ent, score in zip(doc.ents, scores)]
        assert list(doc.spans[FACTORY]) == list(doc.ents)
    assert found == expected and len(found) > 50
    assert all("\n" not in ent.text for doc in docs for ent in doc.ents)
    # one Doc at a time as in batches; a Doc without sentence boundaries is one sentence
    assert [ent.text for ent in nlp(" ".join(TEST[0].tokens)).ents] == [
        e.text for e in tagger.tag(TEST[0].tokens)]
    assert [ent.text for ent in component(documents(nlp.vocab, TEST)[1]).ents] == [ent.text for ent in docs[1].ents]
    assert [ent.text for ent in EntityTagger(tagger)(documents(nlp.vocab, TEST)[1]).ents] == [
        ent.text for ent in docs[1].ents]  # made from a loaded Tagger
    # each Doc begins a document, the one whose first sentence is whitespace alone too
    spaced = [Doc(nlp.vocab, words=["\n", *[t.text for t in doc]],
                  sent_starts=[True, True, *[t.is_sent_start for t in doc][1:]]) for doc in documents(nlp.vocab, TEST)]
    read_as = []
    predict = tagger.predict
    monkeypatch.setattr(tagger, "predict", lambda inputs, *args, document_starts, **options: read_as.append(
        document_starts) or predict(inputs, *args, document_starts=document_starts, **options))
    assert [[(ent.start - 1, ent.label_) for ent in doc.ents] for doc in EntityTagger(tagger).pipe(spaced)] == [
        [(ent.start, ent.label_) for ent in doc.ents] for doc in docs]
    assert [k for k, starts in enumerate(read_as[0]) if starts] == list(range(0, len(TEST), 5))
    # saved with the pipeline, the model loads from the pipeline's folder
    nlp.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / FACTORY / "model.safetensors").is_file()
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.get_pipe(FACTORY).model == str(tmp_path / "pipeline" / FACTORY)
    assert [(ent.start, ent.label_) for ent in loaded(documents(loaded.vocab, TEST)[0]).ents] == [
        (ent.start, ent.label_) for ent in docs[0].ents]
    # entities under min_score are left out; those of another component are replaced
    strict = spacy.blank("en")
    strict.add_pipe(FACTORY, config={"model": str(sample_model[0]), "min_score": 0.99})
    doc = documents(strict.vocab, TEST)[0]
    doc.ents = [doc.char_span(0, len(doc[0].text), "OTHER")]
    kept = [(ent.start, ent.label_) for ent, score in zip(docs[0].ents, docs[0].spans[FACTORY].attrs["scores"])
            if score >= 0.99]
    assert [(ent.start, ent.label_) for ent in strict(doc).ents] == kept and 0 < len(kept) < len(docs[0].ents)
    # or kept, with the model's entities that overlap none of them added (as spaCy's entity ruler does)
    keeping = spacy.blank("en")
    keeping.add_pipe(FACTORY, config={"model": str(sample_model[0]), "overwrite_ents": False})
    doc = documents(keeping.vocab, TEST)[0]
    first = docs[0].ents[0]
    doc.ents = [Span(doc, first.start, first.end, "OTHER")]
    assert [(ent.start, ent.label_) for ent in keeping(doc).ents] == [(first.start, "OTHER")] + [
        (ent.start, ent.label_) for ent in docs[0].ents[1:]]
    assert list(doc.spans[FACTORY]) == list(doc.ents[1:])  # the model's entities that were set


def test_tag_py_writes_spacy_docs_that_read_back_as_the_tags_it_writes(sample_model, tmp_path, monkeypatch):
    from tagger.sources import read_labelled

    model = str(sample_model[0])
    done = command("tag.py", "--model", model, str(SAMPLE / "test.conll"), "--format", "spacy",
                   "--output", str(tmp_path / "tagged.spacy"))
    assert done.returncode == 0, done.stderr
    conll = command("tag.py", "--model", model, str(SAMPLE / "test.conll"), "--scheme", "IOB2",
                    "--output", str(tmp_path / "tagged.conll"))  # the predicted tags in a last column
    assert conll.returncode == 0, conll.stderr
    predicted = [s.labels for s in read_corpus(tmp_path / "tagged.conll")]
    read = read_labelled(tmp_path / "tagged.spacy")
    assert [s.tokens for s in read] == [s.tokens for s in TEST] and [s.labels for s in read] == predicted
    assert [bool(s.document_start) for s in read][1:] == [bool(s.document_start) for s in TEST][1:]  # a Doc each
    # text: its sentences and spaces, a Doc for each block of lines
    (tmp_path / "text.txt").write_text("Angela Merkel visited Paris. She met Wei Zhang.\nThen Seoul.\n\nBank of Canada "
                                       "rose.\n", encoding="utf-8")
    assert command("tag.py", "--model", model, str(tmp_path / "text.txt"), "--format", "spacy",
                   "--output", str(tmp_path / "text.spacy")).returncode == 0
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    docs = list(DocBin().from_disk(tmp_path / "text.spacy").get_docs(Vocab()))
    assert [doc.text for doc in docs] == ["Angela Merkel visited Paris. She met Wei Zhang. Then Seoul.",
                                          "Bank of Canada rose."]
    assert [sentence.text for sentence in docs[0].sents] == ["Angela Merkel visited Paris.", "She met Wei Zhang.",
                                                             "Then Seoul."]
    tagger = Tagger.load(model)
    assert [(ent.text, ent.label_) for doc in docs for ent in doc.ents] == [
        (entity.text, entity.label) for text in ("Angela Merkel visited Paris. She met Wei Zhang.\nThen Seoul.",
                                                 "Bank of Canada rose.")
        for entity in tagger.predict([text], document_starts=[True])[0].entities]
    assert len(docs[0].spans[FACTORY].attrs["scores"]) == len(docs[0].ents) > 0
    done = command("tag.py", "--model", model, str(tmp_path / "text.txt"), "--format", "spacy")
    assert done.returncode == 2 and done.stderr.endswith("error: --format spacy writes one binary .spacy file: "
                                                         "--output names it\n")
    monkeypatch.setitem(sys.modules, "tagger.integrations.spacy", None)  # as without spaCy installed
    done = command("tag.py", "--model", model, str(tmp_path / "text.txt"), "--format", "spacy",
                   "--output", str(tmp_path / "none.spacy"))
    assert done.returncode == 2 and done.stderr.endswith("error: --format spacy needs spaCy: pip install spacy\n")


def test_tag_py_tags_the_docs_of_a_spacy_file_as_the_component_does_and_keeps_the_rest(sample_model, tmp_path):
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    model = str(sample_model[0])
    vocab = Vocab()
    docs = documents(vocab, TEST[:20])
    for doc in docs:  # what the Docs hold already: part-of-speech tags, a span group, entities to be replaced
        for token in doc:
            token.tag_ = "NNP" if token.text.istitle() else "XX"
        doc.spans["chunks"] = [doc[0:2]]
        doc.ents = [Span(doc, 0, 1, "OLD")]
    DocBin(docs=docs).to_disk(tmp_path / "in.spacy")
    done = command("tag.py", "--model", model, str(tmp_path / "in.spacy"), "--format", "spacy",
                   "--output", str(tmp_path / "out.spacy"))
    assert done.returncode == 0, done.stderr
    tagged = list(DocBin().from_disk(tmp_path / "out.spacy").get_docs(Vocab()))
    expected = list(EntityTagger(Tagger.load(model)).pipe(list(DocBin().from_disk(tmp_path / "in.spacy")
                                                                .get_docs(Vocab()))))
    assert len(tagged) == len(docs) == 4
    assert [[(e.start, e.end, e.label_) for e in doc.ents] for doc in tagged] == [
        [(e.start, e.end, e.label_) for e in doc.ents] for doc in expected]
    assert sum(len(doc.ents) for doc in tagged) > 10 and not any(e.label_ == "OLD" for doc in tagged for e in doc.ents)
    for before, after in zip(docs, tagged):  # the Doc's own tokens, sentences, tags and spans, kept
        assert [(t.text, t.tag_) for t in after] == [(t.text, t.tag_) for t in before]
        assert [s.text for s in after.sents] == [s.text for s in before.sents]
        assert [(s.start, s.end) for s in after.spans["chunks"]] == [(0, 2)]
        assert len(after.spans[FACTORY].attrs["scores"]) == len(after.ents)
    # with text in one output; into a folder, named as the input
    (tmp_path / "more.txt").write_text("Angela Merkel visited Paris.\n", encoding="utf-8")
    done = command("tag.py", "--model", model, str(tmp_path / "in.spacy"), str(tmp_path / "more.txt"), "--format",
                   "spacy", "--output", str(tmp_path / "both.spacy"))
    assert done.returncode == 0, done.stderr
    assert len(list(DocBin().from_disk(tmp_path / "both.spacy").get_docs(Vocab()))) == 5
    done = command("tag.py", "--model", model, str(tmp_path / "in.spacy"), "--format", "spacy",
                   "--output", str(tmp_path / "folder") + "/")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "folder" / "in.spacy").read_bytes() == (tmp_path / "out.spacy").read_bytes()
    # Docs go into Docs; a file that is not a DocBin is named
    done = command("tag.py", "--model", model, str(tmp_path / "in.spacy"))
    assert (done.returncode, done.stderr) == (2, f"error: {tmp_path / 'in.spacy'}: a .spacy file holds spaCy Docs, "
                                                 "which tag.py tags into Docs: --format spacy --output FILE.spacy (or "
                                                 "scores, --eval)\n")
    (tmp_path / "bad.spacy").write_text("not a DocBin")
    done = command("tag.py", "--model", model, str(tmp_path / "bad.spacy"), "--format", "spacy",
                   "--output", str(tmp_path / "none.spacy"))
    assert done.returncode == 2 and done.stderr.startswith(f"error: {tmp_path / 'bad.spacy'}: is not a spaCy DocBin")
    assert not (tmp_path / "none.spacy").exists()
