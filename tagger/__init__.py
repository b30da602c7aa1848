"""tagger: a BiLSTM-CRF named-entity tagger.

    >>> from tagger import Tagger
    >>> Tagger.load().tag("Angela Merkel visited Paris on Monday.")
    [Entity(text='Angela Merkel', label='PER', ...), Entity(text='Paris', label='LOC', ...)]

What it offers:

- ``Tagger``: a trained model, loaded by ``Tagger.load(MODEL_DIR_OR_NAME)``; ``tag``,
  ``tag_batch``, ``pipe``, ``predict``, ``evaluate``, ``marginals``, ``render`` (HTML).
- ``Entity``: an entity found (text, label, token span, character span, score);
  ``TaggedSentence`` and ``Evaluation``: what ``predict`` and ``evaluate`` return.

Modules: ``tagger.corpus`` (CoNLL files, documents), ``tagger.sources`` (any corpus:
CoNLL, tables and datasets through 🤗 datasets, folders of files, brat projects), ``tagger.schemes`` (tag schemes),
``tagger.training`` (training runs from Python), ``tagger.tokenizer`` (plain text into
tokens and sentences), ``tagger.model`` (the network), ``tagger.storage`` (the model
directory), ``tagger.render`` (entities highlighted in HTML), ``tagger.report`` (the kinds
of error on gold sentences), ``tagger.card`` (a run's model card and curves). The commands are ``train.py`` / ``tagger-train`` and ``tag.py`` / ``tagger-tag``.
"""

from .version import __version__

__all__ = ["Entity", "Evaluation", "TaggedSentence", "Tagger", "__version__"]


def __getattr__(name: str):
    # Importing the package stays cheap (no torch) until the API is used.
    if name in ("Entity", "Evaluation", "TaggedSentence", "Tagger"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'tagger' has no attribute {name!r}")
