"""The tokenizer used for plain text: CoNLL-2003-style tokens with character offsets.

Words (letters and digits, with inner apostrophes, hyphens, periods of
abbreviations and decimal points), the clitics ``'s``, ``n't``, ``'re``, ``'ll``,
``'ve``, ``'d``, ``'m`` split off as their own tokens (as in the Penn Treebank
and CoNLL-2003), and every other character a token of its own, but for spaces.
A word holds its combining marks and joiners (Devanagari's vowel signs, Arabic's
vowel marks, a decomposed ``é``, Persian's zero-width non-joiner), and a
character is what a reader sees as one (an emoji with its variation selector, a
family of emoji joined by zero-width joiners): the ``regex`` module's Unicode
word characters and grapheme clusters, where ``re`` splits them.

As in CoNLL-2003, a period stays with an initial (``George W. Bush``), with a
common abbreviation (``Mr.``, ``St.``, ``Inc.``, ``Calif.``) and with the number
of a ranked list (``1. Michael Johnson``), except where it ends the text: a
sentence's full stop is a token of its own. Runs of one punctuation mark
(``--``, ``...``), currencies such as ``US$``, web addresses and e-mail addresses
are one token each. Of the
250,056 tokens of eng.train and eng.testb, each followed by a space, these
rules split 896 (``+44``, ``.500``, ...), where splitting every period split 2,913.

``sentence_starts`` splits a text's tokens into sentences: after a full stop,
question or exclamation mark (``।`` and ``؟`` too; and any closing quotes or
brackets) that a capitalized word (or a word of a script without case) or an
opening quote follows, and at blank lines. Periods the
tokenizer keeps on abbreviations and initials end no sentence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import regex

# Titles, company forms, months, and US states as Reuters abbreviates them. Case-sensitive.
_ABBREVIATIONS = (
    "Mr Mrs Ms Dr Prof Sr Jr St Mt Ft Gen Gov Sen Rep Col Lt Sgt Capt Adm Rev Hon Messrs "
    "Inc Corp Co Ltd Bros Cos "
    "Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec "
    "Ala Ariz Ark Calif Colo Conn Del Fla Ga Ill Ind Kan Ky La Md Mass Mich Minn Miss Mo Mont Neb Nev "
    "Okla Ore Pa Tenn Tex Va Vt Wash Wis Wyo "
    "vs etc"
).split()

_ADDRESSES = r"""
    (?:https?://|www\.)\S+?(?=[.,;:!?'")\]]*(?:\s|\Z))  # web addresses, without the punctuation after them
    | [\w.+-]+@\w[\w-]*(?:\.[\w-]+)+    # e-mail addresses
    | """
_WORDS = (
    r"""
    \w+(?=n't\b)                      # "does" of "doesn't"
    | n't\b                           # "n't"
    | '(?:s|re|ll|ve|d|m)\b           # clitics
    | (?:[^\W_]\.){2,}                # abbreviations: U.S., U.N.
    | (?-i:\b(?=\w+\.)(?:[A-Z]|ABBREVIATIONS)\.(?!\s*\Z))  # initials and abbreviations: W., St.; not a final stop
    | \A\d{1,3}\.(?=\s)               # the rank that opens a line of a ranked list: "1. Michael Johnson"
    | \d+(?:[.,:/]\d+)+               # numbers: 1,000  3.5  12:30  1996-08-22 is split below
    | (?-i:\b[A-Z]{1,3}\$)            # currencies: US$, HK$, C$
    | \w+(?:[-'’&]\w+)*(?<!'s)        # words, hyphenated words, O'Neil, AT&T
    | ([^\w\s])\1+                    # runs of one mark: -- ... !!
    | (?=\S)\X                        # anything else, one character (grapheme cluster) at a time
    """.replace("ABBREVIATIONS", "|".join(_ABBREVIATIONS))
)
_FLAGS = regex.VERBOSE | regex.IGNORECASE | regex.VERSION0
_TOKEN = regex.compile(_WORDS, _FLAGS)
# Trying the address rules at every token made tokenizing eng.testb 20% slower: only where one may be.
_TOKEN_OR_ADDRESS = regex.compile(_ADDRESSES + _WORDS, _FLAGS)


# Text written with spaces has one every 5 to 7 characters (English, Dutch); text written without has
# next to none, a few around Latin words. Texts of fewer spaces than one in 20 characters are written without.
WORDS_SPACING = 20
# The scripts written without spaces between words.
_SCRIPTS_WITHOUT_SPACES = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]")


def written_without_spaces(texts: Sequence[str]) -> bool:
    """Whether texts are written without spaces (Chinese, Japanese, Thai): under one in ``WORDS_SPACING`` characters."""
    return sum(text.count(" ") for text in texts) * WORDS_SPACING < sum(map(len, texts))


def runs_words_together(text: str) -> bool:
    """Whether a text of ``WORDS_SPACING`` characters or more is written without spaces in a script written so
    (Chinese, Japanese, Thai, ...): ``tokenize`` reads each run of its letters as one word."""
    return len(text) >= WORDS_SPACING and written_without_spaces([text]) and bool(_SCRIPTS_WITHOUT_SPACES.search(text))


def join_known_words(tokens: list[tuple[str, int, int]], starts: list[int], joiner: str,
                     known: Callable[[str], bool], longest: int = 4) -> tuple[list[tuple[str, int, int]], list[int]]:
    """``tokens`` (and the indices of those that begin sentences, ``starts``) with each run of up to ``longest``
    of them that makes a ``known`` word when joined by ``joiner`` joined into that word, the longest first, from
    left to right (forward maximum matching, as segmenters of Vietnamese begin): ``Hà`` and ``Nội`` become
    ``Hà_Nội``, at the offsets of both (so the text at them is ``Hà Nội``). No run crosses a sentence start."""
    begins = set(starts)
    joined: list[tuple[str, int, int]] = []
    joined_starts: list[int] = []
    i = 0
    while i < len(tokens):
        if i in begins:
            joined_starts.append(len(joined))
        size = next((size for size in range(min(longest, len(tokens) - i), 1, -1)
                     if begins.isdisjoint(range(i + 1, i + size))
                     and known(joiner.join(token for token, _, _ in tokens[i : i + size]))), 1)
        run = tokens[i : i + size]
        joined.append((joiner.join(token for token, _, _ in run), run[0][1], run[-1][2]))
        i += size
    return joined, joined_starts


def tokenize_characters(text: str) -> list[tuple[str, int, int]]:
    """Each character of ``text`` but whitespace as a token, with its offsets: text written without spaces.

    As character corpora (Chinese, Japanese, Thai) are written, a token a character.
    """
    return [(character, i, i + 1) for i, character in enumerate(text) if not character.isspace()]


def with_space_tokens(tokens: list[tuple[str, int, int]], starts: list[int]
                      ) -> tuple[list[tuple[str, int, int]], list[int]]:
    """``tokenize_characters``'s tokens and their sentence starts, with a ``" "`` token for the whitespace
    between two tokens of one sentence (offsets: the whitespace's), as corpora that write Korean a character a
    line mark the spaces between words (KLUE). Sentences neither begin nor end with one."""
    spaced: list[tuple[str, int, int]] = []
    spaced_starts: list[int] = []
    begins = set(starts)
    for i, token in enumerate(tokens):
        if i in begins:
            spaced_starts.append(len(spaced))
        elif tokens[i - 1][2] < token[1]:
            spaced.append((" ", tokens[i - 1][2], token[1]))
        spaced.append(token)
    return spaced, spaced_starts


# Marks that end a sentence of text written without spaces, and what may close one after them.
_CHARACTER_SENTENCE_ENDS = frozenset("。！？!?")
_CHARACTER_CLOSERS = frozenset("”’」』）)】》\"'")


def character_sentence_starts(tokens: list[tuple[str, int, int]], text: str | None = None,
                              spaced: bool = False) -> list[int]:
    """``sentence_starts`` for ``tokenize_characters``'s tokens: after 。！？ (and closing quotes), and at blank
    lines; with ``spaced`` (text with spaces between its words, as Korean is written), also after a full stop
    that whitespace follows."""
    starts = [0] if tokens else []
    ended = False
    lines = text is not None and "\n" in text
    for i, (token, start, end) in enumerate(tokens):
        if i and ((lines and text.count("\n", tokens[i - 1][2], start) > 1)
                  or (ended and token not in _CHARACTER_CLOSERS and token not in _CHARACTER_SENTENCE_ENDS)):
            starts.append(i)
            ended = False
        if token in _CHARACTER_SENTENCE_ENDS or (
                spaced and token == "." and i + 1 < len(tokens) and tokens[i + 1][1] > end):
            ended = True
    return starts


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """Tokens of ``text`` as ``(token, start_char, end_char)``, end exclusive."""
    pattern = _TOKEN_OR_ADDRESS if "@" in text or "://" in text or "www." in text else _TOKEN
    return [(match.group(), match.start(), match.end()) for match in pattern.finditer(text)]


# Full stops and question marks of other scripts too: Devanagari's and Bengali's danda, Arabic's question mark,
# Urdu's full stop.
_SENTENCE_ENDS = frozenset(".!?।॥؟۔") | {"!!", "??", "!!!", "???"}
_CLOSERS = frozenset("\"')]’”")
_OPENERS = frozenset("\"'(‘“")


def sentence_starts(tokens: list[tuple[str, int, int]], text: str | None = None) -> list[int]:
    """Indices of the tokens (as ``tokenize`` gives them) that begin a sentence: 0, then one after each end.

    With the ``text`` they come from, a token after a blank line begins one too:
    a heading or a list item without a full stop ends there. A single line break
    ends nothing, since text is often wrapped mid-sentence.
    """
    starts = [0] if tokens else []
    ended = False
    lines = text is not None and "\n" in text
    for i, (token, start, _) in enumerate(tokens):
        if lines and i and text.count("\n", tokens[i - 1][2], start) > 1:  # only spaces between tokens
            starts.append(i)
            ended = False
        elif ended:
            # A quote or bracket right after the mark closes the sentence; after a space, it opens the next.
            if token in _CLOSERS and start == tokens[i - 1][2]:
                continue
            # A capital begins the next, as does a letter of a script without case (Devanagari, Arabic).
            if (token[0].isalpha() and not token[0].islower()) or token in _OPENERS:
                starts.append(i)
            ended = False
        if token in _SENTENCE_ENDS:
            ended = True
    return starts
