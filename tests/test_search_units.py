"""The pure parts of search: score fusion and cut-offs, snippets and highlights, page ranges."""

from __future__ import annotations

from socrate.processing.extract import Extracted, normalise
from socrate.search import fusion, snippets
from socrate.search.fusion import Candidate, Frequencies, Term

EN, IT = "socrate_english", "socrate_italian"
NO_STATS = Frequencies.from_stats(None, None)


def _term(word: str, **by_config: set[str]) -> Term:
    configs = {"en": EN, "it": IT}
    return Term(word, {configs[name]: frozenset(lexemes) for name, lexemes in by_config.items()})


def test_lexical_score_is_the_share_of_words_found_judged_in_the_passages_language() -> None:
    terms = [_term("launch", en={"launch"}, it={"launch"}), _term("code", en={"code"}, it={"code"}),
             _term("the", it={"the"})]  # fmt: skip
    english = Candidate(1, 0.0, EN, frozenset({"launch"}))
    italian = Candidate(2, 0.0, IT, frozenset({"launch"}))
    assert fusion.lexical(english, terms, NO_STATS) == 0.5  # "the" is an English stop word
    assert round(fusion.lexical(italian, terms, NO_STATS) or 0, 3) == round(1 / 3, 3)


def test_rare_words_weigh_more_than_common_ones() -> None:
    stats = Frequencies.from_stats(["year", "budget"], [0.4, 0.02, 0.02, 0.4])
    terms = [_term("year", en={"year"}), _term("pelican", en={"pelican"})]
    rare = Candidate(1, 0.0, EN, frozenset({"pelican"}))
    common = Candidate(2, 0.0, EN, frozenset({"year"}))
    rare_score, common_score = fusion.lexical(rare, terms, stats), fusion.lexical(common, terms, stats)
    assert rare_score is not None and common_score is not None and rare_score > 0.75 > 0.25 > common_score
    assert stats.share("pelican") == 0.01  # unlisted lexemes are rarer than the rarest listed one
    # In 1,000 chunks "year" is in ~400: too common to fetch candidates by; in 100 chunks it is not.
    assert fusion.candidate_lexemes(terms, stats, chunks=1000) == ["pelican"]
    assert fusion.candidate_lexemes(terms, stats, chunks=100) == ["pelican", "year"]


def test_only_stop_words_leave_meaning_alone() -> None:
    candidate = Candidate(1, 0.42, EN, frozenset())
    assert fusion.fused(candidate, [_term("il", it={"il"})], NO_STATS) == 0.42
    assert fusion.fused(candidate, [], NO_STATS) == 0.42


def test_results_far_below_the_best_or_under_the_floor_are_dropped() -> None:
    scores = {1: 0.8, 2: 0.5, 3: 0.39, 4: 0.1}
    assert fusion.best(scores, k=10) == [(1, 0.8), (2, 0.5)]
    assert fusion.best(scores, k=1) == [(1, 0.8)]
    assert fusion.best({5: 0.2, 6: 0.14}, k=5) == [(5, 0.2)]
    assert fusion.best({}, k=5) == []


def test_marks_become_spans_of_the_clean_text() -> None:
    start, stop = snippets.START, snippets.STOP
    clean, spans = snippets.unmark(f"The {start}launch{stop} {start}code{stop} is here.")
    assert clean == "The launch code is here." and [clean[a:b] for a, b in spans] == ["launch", "code"]


def test_snippet_gathers_the_most_matched_words_and_cuts_at_word_boundaries() -> None:
    filler = "Engineers tested the bridge under heavy load before opening it. " * 12
    text = filler + "The secret launch code for the orbital greenhouse is PELICAN-42. " + filler
    spans = [(text.index(w), text.index(w) + len(w)) for w in ("launch", "code", "greenhouse")]
    spans.insert(0, (text.index("bridge"), text.index("bridge") + 6))  # a lone match elsewhere
    snippet, highlights = snippets.around_matches(text, spans)
    assert "launch code for the orbital greenhouse is PELICAN-42" in snippet
    assert snippet.startswith("…") and snippet.endswith("…") and len(snippet) <= snippets.SNIPPET_CHARS + 2
    assert [snippet[a:b] for a, b in highlights] == ["launch", "code", "greenhouse"]
    inner = snippet.strip("…")
    assert inner.split()[0] in text.split() and inner.split()[-1] in text.split()  # whole words only


def test_snippet_of_a_short_passage_is_the_passage() -> None:
    text = "Short passage about sourdough."
    assert snippets.around_matches(text, [(20, 29)]) == (text, [(20, 29)])
    assert snippets.around(text, 0, len(text)) == text


def test_page_range_of_a_span() -> None:
    extracted = Extracted(text="one\n\ntwo\n\nfour", pages=4, page_starts=[(0, 1), (5, 2), (10, 4)])
    assert extracted.page_range(0, 3) == (1, 1)
    assert extracted.page_range(2, 8) == (1, 2)
    assert extracted.page_range(5, 14) == (2, 4)
    assert Extracted(text="plain", pages=None).page_range(0, 5) == (None, None)


def test_normalise_removes_the_highlight_marks() -> None:
    assert normalise(f"a{snippets.START}b{snippets.STOP}c") == "abc"


def test_chat_answers_list_the_sources_their_markers_name_within_telegrams_limit() -> None:
    from bot.replies import TELEGRAM_TEXT_LIMIT, answer_final
    from socrate.search.ask import Citation, Done

    def cite(n: int, name: str, start: int | None, end: int | None) -> Citation:
        return Citation(n, "d", name, start, end, 0, "snippet", name)

    cited = [cite(1, "report.pdf", 3, 4), cite(2, "one.pdf", 7, 7), cite(3, "notes.txt", None, None)]
    done = Done("Notice is 30 days [1][3].", "llm", "m", None, None, None, 1.0)
    text = answer_final(done, cited)
    assert text == "💬 Notice is 30 days [1][3].\n\n📚 Sources:\n[1] report.pdf p. 3–4\n[3] notes.txt"
    failed = Done("x " * 5000 + "[2]", "passages", None, None, "The model is busy (HTTP 429)", None, 1.0)
    text = answer_final(failed, cited)
    assert len(text.encode("utf-16-le")) // 2 <= TELEGRAM_TEXT_LIMIT  # Telegram counts UTF-16 units
    assert text.endswith("x…\n\n⚠️ The model is busy (HTTP 429).\n\n📚 Sources:\n[2] one.pdf p. 7")


def test_the_web_process_embeds_questions_exactly_as_the_worker_embeds_text() -> None:
    """The traced model that answers questions gives the model's own vectors, whatever their length
    (a drift would silently move every question away from the windows the worker stored)."""
    import numpy as np

    from socrate.encoding import embedding

    embedder = embedding.get_embedder()
    embedder.trace_for_queries()  # what preload() does in the web process and the bot
    assert embedder._traced is not None
    questions = ["x", "Dove tiene la catena dell'ancora?", "How many crates of oil a week? " * 20]
    for question, stored in zip(questions, embedder.embed(questions), strict=True):
        assert float(np.dot(embedder.embed_query(question), stored)) > 0.99999
