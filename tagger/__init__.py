"""tagger: a BiLSTM-CRF named-entity tagger.

    >>> from tagger import Tagger
    >>> Tagger.load("MODEL_DIR").tag("Angela Merkel visited Paris on Monday.")
"""

from .version import __version__

__all__ = ["Entity", "Evaluation", "TaggedSentence", "Tagger", "__version__"]


def __getattr__(name: str):
    # Importing the package stays cheap (no torch) until the API is used.
    if name in ("Entity", "Evaluation", "TaggedSentence", "Tagger"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'tagger' has no attribute {name!r}")
