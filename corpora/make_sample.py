"""Write the sample corpus in ``corpora/sample/``: made-up news sentences in CoNLL format.

The sentences come from templates filled with names, places, organisations
and miscellaneous entities; test and dev use some names that training never
shows, so a model must generalise from context and characters. The output is
deterministic: ``python corpora/make_sample.py`` rewrites the same files.
Format: two columns (token, IOB2 tag), blank line between sentences,
``-DOCSTART-`` between documents of ten sentences.
"""

from __future__ import annotations

import random
from pathlib import Path

PEOPLE = [
    "Angela Merkel", "John Smith", "Maria Garcia", "Wei Zhang", "Fatima Khan", "Peter Blackburn",
    "Olga Petrova", "James O'Neil", "Anna Novak", "Kofi Mensah", "Laura Rossi", "Hiroshi Tanaka",
    "David Cohen", "Elena Ruiz", "Tom Baker", "Sara Lind", "Ivan Horvat", "Nadia Haddad",
]
NEW_PEOPLE = ["Clara Weiss", "Rahul Mehta", "Jonas Berg", "Amira Said", "Lucas Moreau", "Mei Lin"]
PLACES = [
    "Paris", "Berlin", "Tokyo", "Nairobi", "Lima", "Oslo", "Cairo", "Toronto", "Madrid", "Seoul",
    "New York", "Buenos Aires", "Brussels", "Vienna", "Hanoi", "Lagos", "Germany", "Brazil",
]
NEW_PLACES = ["Dublin", "Quito", "Helsinki", "Accra", "Kyoto", "Lisbon"]
ORGANISATIONS = [
    "Reuters", "United Nations", "European Commission", "Siemens", "Toyota", "World Bank",
    "Red Cross", "Bayern Munich", "Shell", "Nokia", "Bank of Canada", "Interpol",
]
NEW_ORGANISATIONS = ["Volvo", "Atlas Mining Group", "Unicef", "Porto Telecom"]
MISC = ["German", "French", "Japanese", "Olympic", "Brazilian", "Nobel Prize", "World Cup", "Christian"]
NEW_MISC = ["Kenyan", "Italian"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
NUMBERS = ["two", "three", "12", "40", "1,500", "3.5", "1996", "ten"]

TEMPLATES = [
    "{PER} visited {LOC} on {DAY} .",
    "{ORG} said on {DAY} that {PER} would lead the talks in {LOC} .",
    "{PER} , a spokesman for {ORG} , told reporters in {LOC} .",
    "The {MISC} delegation arrived in {LOC} with {NUM} advisers .",
    "{ORG} shares rose {NUM} percent after {PER} spoke .",
    "{PER} met {PER} in {LOC} to discuss the {MISC} proposal .",
    "Officials in {LOC} expect {ORG} to announce {NUM} new jobs .",
    "{PER} won the {MISC} title for {ORG} .",
    "{ORG} and {ORG} signed an agreement in {LOC} on {DAY} .",
    "According to {ORG} , {NUM} people were hurt near {LOC} .",
    "{PER} said the {MISC} market had slowed .",
    "The talks will resume in {LOC} next week , {PER} said .",
    "Police in {LOC} arrested {NUM} men on {DAY} .",
    "{PER} joined {ORG} in {NUM} .",
]


def fill(template: str, rng: random.Random, held_out: bool) -> list[tuple[str, str]]:
    """Tokens and IOB2 tags of one sentence made from ``template``."""
    pools = {
        "PER": PEOPLE + (NEW_PEOPLE if held_out else []),
        "LOC": PLACES + (NEW_PLACES if held_out else []),
        "ORG": ORGANISATIONS + (NEW_ORGANISATIONS if held_out else []),
        "MISC": MISC + (NEW_MISC if held_out else []),
    }
    rows: list[tuple[str, str]] = []
    for word in template.split():
        slot = word.strip("{}") if word.startswith("{") else None
        if slot in pools:
            tokens = rng.choice(pools[slot]).split()
            rows += [(token, f"{'B' if i == 0 else 'I'}-{slot}") for i, token in enumerate(tokens)]
        elif slot == "DAY":
            rows.append((rng.choice(DAYS), "O"))
        elif slot == "NUM":
            rows.append((rng.choice(NUMBERS), "O"))
        else:
            rows.append((word, "O"))
    return rows


def write(path: Path, sentences: int, rng: random.Random, held_out: bool) -> None:
    lines: list[str] = []
    for i in range(sentences):
        if i % 10 == 0:
            lines += ["-DOCSTART- O", ""]
        lines += [f"{token} {tag}" for token, tag in fill(rng.choice(TEMPLATES), rng, held_out)]
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    folder = Path(__file__).parent / "sample"
    folder.mkdir(exist_ok=True)
    rng = random.Random(2003)
    write(folder / "train.conll", 400, rng, held_out=False)
    write(folder / "dev.conll", 100, rng, held_out=True)
    write(folder / "test.conll", 100, rng, held_out=True)


if __name__ == "__main__":
    main()
