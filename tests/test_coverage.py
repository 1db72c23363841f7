"""Nothing of a document is left out of its chunks or its embedding windows, whatever the text.

Whitespace is the only thing a chunk may skip: it carries nothing to search for.
"""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socrate.encoding import MEMVID_CHAR_LIMIT, chunk_ranges, covering_spans

HEX = "0123456789abcdef"
CJK = "".join(chr(c) for c in range(0x4E00, 0x4E00 + 400))
WORDS = ["the", "harbour", "città", "perché", "Привет", "データ", "naïve", "ﬁnance", "e\u0301t\u0301e"]
ODD = ["\x00", "\u200b", "\u202e", "\ufffd", "\u2028", "\x07", "\u00ad", "\U0001f4c4"]

texts = st.lists(
    st.one_of(
        st.text(HEX, min_size=1, max_size=20_000),  # an unbroken "word": hex dumps, hashes, sequences
        st.text(CJK, min_size=1, max_size=3_000),  # no spaces at all
        st.sampled_from(WORDS),  # mixed scripts, accents, ligatures
        st.sampled_from(ODD),  # what tokenizers drop or read as unknown
        st.text(min_size=1, max_size=50),  # anything
        st.sampled_from([" ", "\n", "\t", "  \n\n"]),
    ),
    min_size=1,
    max_size=60,
).map("".join)


def _uncovered(text: str, spans: list[tuple[int, int]]) -> list[int]:
    covered = bytearray(len(text))
    for start, end in spans:
        covered[start:end] = b"\x01" * (end - start)
    return [i for i, c in enumerate(text) if not covered[i] and not c.isspace()]


def _toy_offsets(text: str) -> list[tuple[int, int]]:
    """A tokenizer with the habits that lost text: a whole run of letters is one token however long,
    control and format characters are skipped."""
    return [
        m.span()
        for m in re.finditer(r"\w+|[^\w\s]", text)
        if not unicodedata.category(text[m.start()]).startswith("C")
    ]


@given(texts, st.integers(2, 1500), st.integers(0, 1499), st.integers(20, 9000))
@settings(max_examples=300, deadline=None)
def test_chunk_ranges_over_covering_spans_leave_nothing_out(text, size, overlap, limit) -> None:
    overlap = min(overlap, size - 1)
    tokens = covering_spans(text, _toy_offsets(text), limit)
    assert all(end - start <= limit for start, end in tokens)
    chunks = [(tokens[a][0], tokens[b - 1][1]) for a, b in chunk_ranges(tokens, size, overlap, limit)]
    assert _uncovered(text, chunks) == []
    assert all(end - start <= limit for start, end in chunks)
    assert len(chunks) <= 2 * len(tokens) + 1  # progress on every step


def test_full_chunks_keep_the_configured_overlap() -> None:
    tokens = [(i, i + 1) for i in range(3000)]
    assert chunk_ranges(tokens, 1200, 200, MEMVID_CHAR_LIMIT) == [(0, 1200), (1000, 2200), (2000, 3000)]
    assert chunk_ranges(tokens[:10], 1200, 200, MEMVID_CHAR_LIMIT) == [(0, 10)]
    assert chunk_ranges([], 1200, 200, MEMVID_CHAR_LIMIT) == []
    with pytest.raises(ValueError):
        chunk_ranges(tokens, 200, 200, MEMVID_CHAR_LIMIT)  # memvid's chunker loops forever here; ours refuses


def test_a_long_word_shortens_chunks_without_dropping_what_follows() -> None:
    text = "a" * 20_000 + " tail words here"
    tokens = covering_spans(text, _toy_offsets(text), MEMVID_CHAR_LIMIT)
    ranges = chunk_ranges(tokens, 1200, 200, MEMVID_CHAR_LIMIT)
    chunks = [text[tokens[a][0] : tokens[b - 1][1]] for a, b in ranges]
    assert [len(c) for c in chunks] == [8000, 8000, 4016] and chunks[-1].endswith("a tail words here")


@pytest.fixture(scope="module")
def encoder():
    from socrate.encoding.factory import get_encoder

    return get_encoder()


@given(texts)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_character_is_in_a_chunk_and_in_one_of_its_windows(encoder, text) -> None:
    """The real tokenizer, as the worker runs it (1200 tokens, 200 overlap)."""
    chunks = encoder.chunk(text, 1200, 200)
    assert _uncovered(text, chunks.spans) == []
    assert [text[a:b] for a, b in chunks.spans] == chunks.texts
    for chunk in chunks.texts:
        assert len(chunk) <= MEMVID_CHAR_LIMIT  # memvid drops longer ones without a word
        assert _uncovered(chunk, encoder.window_spans(chunk)) == []
