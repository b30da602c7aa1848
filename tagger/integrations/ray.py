"""Tagging a large collection with Ray Data: ``ds.map_batches(TagBatches, ...)``.

    import ray
    from tagger.integrations.ray import TagBatches

    ds = ray.data.read_parquet("news/")                        # a ``text`` column (or ``tokens``)
    tagged = ds.map_batches(TagBatches, fn_constructor_kwargs={"model": "en-conll03"},
                            concurrency=4, batch_format="pandas")

Ray makes one ``TagBatches`` per worker (an actor), which loads the model once,
and hands it batches of rows; each batch comes back with an ``entities`` column
(a list of ``{text, label, start_char, end_char, score}`` a row) and a ``tags``
column, as ``Tagger.tag_batch`` and ``Tagger.predict`` give them. Ray itself is
the ``ray`` extra (``pip install 'tagger[ray]'``); this module does not import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ENTITY_FIELDS = ("text", "label", "start_char", "end_char", "score")


class TagBatches:
    """A callable class for ``Dataset.map_batches``: tags the ``column`` of each batch of rows.

    ``column``: the input column, strings (``text``, the default when the batch has one) or token lists
    (``tokens``). ``threads``: torch threads of each worker (Ray gives an actor one CPU unless told
    otherwise, so 1 by default). ``scheme``: the tags' scheme (default: the model's training corpus's).
    Batches may be pandas DataFrames or dicts of NumPy arrays (``batch_format="numpy"``).
    """

    def __init__(self, model: str | None = None, column: str | None = None, threads: int | None = 1,
                 batch_size: int = 256, scheme: str | None = None, min_score: float = 0.0):
        import torch

        from ..api import Tagger

        if threads:
            torch.set_num_threads(threads)
        self.tagger = Tagger.load(model)
        self.column, self.batch_size, self.min_score = column, batch_size, min_score
        self.scheme = scheme or self.tagger.corpus_scheme

    def __call__(self, batch: Any) -> Any:
        column = self.column or ("text" if "text" in batch else "tokens")
        if column not in batch:
            raise KeyError(f"the batch has no column {column!r} (it has {', '.join(map(str, batch.keys()))}); "
                           "TagBatches(column=...) names another")
        inputs = [value if isinstance(value, str) else [str(token) for token in value] for value in batch[column]]
        results = self.tagger.predict(inputs, self.batch_size, scheme=self.scheme, min_score=self.min_score)
        entities = [[{name: getattr(entity, name) for name in ENTITY_FIELDS} for entity in result.entities]
                    for result in results]
        tags = [result.tags for result in results]
        if isinstance(batch, Mapping):  # NumPy batches: a dict of arrays, one an object array of lists
            import numpy as np

            batch = dict(batch)
            batch["entities"], batch["tags"] = _objects(np, entities), _objects(np, tags)
            return batch
        batch = batch.copy()
        batch["entities"], batch["tags"] = entities, tags
        return batch


def _objects(np, values: list) -> Any:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array
