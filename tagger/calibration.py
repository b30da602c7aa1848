"""How far to trust a model's probabilities: ``python -m tagger.calibration --model DIR --data FOLDER``.

On the test split (``eng.testb``) it prints: F1 with and without constrained
decoding and the count of ill-formed outputs; a reliability table of entity
scores (10 bins) and the expected calibration error (ECE, bins weighted by
count), before and after temperature scaling; the oracle F1 of the n-best
lists; and tagging throughput with scores off, on, and with n-best. The
temperature is fitted on the dev split (``eng.testa``) only, and ``--write``
stores it in the model's ``config.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .api import Tagger
from .corpus import document_contexts, document_ids, document_starts, read_corpus
from .errors import run_command
from .inference import decode_sentences, entity_scores, model_scheme
from .schemes import convert_tags, tags_to_spans
from .storage import CONFIG_FILE, update_config

COARSE_TEMPERATURES = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0]


def scored_entities(tagger: Tagger, sentences: Sequence[Sequence[str]], gold_tags: Sequence[Sequence[str]],
                    starts: Sequence[bool] | None = None) -> list[tuple[float, bool]]:
    """``(score, correct)`` for every predicted entity; correct means the same span and label in gold.

    ``starts``: where documents begin, for models that read document context or memory.
    """
    pairs = []
    for result, gold in zip(tagger.predict(sentences, document_starts=starts), gold_tags):
        gold_spans = set(tags_to_spans(gold))
        pairs += [(e.score, (e.label, e.start, e.end) in gold_spans) for e in result.entities]
    return pairs


def reliability(pairs: Sequence[tuple[float, bool]], bins: int = 10) -> tuple[list[dict], float]:
    """Per-bin count, mean score and precision, and the ECE (bins weighted by their count)."""
    table = []
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        inside = [(s, c) for s, c in pairs if low <= s < high or (b == bins - 1 and s == 1.0)]
        if inside:
            confidence = sum(s for s, _ in inside) / len(inside)
            precision = sum(c for _, c in inside) / len(inside)
        else:
            confidence = precision = float("nan")
        table.append({"bin": f"{low:.1f}-{high:.1f}", "count": len(inside), "score": confidence,
                      "precision": precision})
    total = max(1, len(pairs))
    ece = sum(row["count"] / total * abs(row["precision"] - row["score"]) for row in table if row["count"])
    return table, ece


def fit_temperature(tagger: Tagger, sentences: Sequence[Sequence[str]], gold_tags: Sequence[Sequence[str]],
                    starts: Sequence[bool] | None = None) -> tuple[float, float]:
    """The temperature with the lowest entity-score ECE on these sentences, and that ECE.

    A coarse grid over 0.5..3.0, then steps of 0.05 around its best point.
    """
    tried: dict[float, float] = {}

    def ece_at(temperature: float) -> float:
        if temperature not in tried:
            tagger.temperature = temperature
            tried[temperature] = reliability(scored_entities(tagger, sentences, gold_tags, starts))[1]
        return tried[temperature]

    coarse = min(COARSE_TEMPERATURES, key=ece_at)
    fine = min((round(coarse + 0.05 * step, 2) for step in range(-4, 5) if coarse + 0.05 * step > 0), key=ece_at)
    return fine, tried[fine]


def oracle_f1(tagger: Tagger, sentences: Sequence[Sequence[str]], gold_tags: Sequence[Sequence[str]], k: int,
              starts: Sequence[bool] | None = None) -> float:
    """Entity F1 when, for each sentence, the best-matching of its k readings is kept."""
    chosen = []
    for result, gold in zip(tagger.predict(sentences, nbest=k, scores=False, document_starts=starts), gold_tags):
        gold_spans = set(tags_to_spans(gold))
        # the reading with the fewest wrong or missing entities
        errors = [len(set(tags_to_spans(reading.tags)) ^ gold_spans) for reading in result.readings]
        chosen.append(result.readings[errors.index(min(errors))].tags if result.readings else [])
    return entity_scores(gold_tags, chosen)["f1"]


def throughput(tagger: Tagger, sentences: Sequence[Sequence[str]], repeats: int = 3, **options) -> float:
    tokens = sum(map(len, sentences))
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        tagger.predict(sentences, **options)
        times.append(time.perf_counter() - started)
    return tokens / sorted(times)[len(times) // 2]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagger.calibration", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="model directory")
    parser.add_argument("--data", type=Path, required=True, help="folder with eng.testa (dev) and eng.testb (test)")
    parser.add_argument("--dev", default="eng.testa", help="file in --data to fit the temperature on")
    parser.add_argument("--test", default="eng.testb", help="file in --data to report on")
    parser.add_argument("--nbest", type=int, default=10, help="readings per sentence for the oracle F1")
    parser.add_argument("--write", action="store_true", help="store the fitted temperature in the model")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(2)
    tagger = Tagger.load(args.model)
    dev = read_corpus(args.data / args.dev)
    test = read_corpus(args.data / args.test)
    dev_tokens, dev_gold = [s.tokens for s in dev], [s.labels for s in dev]
    test_tokens, test_gold = [s.tokens for s in test], [s.labels for s in test]
    dev_starts, test_starts = document_starts(dev), document_starts(test)
    test_contexts = document_contexts(test_tokens, test_starts, tagger.context) if tagger.context else None
    test_documents = document_ids(test_starts) if tagger.model.config.document_memory else None
    saved_temperature = tagger.temperature

    print(f"model {args.model}; test {args.test} ({len(test)} sentences); dev {args.dev}")
    scheme = model_scheme(tagger.encoder)
    for constrained in (False, True):
        predicted = [r.tags for r in decode_sentences(tagger.model, tagger.encoder, test_tokens,
                                                      constrained=constrained, contexts=test_contexts,
                                                      documents=test_documents)]
        ill_formed = sum(convert_tags(tags, scheme) != tags for tags in predicted)
        print(f"{'constrained' if constrained else 'unconstrained':>13} decoding: F1 "
              f"{entity_scores(test_gold, predicted)['f1']:.4f}, ill-formed sentences {ill_formed}")

    tagger.constrained = True
    tagger.temperature = 1.0
    table, ece = reliability(scored_entities(tagger, test_tokens, test_gold, test_starts))
    temperature, dev_ece = fit_temperature(tagger, dev_tokens, dev_gold, dev_starts)
    tagger.temperature = temperature
    fitted_table, fitted_ece = reliability(scored_entities(tagger, test_tokens, test_gold, test_starts))
    print(f"\nentity-score reliability on {args.test} (temperature 1.0 | fitted on {args.dev}: {temperature})")
    print(f"{'bin':>9} {'count':>6} {'score':>7} {'precision':>9} | {'count':>6} {'score':>7} {'precision':>9}")
    for raw, fitted in zip(table, fitted_table):
        print(f"{raw['bin']:>9} {raw['count']:>6} {raw['score']:>7.3f} {raw['precision']:>9.3f} | "
              f"{fitted['count']:>6} {fitted['score']:>7.3f} {fitted['precision']:>9.3f}")
    print(f"ECE {ece:.4f} at temperature 1.0; {fitted_ece:.4f} at {temperature} (dev ECE {dev_ece:.4f})")

    one_best = entity_scores(
        test_gold, [r.tags for r in tagger.predict(test_tokens, scores=False, document_starts=test_starts)])["f1"]
    print(f"\n1-best F1 {one_best:.4f}; oracle F1 of the {args.nbest}-best lists "
          f"{oracle_f1(tagger, test_tokens, test_gold, args.nbest, test_starts):.4f}")
    off = throughput(tagger, test_tokens, scores=False, document_starts=test_starts)
    on = throughput(tagger, test_tokens, scores=True, document_starts=test_starts)
    nbest = throughput(tagger, test_tokens, scores=True, nbest=args.nbest, document_starts=test_starts)
    print(f"\ntagging tokens/s (2 threads): scores off {off:,.0f}; scores on {on:,.0f} ({on / off:.2f}x); "
          f"scores + {args.nbest}-best {nbest:,.0f} ({nbest / off:.2f}x)")

    if args.write:
        update_config(args.model, temperature=temperature)
        print(f"temperature {temperature} written to {args.model / CONFIG_FILE} (was {saved_temperature})")
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main))
