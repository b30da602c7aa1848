"""Write a synthetic NER corpus of about N tokens as JSON Lines, for measuring what training costs as corpora grow.

``python corpora/make_synthetic.py 5000000 big.jsonl`` writes sentences of 5 to 40 tokens drawn
from 50,000 made-up words, a tenth of them two-token PER names from 5,000; records in the
Hugging Face NER layout (``{"tokens": [...], "ner_tags": [...]}``). The words are the same
whatever N, so corpora of different sizes share one vocabulary; the output is deterministic.
"""

from __future__ import annotations

import json
import random
import sys


def main(tokens: int, path: str) -> None:
    rng = random.Random(0)
    words = [f"w{i}" for i in range(50_000)]
    names = [f"N{i}" for i in range(5_000)]
    written = 0
    with open(path, "w", encoding="utf-8") as out:
        while written < tokens:
            length = rng.randint(5, 40)
            sentence, tags = [], []
            while len(sentence) < length:
                if rng.random() < 0.1:
                    sentence += [rng.choice(names), rng.choice(names)]
                    tags += ["B-PER", "I-PER"]
                else:
                    sentence.append(rng.choice(words))
                    tags.append("O")
            out.write(json.dumps({"tokens": sentence, "ner_tags": tags}) + "\n")
            written += len(sentence)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python corpora/make_synthetic.py TOKENS OUTPUT.jsonl")
    main(int(sys.argv[1]), sys.argv[2])
