from dataclasses import replace

import pytest
import torch

from tagger import Entity, Tagger
from tagger.corpus import read_corpus
from tagger.storage import ModelError
from tagger.tokenizer import sentence_starts, tokenize

from .conftest import SAMPLE


def test_tokenizer_offsets():
    text = "Angela Merkel's aides don't visit the U.S. (twice), 1,000.5 km."
    tokens = tokenize(text)
    assert [t for t, _, _ in tokens] == [
        "Angela", "Merkel", "'s", "aides", "do", "n't", "visit", "the", "U.S.", "(", "twice", ")", ",",
        "1,000.5", "km", ".",
    ]
    assert all(text[start:end] == token for token, start, end in tokens)
    assert tokenize("   ") == []


@pytest.mark.parametrize("text, tokens", [
    ("George W. Bush met Mr. Smith of Ford Motor Co. in St. Paul, Minn.",
     ["George", "W.", "Bush", "met", "Mr.", "Smith", "of", "Ford", "Motor", "Co.", "in", "St.", "Paul", ",", "Minn", "."]),
    ("He works for Apple Inc.", ["He", "works", "for", "Apple", "Inc", "."]),  # the full stop is its own
    ("He was ill. Then he left.", ["He", "was", "ill", ".", "Then", "he", "left", "."]),  # not "Ill."
    ("1. Michael Johnson (U.S.) 19.32", ["1.", "Michael", "Johnson", "(", "U.S.", ")", "19.32"]),
    ("He scored 3. Then 4.", ["He", "scored", "3", ".", "Then", "4", "."]),  # a rank only where a line opens
    ("Wait -- it cost US$ 5 ... or HK$3!!", ["Wait", "--", "it", "cost", "US$", "5", "...", "or", "HK$", "3", "!!"]),
    ("a -. b", ["a", "-", ".", "b"]),
    ("Read https://www.reuters.com/world/europe, or mail press@siemens.com.",
     ["Read", "https://www.reuters.com/world/europe", ",", "or", "mail", "press@siemens.com", "."]),
    ('(see www.bbc.co.uk) "http://x.org/a?b=1".', ["(", "see", "www.bbc.co.uk", ")", '"', "http://x.org/a?b=1", '"', "."]),
])
def test_tokenizer_keeps_conll2003s_abbreviations_initials_and_runs(text, tokens):
    found = tokenize(text)
    assert [token for token, _, _ in found] == tokens
    assert all(text[start:end] == token for token, start, end in found)


@pytest.mark.parametrize("text, tokens", [
    ("नरेंद्र मोदी दिल्ली में हैं।", ["नरेंद्र", "मोदी", "दिल्ली", "में", "हैं", "।"]),  # vowel signs, viramas
    ("زار تُونِس.", ["زار", "تُونِس", "."]),  # Arabic's vowel marks
    ("می\u200cخواهم بروم", ["می\u200cخواهم", "بروم"]),  # Persian's zero-width non-joiner inside a word
    ("Cafe\u0301 Paris", ["Cafe\u0301", "Paris"]),  # a decomposed é
    ("I \u2764\ufe0f Berlin \U0001f468\u200d\U0001f469\u200d\U0001f467!",
     ["I", "\u2764\ufe0f", "Berlin", "\U0001f468\u200d\U0001f469\u200d\U0001f467", "!"]),  # emoji as seen
])
def test_tokenizer_keeps_a_words_marks_and_a_characters_joiners(text, tokens):
    found = tokenize(text)
    assert [token for token, _, _ in found] == tokens
    assert all(text[start:end] == token for token, start, end in found)


@pytest.mark.parametrize("text, sentences", [
    ("Angela Merkel visited Paris. She met Mr. Macron there!", ["Angela Merkel visited Paris .", "She met Mr. Macron there !"]),
    ('He said "Go!" Then he left. "Why?" asked J. Jones.', ['He said " Go ! "', "Then he left .", '" Why ? " asked J. Jones .']),
    ("It rose 3.5%. (Reuters) Bonds fell... Really?", ["It rose 3.5 % .", "( Reuters ) Bonds fell ... Really ?"]),
    ("He is No. 1 in the U.S. Army. ok.", ["He is No . 1 in the U.S. Army . ok ."]),  # no capital after: no break
    ("", []),
    # a blank line ends a sentence, a single line break does not (wrapped text)
    ("Talks in Geneva\n\nThe minister left\r\n \r\nfor Bonn", ["Talks in Geneva", "The minister left", "for Bonn"]),
    ("The minister\nleft. He flew.\n\n\"Why?\" he asked.", ["The minister left .", "He flew .", '" Why ? " he asked .']),
    # scripts without case: a word after the full stop begins a sentence
    ("मोदी दिल्ली में हैं। वे कल आए।", ["मोदी दिल्ली में हैं ।", "वे कल आए ।"]),
    ("أين تونس؟ في أفريقيا.", ["أين تونس ؟", "في أفريقيا ."]),
])
def test_sentence_starts(text, sentences):
    tokens = tokenize(text)
    starts = sentence_starts(tokens, text)
    words = [token for token, _, _ in tokens]
    assert [" ".join(words[a:b]) for a, b in zip(starts, [*starts[1:], len(words)])] == sentences


def test_a_blank_line_in_a_string_ends_a_sentence():
    tagger = Tagger.load("en-conll03-fast")
    first, second = ["Talks", "in", "Geneva"], ["The", "German", "minister", "left", "for", "Bonn"]
    tagged = tagger.predict(["Talks in Geneva\n\nThe German minister left for Bonn"])[0]
    apart = tagger.predict([first, second], document_starts=[True, False])
    assert tagged.sentence_starts == [0, 3] and tagged.tags == apart[0].tags + apart[1].tags


def test_a_string_of_sentences_reads_as_its_document():
    tagger = Tagger.load("en-conll03-fast")  # with document memory: its sentences read each other
    text = "Smith said nothing. Later, John Smith flew to Paris with Jones."
    first, second = ["Smith", "said", "nothing", "."], ["Later", ",", "John", "Smith", "flew", "to", "Paris", "with",
                                                         "Jones", "."]
    tagged = tagger.predict([text])[0]
    apart = tagger.predict([first, second], document_starts=[True, False])
    alone = tagger.predict([first])[0]
    assert tagged.tokens == first + second and tagged.tags == apart[0].tags + apart[1].tags
    assert tagged.sentence_starts == [0, 4] and apart[0].sentence_starts == [0]
    # the second sentence's "John Smith" tells the network who the first one's Smith is
    assert tagged.entities[0].score != pytest.approx(alone.entities[0].score, abs=0.01)
    assert [(e.text, e.label, e.start, e.score) for e in tagged.entities] == [
        (e.text, e.label, e.start + offset, e.score) for result, offset in zip(apart, (0, 4)) for e in result.entities]
    assert all(text[e.start_char:e.end_char] == e.text for e in tagged.entities)
    assert tagged.probability == pytest.approx(apart[0].probability * apart[1].probability)
    assert [(r.tags, r.probability) for r in tagger.predict([text], nbest=3)[0].readings] == [
        (tagged.tags, pytest.approx(tagged.probability))]
    # marginals read the string as tag does
    from tagger.inference import tag_distributions

    marginals = tagger.marginals(text)
    in_document = tag_distributions(tagger.model, tagger.encoder, [first, second], documents=[0, 0],
                                    temperature=tagger.temperature)
    assert marginals.tokens == first + second
    torch.testing.assert_close(marginals.probabilities, torch.cat([tags for tags, _ in in_document]))
    assert not torch.allclose(marginals.probabilities[:4], tagger.marginals(first).probabilities, atol=1e-3)
    # in a batch, beside other documents, and as a document of several inputs
    batch = tagger.predict(["Paris is nice.", text, "Jones left."], document_starts=[True, True, True])
    assert batch[1].tags == tagged.tags
    assert tagger.predict([text, "Jones left."], document_starts=[True, False])[1].tags == tagger.predict(
        [first, second, ["Jones", "left", "."]], document_starts=[True, False, False])[2].tags


@pytest.mark.parametrize("text, together", [
    ("李明在北京大学工作，他昨天去了上海参加一个重要的会议。", True),
    ("東京都に住んでいる田中さんは毎日会社に行きます。", True),
    ("สมชายเดินทางไปกรุงเทพมหานครเมื่อวานนี้", True),  # Thai
    ("北京大学", False),  # a word, or a few: too short to say
    ("李明 在 北京大学 工作 ， 他 昨天 去 了 上海 。", False),  # segmented: words separated by spaces
    ("Donaudampfschifffahrtsgesellschaftskapitän", False),  # one long word of a script written with spaces
    ("Angela Merkel visited Paris on Monday.", False),
])
def test_text_runs_words_together_where_a_script_without_spaces_has_none(text, together):
    from tagger.tokenizer import runs_words_together

    assert runs_words_together(text) is together


def test_a_model_of_words_warns_that_it_reads_text_without_spaces_as_few_long_words(sample_model):
    import warnings

    from tagger.errors import TaggerWarning

    tagger = Tagger.load(sample_model[0])
    with pytest.warns(TaggerWarning, match=r"^text written without spaces between words \(as Chinese"):
        tagged = tagger.predict(["李明在北京大学工作，他昨天去了上海参加一个重要的会议。"])[0]
    assert tagged.tokens == ["李明在北京大学工作", "，", "他昨天去了上海参加一个重要的会议", "。"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tagger.tag("Angela Merkel visited Paris.")
        tagger.tag(["李明", "在", "北京大学", "工作", "，", "他", "昨天", "去", "了", "上海", "参加", "一个", "会议", "。"])


def test_a_model_whose_words_join_their_parts_reads_text_in_the_longest_words_it_knows():
    from tagger.tokenizer import join_known_words

    from .conftest import tiny_model

    # a corpus segmented into words, as Vietnamese ones are: a third of its words join their syllables
    # (lower-cased, as a model's words are)
    vietnamese = Tagger(*tiny_model("hà_nội bệnh_nhân là người việt_nam ở đã thành_phố_hồ_chí_minh hồ_chí_minh",
                                    "HàNộibệnhâlgườiViệtmởđ_ồCíMn"), {})
    text = "Bệnh nhân ở Hà Nội.  Hà Nội là thành phố Hồ Chí Minh"
    tagged = vietnamese.predict([text])[0]
    # four parts at most (thành_phố_hồ_chí_minh has five), the longest known run of them, from the left
    assert tagged.tokens == ["Bệnh_nhân", "ở", "Hà_Nội", ".", "Hà_Nội", "là", "thành", "phố", "Hồ_Chí_Minh"]
    assert [text[start:end] for start, end in tagged.offsets][:3] == ["Bệnh nhân", "ở", "Hà Nội"]
    assert tagged.sentence_starts == [0, 4]  # the sentence after the full stop, past the joined words
    assert vietnamese.predict([["Hà", "Nội"]])[0].tokens == ["Hà", "Nội"]  # tokens are read as given
    # what joins the parts: the joiner most joined words have, where 10% of the words or more are joined
    from tagger.api import word_joiner

    assert word_joiner(["hà nội", "bệnh nhân", "việt_nam", "là"]) == " " and not vietnamese.tokens_hold_spaces
    assert word_joiner(["hà_nội", "là"]) == "_" and word_joiner([*"abcdefghijklmnopqrst", "new_york"]) == ""
    # a run never crosses a sentence start
    parts = [("Hà", 0, 2), ("Nội", 3, 6)]
    assert join_known_words(parts, [0, 1], "_", {"Hà_Nội"}.__contains__) == (parts, [0, 1])
    assert join_known_words(parts, [0], "_", {"Hà_Nội"}.__contains__) == ([("Hà_Nội", 0, 6)], [0])
    # an English model with one word in thirteen joined (a user name) reads text at spaces only
    english = Tagger(*tiny_model("tom met ann in oslo on monday and then left for home new_york",
                                 "TomeAnisOlMdyhfrNwYk_"), {})
    assert english.predict(["Tom met Ann in New York"])[0].tokens == ["Tom", "met", "Ann", "in", "New", "York"]


def test_tag_string_and_tokens(sample_model):
    output, _ = sample_model
    tagger = Tagger.load(output)
    assert tagger.path == output and tagger.model.training is False
    entities = tagger.tag("Angela Merkel visited Paris on Monday .")
    first = entities[0]
    assert first == Entity("Angela Merkel", "PER", 0, 2, 0, 13, first.score) and 0.5 < first.score <= 1.0
    assert ("Paris", "LOC") in [(e.text, e.label) for e in entities]
    text = "Officials in  Berlin expect Siemens to announce 12 new jobs."
    for entity in tagger.tag(text):
        assert text[entity.start_char : entity.end_char] == entity.text
    tokens = ["John", "Smith", "joined", "Toyota", "in", "1996", "."]
    entities = tagger.tag(tokens)
    assert [(e.text, e.label, e.start, e.end) for e in entities] == [("John Smith", "PER", 0, 2), ("Toyota", "ORG", 3, 4)]
    assert entities[1].start_char == len("John Smith joined ")
    assert tagger.tag("") == [] and tagger.tag("   ") == [] and tagger.tag([]) == []
    assert set(tagger.labels) == {"LOC", "MISC", "ORG", "PER"}


def test_tag_batch_matches_one_by_one(sample_model):
    tagger = Tagger.load(sample_model[0])
    sentences = ["Tom Baker met Olga Petrova in Oslo .", "", ["Reuters", "said", "so", "."], "Police in Lima arrested two men ."]
    batched = tagger.tag_batch(sentences, batch_size=2)
    alone = [tagger.tag(sentence) for sentence in sentences]
    assert [[e.to_dict() | {"score": None} for e in es] for es in batched] == [
        [e.to_dict() | {"score": None} for e in es] for es in alone
    ]
    # the same up to float rounding: sentences of several lengths share a padded batch
    assert [e.score for es in batched for e in es] == pytest.approx([e.score for es in alone for e in es], abs=1e-4)
    predicted = tagger.predict(sentences)
    assert all(len(p.tags) == len(p.tokens) for p in predicted)
    bioes = tagger.predict(sentences, scheme="BIOES")
    assert any(tag.startswith("E-") for p in bioes for tag in p.tags)
    with pytest.raises(TypeError):
        tagger.tag_batch("one string")
    for size in (0, -1):  # -1 once returned empty results
        with pytest.raises(ValueError, match=f"batch_size must be at least 1, got {size}"):
            tagger.tag_batch(sentences, batch_size=size)
    assert tagger.tag_document([]) == []
    assert tagger.tag_document(sentences[:1]) == tagger.tag_batch(sentences[:1])
    tagger.temperature = 0.0
    with pytest.raises(ValueError, match="temperature must be positive"):
        tagger.tag(sentences[0])


def test_pipe_tags_an_iterable_a_chunk_at_a_time_as_predict_does(sample_model):
    tagger = Tagger.load(sample_model[0])
    texts = [" ".join(sentence.tokens) for sentence in read_corpus(SAMPLE / "test.conll")[:25]]
    drawn = []

    def lines():
        for text in texts:
            drawn.append(text)
            yield text

    results = tagger.pipe(lines(), batch_size=4, chunk_size=10, scheme="BIOES", min_score=0.2)
    first = next(results)
    assert len(drawn) == 10  # only the first chunk read so far
    piped, expected = [first, *results], tagger.predict(texts, batch_size=4, scheme="BIOES", min_score=0.2)
    assert len(drawn) == 25 and [(r.tokens, r.tags) for r in piped] == [(r.tokens, r.tags) for r in expected]
    # the same up to rounding: sentences of one length share a batch with others of another chunk
    assert [e.score for r in piped for e in r.entities] == pytest.approx(
        [e.score for r in expected for e in r.entities], abs=1e-4)
    assert list(tagger.pipe(iter([]))) == []
    readings = [r.readings for r in tagger.pipe(texts[:3], nbest=2)]
    assert [[x.tags for x in r] for r in readings] == [[x.tags for x in r.readings] for r in tagger.predict(texts[:3], nbest=2)]
    with pytest.raises(ValueError, match="chunk_size must be at least 1"):
        next(tagger.pipe(texts, chunk_size=0))
    with pytest.raises(TypeError, match="use tag"):  # not each of its characters as a sentence
        next(tagger.pipe("Angela Merkel visited Paris."))


def test_load_errors(tmp_path, sample_model):
    with pytest.raises(ModelError, match="no such model directory \\(models shipped with tagger"):
        Tagger.load(tmp_path / "none")
    with pytest.raises(ModelError, match="config.json: missing"):
        Tagger.load(tmp_path)


def test_quantized_tagger_agrees_with_the_float_one(sample_model):
    from tagger.corpus import read_corpus

    from .conftest import SAMPLE

    sentences = [s.tokens for s in read_corpus(SAMPLE / "test.conll")]
    plain = Tagger.load(sample_model[0])
    quantized = Tagger.load(sample_model[0], quantize=True)
    assert type(quantized.model.lstm).__module__.startswith("torch.ao.nn.quantized")
    same = sum(a.tags == b.tags for a, b in zip(plain.predict(sentences), quantized.predict(sentences)))
    assert same >= 0.95 * len(sentences)


def test_a_sentence_must_be_text_or_token_strings(sample_model):
    tagger = Tagger.load(sample_model[0])
    for bad in (["Paris", 3], None, 3):
        with pytest.raises(TypeError, match="list of token strings"):
            tagger.tag(bad)
    tagged = tagger.predict([["New", "York", "", "x"]])[0]
    assert tagged.text == "New York  x" and tagged.offsets == [(0, 3), (4, 8), (9, 9), (10, 11)]


def test_calls_pause_the_garbage_collector_and_restore_it(sample_model):
    import gc

    from tagger.api import collector_paused

    tagger = Tagger.load(sample_model[0])
    seen = []
    tagger.model.projection.register_forward_pre_hook(lambda module, inputs: seen.append(gc.isenabled()))
    assert gc.isenabled()
    tagger.tag_batch([["EU", "rejects", "it"], ["Peter"]])
    tagger.tag("Paris")
    tagger.marginals("Paris")
    assert len(seen) >= 3 and not any(seen)
    assert gc.isenabled()
    with pytest.raises(TypeError):
        tagger.tag_batch([["EU"], [1]])  # an error inside a call restores it too
    assert gc.isenabled()
    with collector_paused():  # overlapping uses: the last one out restores it
        with collector_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        tagger.tag("Paris")
        assert not gc.isenabled()  # a caller's own setting stays
    finally:
        gc.enable()


def test_a_tagger_called_from_several_threads_at_once_tags_as_alone(sample_model):
    """A web server's threads share one Tagger, and with it the cache of words' character features."""
    import threading

    from tagger.corpus import read_corpus

    sentences = [s.tokens for name in ("train", "dev", "test") for s in read_corpus(SAMPLE / f"{name}.conll")]
    expected = [r.tags for r in Tagger.load(sample_model[0]).predict(sentences, scores=False)]
    for _ in range(3):  # interleavings vary: without the cache's lock, about half the rounds went wrong
        tagger = Tagger.load(sample_model[0])  # its cache empty: the threads fill it at once
        tagged = {}

        def tag_every_fourth(first):
            for i in range(first, len(sentences), 4):
                tagged[i] = tagger.predict([sentences[i]], scores=False)[0].tags

        threads = [threading.Thread(target=tag_every_fourth, args=(k,)) for k in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [tagged[i] for i in range(len(sentences))] == expected


def test_evaluate_scores_gold_sentences_as_tag_py_does(sample_model):
    from tagger.corpus import document_starts, read_corpus
    from tagger.inference import entity_scores
    from tagger.schemes import entity_types, tags_to_spans

    tagger = Tagger.load(sample_model[0])
    gold = read_corpus(SAMPLE / "test.conll")
    result = tagger.evaluate(gold)
    predicted = [t.tags for t in tagger.predict([s.tokens for s in gold], document_starts=document_starts(gold))]
    totals = entity_scores([s.labels for s in gold], predicted)
    assert (result.precision, result.recall, result.f1) == (totals["precision"], totals["recall"], totals["f1"])
    assert result.sentences == 100 and result.tokens == sum(map(len, gold)) and result.seconds > 0
    assert "micro avg" in result.report() and result.predicted == predicted
    # a row for each type of the gold tags or the predictions; its support is its gold entities
    assert set(result.types) == set(entity_types(tag for tags in [*predicted, *(s.labels for s in gold)] for tag in tags))
    gold_spans = [span for s in gold for span in tags_to_spans(s.labels)]
    assert {t: row["support"] for t, row in result.types.items()} == {
        t: sum(label == t for label, _, _ in gold_spans) for t in result.types}
    from_file = tagger.evaluate(SAMPLE / "test.conll")
    assert (from_file.f1, from_file.types, from_file.report()) == (result.f1, result.types, result.report())
    from tagger.corpus import to_dataset

    from_dataset = tagger.evaluate(to_dataset(gold))  # a Hugging Face dataset: its ClassLabel ids read as tags
    assert (from_dataset.f1, from_dataset.types, from_dataset.sentences) == (result.f1, result.types, 100)
    with pytest.raises(ValueError, match="gold sentences need their tags"):
        tagger.evaluate([replace(s, labels=None) for s in gold])


def test_predict_drops_entities_scored_below_min_score(sample_model):
    from tagger.schemes import tags_to_spans

    tagger = Tagger.load(sample_model[0])
    sentences = ["Angela Merkel visited Paris on Monday .".split(), "Tom Baker met Olga Petrova in Oslo .".split()]
    everything = tagger.predict(sentences)
    scores = sorted(e.score for t in everything for e in t.entities)
    threshold = (scores[0] + scores[-1]) / 2
    assert scores[0] < threshold < scores[-1]
    kept = tagger.predict(sentences, scheme="BIOES", scores=False, min_score=threshold)
    for full, some in zip(everything, kept):
        assert some.entities == [e for e in full.entities if e.score >= threshold]
        assert [(e.label, e.start, e.end) for e in some.entities] == tags_to_spans(some.tags)
    with pytest.raises(ValueError, match="min_score is a probability"):
        tagger.predict(sentences, min_score=1.5)
