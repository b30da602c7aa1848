"""Tagging with Ray Data: ``TagBatches`` in ``map_batches`` on a local Ray of 2 CPUs, on loopback only."""

import pytest
import ray

from tagger.api import Tagger
from tagger.corpus import read_corpus
from tagger.integrations.ray import TagBatches

from .conftest import CONLL2003

MODEL = "en-conll03-fast"


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, _node_ip_address="127.0.0.1", include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def sentences() -> list[list[str]]:
    return [sentence.tokens for sentence in read_corpus(CONLL2003 / "eng.testb")][:2000]


def test_map_batches_tags_texts_as_tag_batch_does(local_ray):
    texts = [" ".join(tokens) for tokens in sentences()]
    rows = ray.data.from_items([{"id": i, "text": text} for i, text in enumerate(texts)])
    tagged = rows.map_batches(TagBatches, fn_constructor_kwargs={"model": MODEL}, concurrency=2,
                              batch_format="pandas", batch_size=500).take_all()
    tagger = Tagger.load(MODEL)
    expected = tagger.predict(texts, scheme=tagger.corpus_scheme)
    by_id = sorted(tagged, key=lambda row: row["id"])
    assert len(by_id) == len(texts)
    assert [list(row["tags"]) for row in by_id] == [result.tags for result in expected]
    assert [[(e["text"], e["label"], e["start_char"], e["end_char"]) for e in row["entities"]] for row in by_id] == [
        [(e.text, e.label, e.start_char, e.end_char) for e in result.entities] for result in expected]
    assert [e["score"] for row in by_id for e in row["entities"]] == pytest.approx(
        [e.score for result in expected for e in result.entities], abs=1e-4)


def test_token_lists_and_numpy_batches(local_ray):
    tokens = sentences()[:300]
    rows = ray.data.from_items([{"words": words} for words in tokens])
    tagged = rows.map_batches(TagBatches, fn_constructor_kwargs={"model": MODEL, "column": "words",
                                                                 "scheme": "BIOES"},
                              concurrency=1, batch_format="numpy").take_all()
    expected = Tagger.load(MODEL).predict(tokens, scheme="BIOES")
    assert sorted(list(row["tags"]) for row in tagged) == sorted(result.tags for result in expected)


def test_a_missing_column_is_named():
    tagger = TagBatches.__new__(TagBatches)  # no model needed to check the column
    tagger.column = None
    with pytest.raises(KeyError, match="the batch has no column 'tokens' \\(it has title\\)"):
        tagger({"title": []})
