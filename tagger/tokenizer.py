"""The tokenizer used for plain text: CoNLL-2003-style tokens with character offsets.

Words (letters and digits, with inner apostrophes, hyphens, periods of
abbreviations and decimal points), the clitics ``'s``, ``n't``, ``'re``, ``'ll``,
``'ve``, ``'d``, ``'m`` split off as their own tokens (as in the Penn Treebank
and CoNLL-2003), and every other non-space character a token of its own.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(
    r"""
    \w+(?=n't\b)                      # "does" of "doesn't"
    | n't\b                           # "n't"
    | '(?:s|re|ll|ve|d|m)\b           # clitics
    | (?:[^\W_]\.){2,}                # abbreviations: U.S., U.N.
    | \d+(?:[.,:/]\d+)+               # numbers: 1,000  3.5  12:30  1996-08-22 is split below
    | \w+(?:[-'’&]\w+)*(?<!'s)        # words, hyphenated words, O'Neil, AT&T
    | \S                              # anything else, one character at a time
    """,
    re.VERBOSE | re.IGNORECASE,
)


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """Tokens of ``text`` as ``(token, start_char, end_char)``, end exclusive."""
    return [(match.group(), match.start(), match.end()) for match in _TOKEN.finditer(text)]
