"""The BiLSTM-CRF network.

words, their casing and their characters -> embeddings -> dropout ->
bidirectional LSTM (one output per token) -> dropout -> (optionally beside
each token, its word's mean output elsewhere in its document) -> linear ->
per-token tag scores (emissions) -> ``torchcrf.CRF``, trained on the sentence
log-likelihood and decoded with Viterbi (``tagger.decode``).

The module takes tensors only: turning tokens into a ``Batch`` is
``tagger.encoding``'s job, reading files is ``tagger.corpus``'s.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torchcrf import CRF

from .decode import Potentials, viterbi_decode
from .errors import TaggerError


UNKNOWN_WORD = 1  # the word vocabulary's ``<unk>`` id (``tagger.vocab``)


class Batch(NamedTuple):
    """A batch of B sentences padded to T tokens, each read in a sequence of S tokens.

    Without context a sentence is its own sequence (S = T, ``offsets`` and
    ``input_mask`` None). With context, sequence b is the document's tokens
    before sentence b, the sentence from position ``offsets[b]``, then the
    tokens after it: the LSTM reads them all, the CRF scores the sentence.
    Characters are given per distinct word of the batch (U of them, padded to
    L characters), so each word's character features are computed once.
    """

    words: Tensor  # (B, S) word ids, 0 = padding
    casing: Tensor  # (B, S) casing class ids, 0 = padding
    token_types: Tensor  # (B, S) row of each token in type_chars
    type_chars: Tensor  # (U, L) character ids of each distinct word, 0 = padding
    mask: Tensor  # (B, T) bool, True on the sentence's tokens; every sentence has at least one
    offsets: Tensor | None = None  # (B,) position of each sentence's first token in its sequence
    input_mask: Tensor | None = None  # (B, S) bool, True on the sequence's tokens
    type_words: Sequence[str] = ()  # the U distinct words, in the rows' order (for caches of their features)
    # (B, T) ids >= 0 on the sentence tokens: tokens with one id are one word (its lookup key) in one
    # document, and pool their LSTM outputs in a model with ``document_memory``.
    memory_groups: Tensor | None = None
    # (B, S, 2) ids of each token's pairs (bigrams) with the token before it and the one after it, 0 at
    # padding; for a model with ``bigram_dim``.
    bigrams: Tensor | None = None

    def to(self, device: torch.device | str) -> "Batch":
        """The batch with its tensors on ``device`` (itself where they are already there)."""
        if self.mask.device == torch.device(device):
            return self
        return self._replace(**{name: value.to(device, non_blocking=True) for name, value in self._asdict().items()
                                if isinstance(value, Tensor)})


def device_of(model: nn.Module) -> torch.device:
    """Where a model's weights are (and its batches must be)."""
    return next(model.parameters()).device


def resolve_device(name: str | None = None) -> str:
    """The device a model is to run on: ``name`` ("cpu", "cuda", "cuda:1", ...), checked; None or "auto":
    CUDA where there is a GPU, else the CPU."""
    if name in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise TaggerError(f"unknown device {name!r}: expected cpu, cuda, cuda:N or auto") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TaggerError(f"device {name!r}: this machine has no CUDA GPU that torch can use")
    if device.type not in ("cpu", "cuda"):
        raise TaggerError(f"device {name!r}: tagger runs on cpu or cuda")
    return str(device)


@dataclass
class ModelConfig:
    """Sizes of the network; saved in the model directory's ``config.json``."""

    num_words: int  # all word ids, the fixed ones included
    num_chars: int
    num_casings: int
    num_tags: int
    word_dim: int = 100
    char_dim: int = 30
    char_filters: int = 50
    char_kernel: int = 3
    casing_dim: int = 8
    hidden_size: int = 200
    dropout: float = 0.5
    # In training, each token's word reads as unknown with this probability (its characters and
    # casing stay): the network learns to tag words it has no trained vector for from what else it sees.
    word_dropout: float = 0.0
    # Dropout masks drawn once per sentence and feature, the same at every token (variational or
    # "locked" dropout, Gal & Ghahramani 2016), rather than afresh at each token.
    locked_dropout: bool = False
    # Tokens of the surrounding document read on each side of a sentence (0: the sentence alone).
    # The network is the same either way; what it was trained to read, tagging should give it.
    context: int = 0
    # Beside each token's LSTM output, the mean of the outputs at the other occurrences of its word
    # in its document (zeros where there are none): evidence from the document's other mentions.
    document_memory: bool = False
    # The last ``fixed_words`` word ids are pretrained vectors of words the
    # training data never shows: they would get no gradient, so they are kept
    # out of the optimizer (same result, much less work per step).
    fixed_words: int = 0
    # Where the fixed vectors come from when they are not saved with the weights: an installed
    # vector package (e.g. "glove-6b-50d"), whose words the trained vocabulary lacks, in its order.
    fixed_vectors: str = ""
    # A language-model objective beside the tags (Rei 2017): in training, each direction of the LSTM
    # also predicts the sentence's next (forward) or previous (backward) word, among the
    # ``language_model_words`` most frequent training words and one class for all others, through a
    # tanh layer of ``language_model_dim`` units; its cross-entropy weighs ``language_model_weight``
    # against the CRF's. It teaches the LSTM from every token, not only the few in entities, and
    # costs nothing at tagging (0 words: no such objective).
    language_model_words: int = 0
    language_model_dim: int = 50
    language_model_weight: float = 0.1
    # Beside each token, embeddings of its pairs with the token before it and the one after it
    # (``Encoder.bigrams``, ``num_bigrams`` of them; 0 dimensions: none). Where tokens are characters,
    # a pair often is a word, or straddles a word boundary (Zhang & Yang 2018).
    bigram_dim: int = 0
    num_bigrams: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


class CharCNN(nn.Module):
    """Character embeddings -> 1-d convolution -> max over positions (Ma & Hovy 2016)."""

    def __init__(self, num_chars: int, char_dim: int, filters: int, kernel: int):
        super().__init__()
        self.embedding = nn.Embedding(num_chars, char_dim, padding_idx=0)
        self.conv = nn.Conv1d(char_dim, filters, kernel, padding=kernel // 2)

    def forward(self, chars: Tensor) -> Tensor:
        """chars: (U, L) ids -> (U, filters) features."""
        # The convolution of embedded characters is, for each kernel offset, a
        # lookup in (embedding table @ that offset's weights), summed over the
        # offsets: the same numbers as ``self.conv`` on ``self.embedding``, with
        # no window copies and no large matrix product (several times faster on CPU).
        kernel = self.conv.kernel_size[0]
        # Row 0 (padding) stays zero, as the convolution's zero padding and padding_idx make it.
        table = self.embedding.weight.masked_fill(self._padding_row(), 0.0)
        offsets = torch.einsum("cd,fdk->kcf", table, self.conv.weight)  # shape: (kernel, num_chars, filters)
        padded = nn.functional.pad(chars, (kernel // 2, kernel // 2))  # shape: (U, L + kernel - 1)
        length = chars.shape[1]
        features = self.conv.bias + nn.functional.embedding(padded[:, :length], offsets[0])
        for k in range(1, kernel):
            features = features + nn.functional.embedding(padded[:, k : k + length], offsets[k])
        features = features.masked_fill((chars == 0).unsqueeze(2), float("-inf"))  # shape: (U, L, filters)
        return features.max(dim=1).values

    def _padding_row(self) -> Tensor:
        return (torch.arange(self.embedding.num_embeddings, device=self.embedding.weight.device) == 0).unsqueeze(1)


class NextWordPredictor(nn.Module):
    """The language-model objective's two heads: LSTM states -> tanh layer -> scores of the words to predict.

    Rei (2017), "Semi-supervised Multitask Learning for Sequence Labeling": the
    forward states, which have read the sentence up to a token, predict the
    next word; the backward states predict the previous one. Neither has read
    the word it predicts, so neither can copy it.
    """

    def __init__(self, hidden_size: int, dim: int, words: int):
        super().__init__()
        self.forward_head = nn.Sequential(nn.Linear(hidden_size, dim), nn.Tanh(), nn.Linear(dim, words))
        self.backward_head = nn.Sequential(nn.Linear(hidden_size, dim), nn.Tanh(), nn.Linear(dim, words))

    def forward(self, states: Tensor, words: Tensor, mask: Tensor) -> Tensor:
        """Cross-entropy of both directions' predictions, summed over the tokens, averaged over the sentences.

        states: (B, T, 2 * hidden_size), forward half first; words: (B, T) the
        ids to predict (already limited to the heads' words); mask: (B, T),
        left-aligned. A sentence's first word has no previous word, its last no next one.
        """
        forward_states, backward_states = states.chunk(2, dim=-1)
        has_next = mask[:, 1:]  # shape: (B, T - 1): token t has a word at t + 1
        next_scores = self.forward_head(forward_states[:, :-1][has_next])  # shape: (N, words)
        previous_scores = self.backward_head(backward_states[:, 1:][has_next])
        total = (nn.functional.cross_entropy(next_scores, words[:, 1:][has_next], reduction="sum")
                 + nn.functional.cross_entropy(previous_scores, words[:, :-1][has_next], reduction="sum"))
        return total / states.shape[0]


class Dropout(nn.Dropout):
    """``nn.Dropout`` with its mask drawn from ``torch.rand``: the same distribution, about 2.5x faster on CPU.

    torch's own CPU dropout draws its mask with ``bernoulli_``, which here took
    2.2 ms for the LSTM outputs of one training batch (16 x 20 x 400 values);
    uniform numbers and a comparison take 0.9 ms.

    ``locked``: for (B, T, D) inputs, one mask per sequence, (B, 1, D), shared by all its T steps.
    """

    def __init__(self, p: float = 0.5, locked: bool = False):
        super().__init__(p)
        self.locked = locked

    def forward(self, inputs: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return inputs
        if self.p == 1.0:
            return torch.zeros_like(inputs)
        shape = (inputs.shape[0], 1, inputs.shape[2]) if self.locked else inputs.shape
        kept = torch.rand(shape, device=inputs.device) >= self.p
        return inputs * kept * (1.0 / (1.0 - self.p))


class LinearChainCRF(CRF):
    """pytorch-crf's CRF, whose log partition function is a matrix product a step where the tags are many.

    pytorch-crf sums over the previous tag with a log-sum-exp over a (B, K, K)
    array each step, whose cost grows with K squared in memory traffic. From
    ``MATRIX_PRODUCT_FROM`` tags the sum is taken in exp space instead, as a
    (B, K) x (K, K) matrix product shifted by the maxima (the way
    ``tagger.decode.forward_backward`` sums): the same value to float rounding.
    At 257 tags (64 entity types in BIOES), a batch of 16 sentences of 30
    tokens takes 4.5 ms forward and backward against 57 ms, and a training
    step of the defaults 40 ms against 119; at 17 tags it would save 0.7 ms of
    a 43 ms step, and pytorch-crf's own sum is kept there.
    """

    MATRIX_PRODUCT_FROM = 64
    _SMALLEST_SUM = 1e-30

    def _compute_normalizer(self, emissions: Tensor, mask: Tensor) -> Tensor:
        """(B,) log-sum of the scores of every tag sequence; emissions (T, B, K), mask (T, B), time first."""
        if self.num_tags < self.MATRIX_PRODUCT_FROM:
            return super()._compute_normalizer(emissions, mask)
        # Each column of the exp-space table is shifted by its own maximum, so that no column is all zeros.
        shift = self.transitions.detach().amax(dim=0)  # shape: (K,)
        moves = torch.exp(self.transitions - shift)  # shape: (K from, K to)
        mask = mask.bool()
        score = self.start_transitions + emissions[0]  # shape: (B, K)
        smallest = []
        for t in range(1, emissions.shape[0]):
            top = score.detach().amax(dim=1, keepdim=True)  # shape: (B, 1); its gradient would cancel
            sums = torch.exp(score - top) @ moves  # shape: (B, K)
            smallest.append(sums.detach().amin())
            score = torch.where(mask[t].unsqueeze(1), torch.log(sums) + top + shift + emissions[t], score)
        if smallest and torch.stack(smallest).min() < self._SMALLEST_SUM:
            # A sum fell out of float32's normal range (its paths score over 69 below the best), where
            # it keeps too few digits for a later step that lifts those paths: pytorch-crf's
            # log-sum-exp, which has no such limit.
            return super()._compute_normalizer(emissions, mask)
        return torch.logsumexp(score + self.end_transitions, dim=1)


class BiLSTMCRF(nn.Module):
    """Word, casing and character features -> BiLSTM -> linear -> CRF."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.word_embedding = nn.Embedding(config.num_words - config.fixed_words, config.word_dim, padding_idx=0)
        self.register_buffer("fixed_word_vectors", torch.zeros(config.fixed_words, config.word_dim),
                             persistent=config.fixed_words > 0 and not config.fixed_vectors)
        self.casing_embedding = nn.Embedding(config.num_casings, config.casing_dim, padding_idx=0)
        self.char_cnn = CharCNN(config.num_chars, config.char_dim, config.char_filters, config.char_kernel)
        self.dropout = Dropout(config.dropout, locked=config.locked_dropout)
        if config.bigram_dim:
            self.bigram_embedding = nn.Embedding(config.num_bigrams, config.bigram_dim, padding_idx=0)
        input_size = config.word_dim + config.casing_dim + config.char_filters + 2 * config.bigram_dim
        self.lstm = nn.LSTM(input_size, config.hidden_size, batch_first=True, bidirectional=True)
        self.projection = nn.Linear((4 if config.document_memory else 2) * config.hidden_size, config.num_tags)
        self.crf = LinearChainCRF(config.num_tags, batch_first=True)
        if config.language_model_words > 0:
            self.language_model = NextWordPredictor(
                config.hidden_size, config.language_model_dim, min(config.language_model_words + 2, config.num_words))

    def embed_words(self, words: Tensor) -> Tensor:
        """(B, T) word ids -> (B, T, word_dim) vectors, trained or fixed."""
        tuned = self.word_embedding.num_embeddings
        if self.config.fixed_words == 0:
            return self.word_embedding(words)
        fixed = words >= tuned
        vectors = self.word_embedding(words.masked_fill(fixed, 0))
        pretrained = nn.functional.embedding((words - tuned).clamp(min=0), self.fixed_word_vectors)
        return torch.where(fixed.unsqueeze(-1), pretrained, vectors)

    def set_word_vectors(self, table: Tensor) -> None:
        """Fill all word rows, trained and fixed, from a (num_words, word_dim) table."""
        tuned = self.word_embedding.num_embeddings
        with torch.no_grad():
            self.word_embedding.weight.copy_(table[:tuned])
            self.fixed_word_vectors.copy_(table[tuned:])

    def emissions(self, batch: Batch, type_features: Tensor | None = None) -> Tensor:
        """Per-token tag scores of the sentences, shape (B, T, num_tags).

        ``type_features``: the char CNN's (U, filters) output for ``batch.type_chars``, if already known.
        """
        return self.emissions_of(self.token_states(batch, type_features), batch)

    def emissions_of(self, states: Tensor, batch: Batch) -> Tensor:
        """``emissions`` from the batch's ``token_states`` (B, T, 2 * hidden_size): (B, T, num_tags)."""
        if not self.config.document_memory:
            return self.projection(states)
        if batch.memory_groups is None:
            raise ValueError("a model with document memory needs batches with memory_groups")
        own, shared = self.memory_parts(states)
        return own + word_memory(shared, batch.memory_groups, batch.mask)

    def memory_parts(self, states: Tensor) -> tuple[Tensor, Tensor]:
        """A document-memory model's tag scores from ``token_states`` (..., 2 * hidden_size), in two parts.

        A token's scores are the projection of its states beside their memory
        (the mean of its word's states at the word's other places in the
        document). The projection is linear, so they are also ``own`` (its
        states' share, with the bias) plus the mean of ``shared`` (the memory
        half of the projection) over those other places: ``own +
        word_memory(shared, ...)``. Both parts are (..., num_tags), so the
        pooling handles num_tags numbers a token instead of 2 * hidden_size
        (17 instead of 400 for the recipe's model), and only the rounding differs.
        """
        weight, bias = self.projection.weight, self.projection.bias
        if callable(weight):  # a dynamically quantized projection keeps them packed
            weight, bias = weight().dequantize(), bias()
        num_tags, width = weight.shape[0], states.shape[-1]
        # Row 2k of the (2K, width) view is tag k's weights on the states, row 2k + 1 those on the memory.
        both = nn.functional.linear(states, weight.reshape(2 * num_tags, width)).unflatten(-1, (num_tags, 2))
        return both[..., 0] + bias, both[..., 1]

    def token_states(self, batch: Batch, type_features: Tensor | None = None) -> Tensor:
        """The BiLSTM's outputs at the sentences' tokens, after dropout: (B, T, 2 * hidden_size)."""
        if type_features is None:
            type_features = self.char_cnn(batch.type_chars)
        # A lookup, not type_features[token_types]: the same values, and its gradient is summed in one
        # order, where indexing's adds a word's rows from several threads at once (runs then varied).
        chars = nn.functional.embedding(batch.token_types, type_features)  # shape: (B, S, filters)
        features = [self.embed_words(self._dropped(batch.words)), self.casing_embedding(batch.casing), chars]
        if self.config.bigram_dim:
            if batch.bigrams is None:
                raise ValueError("a model with bigram_dim needs batches with bigrams")
            features.append(self.bigram_embedding(self._dropped(batch.bigrams)).flatten(2))  # shape: (B, S, 2 * dim)
        features = torch.cat(features, dim=-1)
        features = self.dropout(features)
        input_mask = batch.mask if batch.input_mask is None else batch.input_mask
        lengths = input_mask.sum(dim=1)
        offsets = batch.offsets if batch.offsets is not None else torch.zeros_like(lengths)
        one_length = bool((lengths == lengths[0]).all())
        splittable = type(self.lstm) is nn.LSTM  # a quantized LSTM cannot lend its weights to one direction
        if splittable and not (one_length and batch.offsets is None):
            hidden = self._directions(features, lengths, offsets, batch.mask.sum(dim=1))
        else:
            if one_length:  # no padding: the bidirectional LSTM as it is
                hidden, _ = self.lstm(features)
            else:
                packed = pack_padded_sequence(features, lengths.cpu(), batch_first=True, enforce_sorted=False)
                hidden, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=features.shape[1])
            if batch.offsets is not None:
                steps = torch.arange(batch.mask.shape[1], device=hidden.device)
                hidden = hidden.gather(1, _expand(offsets.unsqueeze(1) + steps, hidden))
        return self.dropout(hidden)

    def _dropped(self, ids: Tensor) -> Tensor:
        """Word (or bigram) ids with ``word_dropout`` of them read as unknown in training; padding stays."""
        if not self.training or self.config.word_dropout == 0:
            return ids
        dropped = (torch.rand(ids.shape, device=ids.device) < self.config.word_dropout) & (ids != 0)
        return ids.masked_fill(dropped, UNKNOWN_WORD)

    def _directions(self, features: Tensor, lengths: Tensor, offsets: Tensor, sentence_lengths: Tensor) -> Tensor:
        """The BiLSTM's outputs at the sentence tokens, (B, T, 2 * hidden_size).

        Sequence b of ``features`` (B, S, input) has ``lengths[b]`` tokens, its
        sentence ``sentence_lengths[b]`` of them from position ``offsets[b]``.

        Each direction runs on its own, unpacked: the forward one over the
        sequences as they are, the backward one over each sequence reversed.
        Padding then always comes after the tokens a direction reads, where it
        cannot change their outputs, so the result is exact without packing
        (which on CPU takes a path about twice as slow). Each direction reads
        only the context on its own side of the sentence.
        """
        steps = torch.arange(int(sentence_lengths.max()), device=features.device)
        forward = self._by_length("", features, offsets + sentence_lengths)
        # Sequence b reversed, from its last token down to its sentence's first.
        backward_steps = torch.arange(int((lengths - offsets).max()), device=features.device)
        reversed_positions = (lengths.unsqueeze(1) - 1 - backward_steps).clamp(min=0)  # shape: (B, S')
        backward = self._by_length("_reverse", features.gather(1, _expand(reversed_positions, features)),
                                   lengths - offsets)
        forward_at = (offsets.unsqueeze(1) + steps).clamp(max=forward.shape[1] - 1)  # shape: (B, T)
        backward_at = (lengths.unsqueeze(1) - 1 - offsets.unsqueeze(1) - steps).clamp(min=0)
        return torch.cat([forward.gather(1, _expand(forward_at, forward)),
                          backward.gather(1, _expand(backward_at, backward))], dim=-1)

    def _by_length(self, suffix: str, inputs: Tensor, lengths: Tensor) -> Tensor:
        """One direction's outputs (B, max(lengths), hidden_size) over inputs (B, S, input) whose sequence b
        has its ``lengths[b]`` tokens first; zeros past each group's longest sequence.

        The LSTM's time grows with the padded area it reads, so sequences run in groups of like length
        (``length_groups``): a batch of whole documents pads its sentences, most of about ten tokens,
        to its longest, which may be hundreds.
        """
        sizes = lengths.tolist()
        groups = length_groups(sizes)
        if len(groups) == 1:
            return self._one_direction(suffix, inputs[:, : max(sizes)])[0]
        width = max(sizes)
        outputs = []
        for group in groups:
            longest = max(sizes[i] for i in group)
            index = torch.tensor(group, device=inputs.device)
            output, _ = self._one_direction(suffix, inputs[:, :longest].index_select(0, index))
            outputs.append(nn.functional.pad(output, (0, 0, 0, width - longest)))
        order = torch.tensor([i for group in groups for i in group], device=inputs.device)
        return torch.cat(outputs).index_select(0, torch.argsort(order))

    def _one_direction(self, suffix: str, inputs: Tensor) -> tuple[Tensor, object]:
        """One direction of ``self.lstm`` (its weights named with ``suffix``) over (B, S, input) inputs."""
        template = self.__dict__.get("_unidirectional")
        if template is None:
            # Not a submodule: it only lends its code; the weights are always self.lstm's. On the meta
            # device it has no weights of its own, so making it draws no random numbers: training's
            # dropout masks do not depend on when it is first made (a resumed run makes it later).
            template = self.__dict__["_unidirectional"] = nn.LSTM(
                self.lstm.input_size, self.lstm.hidden_size, batch_first=True, device="meta")
        weights = {name: getattr(self.lstm, f"{name}{suffix}")
                   for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")}
        return torch.func.functional_call(template, weights, (inputs,))

    def loss(self, batch: Batch, tags: Tensor, teacher: TagDistribution | None = None,
             teacher_weight: float = 0.0) -> Tensor:
        """``crf_loss`` of the batch's sentences given gold ``tags`` (B, T) (and a teacher's distribution).

        With a language-model objective (``ModelConfig.language_model_words``), plus its weighted loss.
        """
        states = self.token_states(batch)
        loss = crf_loss(self.crf, self.emissions_of(states, batch), tags, batch.mask, teacher, teacher_weight)
        if self.config.language_model_words == 0:
            return loss
        return loss + self.config.language_model_weight * self.language_model(states, self.predicted_words(batch),
                                                                                batch.mask)

    def predicted_words(self, batch: Batch) -> Tensor:
        """The sentences' word ids as the language model predicts them: (B, T), rare words as unknown.

        Word ids run from the most frequent training word down (``Vocabulary.build``),
        so the predicted words are ids 2 .. language_model_words + 1.
        """
        words = batch.words
        if batch.offsets is not None:  # the sentences' own tokens, not their context's
            steps = torch.arange(batch.mask.shape[1], device=words.device)
            words = words.gather(1, (batch.offsets.unsqueeze(1) + steps).clamp(max=words.shape[1] - 1))
        words = words[:, : batch.mask.shape[1]]
        return words.masked_fill(words >= self.language_model.forward_head[-1].out_features, UNKNOWN_WORD)

    def decode(self, batch: Batch) -> Tensor:
        """Best tag ids, shape (B, T); positions past a sentence's end hold -1."""
        return viterbi_decode(self.emissions(batch), batch.mask, self.crf)


class TagDistribution(NamedTuple):
    """A distribution over each sentence's tag sequences, by what a linear-chain CRF's expected score needs.

    For gold tags these are counts (one-hot); for a teacher model, its marginals
    (``tagger.decode.token_marginals`` and ``transition_marginals``).
    """

    tags: Tensor  # (B, T, K) probability of each tag at each token; 0 at padding
    transitions: Tensor  # (B, K, K) expected count of each transition (from, to) in each sentence


def one_hot_distribution(tags: Tensor, mask: Tensor, num_tags: int) -> TagDistribution:
    """The distribution that puts all its mass on ``tags`` (B, T), given ``mask`` (B, T)."""
    one_hot = nn.functional.one_hot(tags.clamp(min=0), num_tags).float() * mask.unsqueeze(2)  # shape: (B, T, K)
    return TagDistribution(one_hot, one_hot[:, :-1].transpose(1, 2) @ one_hot[:, 1:])


def expected_score(emissions: Tensor, mask: Tensor, crf: CRF, distribution: TagDistribution) -> Tensor:
    """(B,) each sentence's expected score under ``distribution`` (for one-hot tags, their score).

    emissions: (B, T, K); mask: (B, T), left-aligned. The score is linear in
    the tag and transition counts, so its expectation needs only their means.
    """
    tags = distribution.tags
    last = mask.sum(dim=1) - 1
    final = tags[torch.arange(len(tags)), last]  # shape: (B, K)
    return ((tags * emissions).sum(dim=(1, 2)) + (distribution.transitions * crf.transitions).sum(dim=(1, 2))
            + tags[:, 0] @ crf.start_transitions + final @ crf.end_transitions)


def crf_loss(crf: CRF, emissions: Tensor, tags: Tensor, mask: Tensor, teacher: TagDistribution | None = None,
             teacher_weight: float = 0.0) -> Tensor:
    """Mean over the sentences of the negative log-likelihood of gold ``tags`` (scalar).

    emissions: (B, T, K); tags, mask: (B, T). With a ``teacher``'s distribution
    over each sentence's tag sequences (knowledge distillation), ``(1 - w) *
    NLL(gold) + w * H(teacher, model)`` for w = ``teacher_weight``, where the
    cross-entropy H is ``log Z - E_teacher[score]``. The log-partition terms
    cancel against the NLL's, so this is ``NLL(gold) + w * (score(gold) -
    E_teacher[score])``: pytorch-crf's log-likelihood plus a term linear in the scores.
    """
    nll = -crf(emissions, tags, mask=mask, reduction="mean")
    if teacher is None or teacher_weight == 0.0:
        return nll
    gold = one_hot_distribution(tags, mask, emissions.shape[2])
    gap = expected_score(emissions, mask, crf, gold) - expected_score(emissions, mask, crf, teacher)
    return nll + teacher_weight * gap.mean()


class Ensemble(nn.Module):
    """Several BiLSTM-CRFs of one configuration and vocabulary, read as one CRF.

    A sentence's score under the ensemble is the mean of its scores under the
    members: the tag scores (emissions) are the members' mean, and so are the
    CRF's tables. That is again a linear-chain CRF, so Viterbi, n-best,
    constraints and probabilities work on it unchanged. Members differ only in
    their random initialisation and the order they saw the batches in.

    It offers the parts of ``BiLSTMCRF`` that tagging uses (``emissions``,
    ``token_states``, ``memory_parts``, ``char_cnn``, ``crf``, ``config``); it is
    not trained as a whole: each member is trained on its own.
    """

    def __init__(self, members: Sequence[BiLSTMCRF]):
        super().__init__()
        if len(members) < 2:
            raise ValueError("an ensemble needs at least two members")
        first = members[0]
        if any(member.config != first.config for member in members[1:]):
            raise ValueError("ensemble members must share one configuration")
        # (Networks on the meta device, built for their shapes only, have no values to compare.)
        if not first.fixed_word_vectors.is_meta and any(
                not torch.equal(member.fixed_word_vectors, first.fixed_word_vectors) for member in members[1:]):
            raise ValueError("ensemble members must share their fixed word vectors")
        for member in members[1:]:
            # One table for all: the first member's, the only one saved with the weights.
            member.fixed_word_vectors = first.fixed_word_vectors
            member._non_persistent_buffers_set.add("fixed_word_vectors")
        self.members = nn.ModuleList(members)
        self.__dict__["char_cnn"] = _StackedCharCNNs([member.char_cnn for member in members])

    @property
    def config(self) -> ModelConfig:
        return self.members[0].config

    @property
    def crf(self) -> Potentials:
        """The members' mean CRF tables."""
        return Potentials(*(torch.stack([getattr(member.crf, name) for member in self.members]).mean(dim=0)
                            for name in Potentials._fields))

    def emissions(self, batch: Batch, type_features: Tensor | None = None) -> Tensor:
        """The members' mean tag scores, (B, T, num_tags).

        ``type_features``: ``self.char_cnn``'s (U, members * filters) output for ``batch.type_chars``, if known.
        """
        if type_features is None:
            type_features = self.char_cnn(batch.type_chars)
        parts = type_features.chunk(len(self.members), dim=-1)
        return torch.stack([member.emissions(batch, part) for member, part in zip(self.members, parts)]).mean(dim=0)

    def token_states(self, batch: Batch, type_features: Tensor | None = None) -> Tensor:
        """Each member's ``token_states``, stacked: (members, B, T, 2 * hidden_size)."""
        if type_features is None:
            type_features = self.char_cnn(batch.type_chars)
        parts = type_features.chunk(len(self.members), dim=-1)
        return torch.stack([member.token_states(batch, part) for member, part in zip(self.members, parts)])

    def memory_parts(self, states: Tensor) -> tuple[Tensor, Tensor]:
        """The members' mean ``memory_parts`` of stacked ``token_states``: two (..., num_tags) tensors.

        The memory pooling is linear, so pooling the mean ``shared`` part is
        the mean of the members' pooled parts.
        """
        parts = [member.memory_parts(member_states) for member, member_states in zip(self.members, states)]
        return (torch.stack([own for own, _ in parts]).mean(dim=0),
                torch.stack([shared for _, shared in parts]).mean(dim=0))

    def decode(self, batch: Batch) -> Tensor:
        """Best tag ids under the mean scores, shape (B, T); positions past a sentence's end hold -1."""
        return viterbi_decode(self.emissions(batch), batch.mask, self.crf)


class _StackedCharCNNs(nn.Module):
    """The members' char CNNs side by side: (U, L) ids -> (U, members * filters) features."""

    def __init__(self, cnns: Sequence[CharCNN]):
        super().__init__()
        self.cnns = nn.ModuleList(cnns)

    def forward(self, chars: Tensor) -> Tensor:
        return torch.cat([cnn(chars) for cnn in self.cnns], dim=-1)


def members_of(model: nn.Module) -> list[BiLSTMCRF]:
    """An ensemble's members, or the model itself."""
    return list(model.members) if isinstance(model, Ensemble) else [model]


def word_memory(hidden: Tensor, groups: Tensor, mask: Tensor) -> Tensor:
    """For each token, the mean of ``hidden`` over the other tokens of its group; zeros if it has none.

    hidden: (B, T, D), any width D; groups: (B, T) ids >= 0 where ``mask`` (B, T) is True.
    Returns (B, T, D), zero at padding. Gradients reach every token pooled.
    """
    memory = hidden.new_zeros(hidden.shape)
    memory[mask] = mean_of_others(hidden[mask], groups[mask])
    return memory


def mean_of_others(values: Tensor, groups: Tensor) -> Tensor:
    """``word_memory`` of N tokens in a row: values (N, D), groups (N,) ids >= 0 -> (N, D)."""
    if len(groups) == 0:
        return torch.zeros_like(values)
    counts = torch.bincount(groups)
    if int(counts.max()) == 1:  # every token alone in its group (common for a sentence alone): nothing to pool
        return torch.zeros_like(values)
    sums = values.new_zeros((len(counts), values.shape[-1])).index_add_(0, groups, values)
    others = counts[groups].unsqueeze(1) - 1  # shape: (N, 1)
    # index_select, not sums[groups]: the same values, and its gradient is summed in one order, where
    # indexing's adds the rows of a group from several threads at once (training then varied run to run).
    return (sums.index_select(0, groups) - values) / others.clamp(min=1).to(values.dtype)


# What running the LSTM once more costs, in padded tokens it could read instead (call overhead, and each time
# step's): fit to a one-direction LSTM of 158 inputs and 200 units on a 2-core AMD EPYC (AVX2), which took
# about 1,500 us a call, 15 us a step and 22 us a token to train (forward and backward), and 700, 21 and 7 to tag.
GROUP_CALL_COST = 80
GROUP_STEP_COST = 2


def length_groups(lengths: Sequence[int]) -> list[list[int]]:
    """Indices of sequences of the given lengths, in the groups of like length that an LSTM reads fastest.

    A group of n sequences, the longest L tokens, costs ``GROUP_CALL_COST +
    GROUP_STEP_COST * L + n * L``; the groups returned cost the least in all
    (groups of whole runs of the sorted lengths, found by dynamic programming
    over the distinct lengths). Every index appears once; one group is common.
    """
    if not lengths:
        return [[]]
    longest = max(lengths)
    if len(lengths) * longest - sum(lengths) <= GROUP_CALL_COST:
        return [list(range(len(lengths)))]
    by_length: dict[int, list[int]] = {}
    for i, length in enumerate(lengths):
        by_length.setdefault(length, []).append(i)
    distinct = sorted(by_length)
    counts = [len(by_length[length]) for length in distinct]
    # best[j]: the least cost of the j shortest distinct lengths; cut[j]: where its last group begins.
    best = [0.0] + [math.inf] * len(distinct)
    cut = [0] * (len(distinct) + 1)
    for j in range(1, len(distinct) + 1):
        group_length, sequences = distinct[j - 1], 0
        for i in range(j - 1, -1, -1):
            sequences += counts[i]
            cost = best[i] + GROUP_CALL_COST + GROUP_STEP_COST * group_length + sequences * group_length
            if cost < best[j]:
                best[j], cut[j] = cost, i
    groups = []
    j = len(distinct)
    while j > 0:
        groups.append([i for length in distinct[cut[j]:j] for i in by_length[length]])
        j = cut[j]
    return groups[::-1]


def _expand(positions: Tensor, values: Tensor) -> Tensor:
    """(B, N) positions as an index that gathers whole feature vectors from (B, S, D) ``values``."""
    return positions.unsqueeze(-1).expand(-1, -1, values.shape[-1])


def quantize_dynamic(model: BiLSTMCRF) -> BiLSTMCRF:
    """A copy of ``model`` for CPU inference with int8 weights in its LSTM and linear layers.

    Activations are quantized on the fly (PyTorch's dynamic quantization): about
    1.5x faster tagging on CPU, for an F1 change measured by ``tagger.bench``.
    """
    import warnings

    with warnings.catch_warnings():
        # torch.ao.quantization is deprecated in favour of torchao, which is not a dependency of ours.
        warnings.simplefilter("ignore")
        from torch.ao.quantization import quantize_dynamic as quantize

        return quantize(model, {nn.LSTM, nn.Linear}, dtype=torch.qint8, inplace=False)
