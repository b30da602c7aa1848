"""The defaults that depend on the training corpus: its size, its documents, its tokens, and its vectors.

``train.py`` applies each rule to the options it was not given, and says so; from Python,
``corpus_defaults`` gives what it would choose for a corpus, to train with or to change.
The measurements behind each rule are in docs/results.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..corpus import WORDS, Sentence, document_starts, tokenization_of
from ..embeddings import VECTOR_PACKAGES
from ..model import ModelConfig
from ..sources import TableCorpus, token_count
from .config import TrainingConfig

# Without pretrained vectors every word's vector is learnt from the corpus: training on every word
# (not only those seen twice) and reading a tenth of the words as unknown in training gained 2.5
# dev F1 on CoNLL-2002 Dutch and 1.0 on Weibo NER, and nothing with GloVe (docs/results.md).
WITHOUT_VECTORS = {"min_count": 1, "word_dropout": 0.1}
CHARACTER_BIGRAM_DIM = 50
LANGUAGE_MODEL_WORDS = 2000
WORD_CHAR_KERNEL = 5


# The networks of an ensemble trained by default, by the training corpus's tokens; one outside these sizes.
# A corpus of 10,000 to 100,000 tokens trains five: its networks take minutes each, and one network's F1
# swings by points from seed to seed; five networks' mean scores gained 2-3 test F1 on Weibo NER (73,778
# tokens) over the same networks alone. One of 100,000 to 250,000 trains two, side by side on 2 cores in
# 19-27 minutes on CoNLL-2002 Dutch and CoNLL-2003 (one network: 19-20); two gained 0.6 test F1 on Dutch and
# 0.3 on CoNLL-2003 (docs/results.md). A larger corpus's network alone takes that long or longer, and a smaller
# one (a few hundred sentences) is a sample to try the toolkit on, whose run is kept to one network.
ENSEMBLE_SIZES = ((range(10_000, 100_000), 5), (range(100_000, 250_000), 2))


# The most training tokens a run reads by default: 36 epochs of CoNLL-2003 (203,621 tokens) or of CoNLL-2002
# Dutch (202,644), so that their two networks, side by side at one thread each, train in under 30 minutes on
# 2 cores (26-27; 40 epochs took 30.6, for 0.03 more dev F1 a network, and ned.testb 83.53 against 83.35 for
# the pairs). A larger corpus trains fewer epochs, each of more steps, so that its run no longer grows with
# the corpus (docs/results.md#corpus-size).
TOKENS_READ = 7_200_000


def epochs_for(tokens: int, most: int = TrainingConfig.epochs) -> int:
    """The default epochs for a training corpus of ``tokens`` tokens: ``most``, or as many as read ``TOKENS_READ``."""
    return max(1, min(most, math.ceil(TOKENS_READ / max(tokens, 1))))


def ensemble_size_for(tokens: int) -> tuple[int, range | None]:
    """The default networks for a training corpus of ``tokens`` tokens, and the range of ``ENSEMBLE_SIZES`` that
    chose them (None: one network, the size outside them all)."""
    for sizes, members in ENSEMBLE_SIZES:
        if tokens in sizes:
            return members, sizes
    return TrainingConfig.members, None


def defaults_by_vectors(embeddings: str | None) -> dict:
    """The defaults of ``min_count`` and ``word_dropout``, and with vectors of ``max_vectors`` (0: all), by whether
    the run has pretrained vectors (``embeddings``: as ``load_embeddings`` takes them; None: none), and whose."""
    if embeddings:
        # A package's words cost nothing to keep: they are never trained, and a model reads them from the
        # package instead of saving them (all 400,000 GloVe words gained on CoNLL-2003 and WNUT-17:
        # docs/results.md). A text file's would be saved with every model.
        max_vectors = 0 if embeddings in VECTOR_PACKAGES else TrainingConfig.max_vectors
        return {"min_count": TrainingConfig.min_count, "word_dropout": ModelConfig.word_dropout,
                "max_vectors": max_vectors}
    return dict(WITHOUT_VECTORS)


def defaults_by_tokens(tokenization: str) -> dict:
    """The defaults of ``bigram_dim``, ``char_kernel`` and ``language_model_words``, by whether the corpus's tokens
    are words or characters (``corpus.tokenization_of``)."""
    characters = tokenization != WORDS
    return {
        # Where tokens are characters, a pair of them is often a word or a word's edge (docs/results.md).
        "bigram_dim": CHARACTER_BIGRAM_DIM if characters else 0,
        # A window of five characters reads a suffix whole (Dutch -heid, English -tion): +0.5 dev F1 on Dutch over
        # three seeds, the same on WNUT-17 (docs/results.md). A character token fills its window alone.
        "char_kernel": ModelConfig.char_kernel if characters else WORD_CHAR_KERNEL,
        # Predicting the next and previous word teaches the LSTM from every token of the corpus, not only from
        # the few in entities: it gained on Dutch without vectors and on WNUT-17 and CoNLL-2003 with GloVe
        # (docs/results.md); where tokens are characters it gained on Weibo NER's dev split and lost 2 points on
        # its test.
        "language_model_words": 0 if characters else LANGUAGE_MODEL_WORDS,
    }


def documents_of(sentences: Sequence[Sentence]) -> int:
    """The training corpus's documents (a table's rows are one)."""
    return 1 if isinstance(sentences, TableCorpus) else sum(document_starts(sentences))


def corpus_defaults(sentences: Sequence[Sentence], embeddings: str | None = None) -> tuple[TrainingConfig, dict]:
    """What ``train.py`` trains a corpus with when given no options: a ``TrainingConfig`` and the network's sizes
    (``ModelConfig`` fields), for ``train(sentences, dev, output, config, sizes, ...)``.

    ``embeddings``: the vectors' name, as ``load_embeddings`` takes it (their own rules: see
    ``defaults_by_vectors``). Where a corpus has documents, a word's other mentions in its document are
    evidence (document memory: +3.0 dev F1 on CoNLL-2002 Dutch over three seeds, +0.3 on CoNLL-2003).
    """
    tokens = token_count(sentences)
    by_vectors = defaults_by_vectors(embeddings)
    by_tokens = defaults_by_tokens(tokenization_of(sentences))
    config = TrainingConfig(epochs=epochs_for(tokens), members=ensemble_size_for(tokens)[0],
                            min_count=by_vectors["min_count"], max_vectors=by_vectors.get("max_vectors") or None)
    sizes = {"word_dropout": by_vectors["word_dropout"], "document_memory": documents_of(sentences) > 1,
             **by_tokens}
    return config, sizes
