"""Tagging token lists with a model, and scoring tags against gold ones."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from seqeval.metrics import classification_report as seqeval_report
from seqeval.metrics import f1_score, precision_score, recall_score

from .encoding import Encoder
from .model import BiLSTMCRF
from .schemes import convert_tags


def predict_tags(
    model: BiLSTMCRF, encoder: Encoder, sentences: Sequence[Sequence[str]], batch_size: int = 256
) -> list[list[str]]:
    """Tags (in the model's scheme) of each token list, in input order.

    Sentences are batched by length so padding stays small; empty sentences
    get empty tag lists and never reach the CRF.
    """
    results: list[list[str]] = [[] for _ in sentences]
    order = sorted((i for i, tokens in enumerate(sentences) if tokens), key=lambda i: len(sentences[i]))
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                chunk = order[start : start + batch_size]
                tags = encoder.tag_names(model.decode(encoder.batch([sentences[i] for i in chunk])))
                for i, sentence_tags in zip(chunk, tags):
                    results[i] = sentence_tags
    finally:
        model.train(was_training)
    return results


def entity_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict:
    """Entity-level precision, recall and F1 (fractions), scored like conlleval by seqeval.

    Both sides may be in any scheme; they are compared as IOB2.
    """
    gold2 = [convert_tags(tags, "IOB2") for tags in gold]
    predicted2 = [convert_tags(tags, "IOB2") for tags in predicted]
    return {
        "precision": float(precision_score(gold2, predicted2, zero_division=0)),
        "recall": float(recall_score(gold2, predicted2, zero_division=0)),
        "f1": float(f1_score(gold2, predicted2, zero_division=0)),
    }


def classification_report(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> str:
    """seqeval's per-type report (conlleval-compatible mode), four digits."""
    gold2 = [convert_tags(tags, "IOB2") for tags in gold]
    predicted2 = [convert_tags(tags, "IOB2") for tags in predicted]
    return seqeval_report(gold2, predicted2, digits=4, zero_division=0)
