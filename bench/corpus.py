"""A generated English + Italian corpus with planted facts ("needles") and a question for each.

Questions name the same things as their needle but are worded differently, as a person would ask.
Half the needles sit near the end of a 1200-token chunk, where memvid's vector (which sees only a
chunk's first ~250 tokens) cannot find them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.docgen import EN, IT

CHUNK_STEP = 1000  # chunk_tokens - chunk_overlap with the default settings
SENTENCES_PER_PARAGRAPH = 6

TEMPLATES = {
    "en": [
        ("The spare key to the {place} is hidden under the {thing}.",
         "Where can I find the extra key for the {place}?"),
        ("{person} was born in the small town of {town} in {year}.",
         "In which town did {person} come into the world?"),
        ("The access code for the alarm of the {place} is {code}.",
         "What code switches off the {place} alarm?"),
        ("Every {weekday} the {place} orders {number} crates of {goods}.",
         "How many crates of {goods} does the {place} buy each week?"),
        ("Our {goods} come by ship from {town}, supplied by {company}.",
         "Which company provides us with {goods}?"),
        ("The yearly meeting of the {club} takes place on {date} at the {place}.",
         "When does the {club} hold its annual gathering?"),
    ],
    "it": [
        ("La chiave di riserva del {place} è nascosta sotto il {thing}.",
         "Dove si trova la chiave di scorta del {place}?"),
        ("{person} è nato nel piccolo paese di {town} nel {year}.",
         "In quale paese è venuto al mondo {person}?"),
        ("Il codice di accesso dell'allarme del {place} è {code}.",
         "Quale codice disattiva l'allarme del {place}?"),
        ("Ogni {weekday} il {place} ordina {number} casse di {goods}.",
         "Quante casse di {goods} compra il {place} ogni settimana?"),
        ("Il nostro {goods} arriva via nave da {town}, fornito da {company}.",
         "Quale azienda ci fornisce il {goods}?"),
        ("L'assemblea annuale del {club} si tiene il {date} presso il {place}.",
         "Quando si riunisce ogni anno il {club}?"),
    ],
}  # fmt: skip
WORDS = {
    "en": {
        "place": ["warehouse", "observatory", "boathouse", "greenhouse", "library", "bakery", "clinic",
                  "chapel", "workshop", "gallery", "laboratory", "hostel", "stable", "pharmacy", "brewery"],
        "thing": ["blue flowerpot", "doormat", "loose brick", "wooden bench", "stone owl", "rain barrel"],
        "goods": ["olive oil", "saffron", "copper wire", "walnuts", "linen", "honey", "marble tiles", "wool"],
        "club": ["chess club", "rowing club", "choir", "astronomy society", "cycling club", "poetry circle"],
        "weekday": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
        "first": ["Alice", "Martin", "Greta", "Oscar", "Nina", "Hugo", "Iris", "Felix", "Clara", "Tobias"],
    },
    "it": {
        "place": ["magazzino", "osservatorio", "laboratorio", "forno", "museo", "convento", "mulino",
                  "rifugio", "teatro", "frantoio", "castello", "porto", "ospedale", "mercato", "faro"],
        "thing": ["vaso blu", "zerbino", "mattone rotto", "gradino di legno", "gufo di pietra", "barile"],
        "goods": ["olio", "zafferano", "rame", "miele", "marmo", "lino", "caffè", "pepe"],
        "club": ["circolo degli scacchi", "coro", "club di canottaggio", "gruppo di astronomia", "circolo"],
        "weekday": ["lunedì", "martedì", "mercoledì", "giovedì", "venerdì"],
        "first": ["Giulia", "Marco", "Chiara", "Luca", "Sofia", "Matteo", "Elena", "Pietro", "Anna", "Dario"],
    },
}  # fmt: skip
SYLLABLES = [
    "val",
    "mor",
    "cas",
    "tel",
    "bri",
    "no",
    "ran",
    "du",
    "lem",
    "ga",
    "ser",
    "vi",
    "ro",
    "ta",
    "pel",
]


@dataclass
class Needle:
    text: str
    question: str
    at_chunk_end: bool


@dataclass
class Doc:
    filename: str
    lang: str
    text: str
    needles: list[Needle] = field(default_factory=list)


def _name(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(parts)).capitalize()


def _needle(rng: random.Random, lang: str, serial: int, at_chunk_end: bool) -> Needle:
    """A fact with names no other needle uses (serial numbers keep them unique)."""
    words = WORDS[lang]
    template, question = TEMPLATES[lang][serial % len(TEMPLATES[lang])]
    slots: dict[str, Any] = {
        "place": f"{rng.choice(words['place'])} {_name(rng, 2)}", "thing": rng.choice(words["thing"]),
        "town": _name(rng, 3),
        "person": f"{rng.choice(words['first'])} {_name(rng, 3)}", "year": rng.randint(1901, 1999),
        "code": f"{_name(rng, 2).upper()}-{rng.randint(10, 99)}", "weekday": rng.choice(words["weekday"]),
        "number": rng.randint(12, 480), "goods": f"{rng.choice(words['goods'])} {_name(rng, 2)}",
        "company": f"{_name(rng, 2)} {'Trading' if lang == 'en' else 'Commercio'}",
        "club": f"{rng.choice(words['club'])} {_name(rng, 2)}",
        "date": f"{rng.randint(2, 28)}/{rng.randint(1, 12)}",
    }  # fmt: skip
    return Needle(template.format(**slots), question.format(**slots), at_chunk_end)


def build(
    count: int, tokens_per_doc: int, needles_per_doc: int, seed: int, token_count: Callable[[str], int]
) -> list[Doc]:
    """``count`` documents alternating English/Italian; ``token_count(text)`` measures model tokens."""
    rng = random.Random(seed)
    sizes = {s: token_count(s) + 1 for s in EN + IT}
    docs, serial = [], 0
    for number in range(count):
        lang = "en" if number % 2 == 0 else "it"
        pool = EN if lang == "en" else IT
        sentences, total = [], 0
        while total < tokens_per_doc:
            sentences.append(rng.choice(pool))
            total += sizes[sentences[-1]]
        chunks = max(1, total // CHUNK_STEP)
        needles = []
        for i in range(needles_per_doc):
            at_end = i % 2 == 0
            needles.append(_needle(rng, lang, serial, at_end))
            serial += 1
        targets = [
            (rng.randrange(chunks) * CHUNK_STEP + rng.randint(820, 940) if n.at_chunk_end
             else rng.randrange(total), n)
            for n in needles
        ]  # fmt: skip
        for target, needle in sorted(targets, key=lambda t: -t[0]):  # last first: earlier offsets stay put
            seen, position = 0, len(sentences)
            for index, sentence in enumerate(sentences):
                if seen >= target:
                    position = index
                    break
                seen += sizes[sentence]
            sentences.insert(position, needle.text)
            sizes.setdefault(needle.text, token_count(needle.text) + 1)
        paragraphs = [
            " ".join(sentences[i : i + SENTENCES_PER_PARAGRAPH])
            for i in range(0, len(sentences), SENTENCES_PER_PARAGRAPH)
        ]
        docs.append(Doc(f"{lang}-{number:03}.txt", lang, "\n\n".join(paragraphs), needles))
    return docs
