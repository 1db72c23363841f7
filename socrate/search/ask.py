"""Ask: answer a question from the tenant's ready documents, citing the passages the answer uses.

Retrieval is search's (the same passages, the same tenant scoping). With LLM_BASE_URL set the model
writes the answer from the numbered passages (search/prompt.py, search/llm.py); without it, or when the
model fails, the answer is the best passage's most relevant sentences (search/extractive.py), cited [1].
``prepare`` does everything that can refuse a question (validation, scope, the daily token budget,
retrieval), so adapters answer 4xx before they start streaming; ``Asked.events`` then yields
``Citations`` (at once), ``Token``s (text deltas) and ``Done`` (the final answer, which is
authoritative: after a model that broke off mid-answer it is the passages' answer with a warning).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from socrate import logs
from socrate.context import Context
from socrate.errors import BadRequest
from socrate.search import citations, extractive, llm, prompt, usage
from socrate.search.service import MAX_QUERY_CHARS, Hit, search
from socrate.search.usage import Usage

log = logging.getLogger(__name__)

DEFAULT_K = 5
MAX_K = 10
NOT_FOUND = "I could not find this in your documents."
FALLBACK = "{reason}; the answer is the best passage instead"


@dataclass(frozen=True)
class Citation:
    n: int
    document_id: str
    filename: str
    page_start: int | None
    page_end: int | None
    chunk_index: int
    snippet: str
    source: str  # "report.pdf · p. 12–13"


@dataclass(frozen=True)
class Citations:
    citations: list[Citation]
    mode: str  # what is about to answer: "llm" or "passages"
    model: str | None


@dataclass(frozen=True)
class Token:
    text: str


@dataclass(frozen=True)
class Done:
    answer: str
    mode: str  # what did answer: "llm", or "passages" (offline, nothing found, or the model failed)
    model: str | None
    usage: Usage | None
    warning: str | None
    message: str | None  # search's note, e.g. "This document is not ready to search yet"
    took_ms: float


Event = Citations | Token | Done


def validate(question: object, k: object) -> tuple[str, int]:
    """The question (trimmed) and k, or BadRequest saying what is wrong."""
    if not isinstance(question, str) or not question.strip():
        raise BadRequest('The question is empty: send {"question": "..."}')
    question = question.strip()
    if len(question) > MAX_QUERY_CHARS:
        raise BadRequest(f"The question is too long (at most {MAX_QUERY_CHARS} characters)")
    if "\x00" in question:
        raise BadRequest("The question contains a NUL character")
    if k is None:
        k = DEFAULT_K
    if isinstance(k, float) and k.is_integer():
        k = int(k)  # JSON does not tell 5 from 5.0
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise BadRequest(f"k must be an integer between 1 and {MAX_K}")
    return question, k


@dataclass
class Asked:
    """A question whose passages are found; ``events`` answers it."""

    ctx: Context
    tenant_id: str
    question: str
    hits: list[Hit]
    message: str | None
    started: float

    @property
    def uses_model(self) -> bool:
        return bool(self.ctx.settings.llm_base_url and self.hits)

    def events(self) -> Iterator[Event]:
        settings = self.ctx.settings
        model = settings.llm_model if self.uses_model else None
        cited = [self._citation(n, hit) for n, hit in self._numbered()]
        yield Citations(cited, "llm" if self.uses_model else "passages", model)
        if not self.hits:
            yield self._done(NOT_FOUND, "passages", None, None, None)
        elif not self.uses_model:
            answer = self._from_passages()
            yield Token(answer)
            yield self._done(answer, "passages", None, None, None)
        else:
            yield from self._from_model(settings.llm_model)

    def collect(self) -> dict[str, Any]:
        """The whole answer as one JSON-ready dict (the API without streaming)."""
        cited: list[Citation] = []
        done: Done | None = None
        for event in self.events():
            if isinstance(event, Citations):
                cited = event.citations
            elif isinstance(event, Done):
                done = event
        assert done is not None
        return answer_body(done, cited)

    def _from_model(self, model: str) -> Iterator[Event]:
        settings = self.ctx.settings
        passages = [
            prompt.Passage(n, h.filename, h.page_start, h.page_end, h.text) for n, h in self._numbered()
        ]
        messages = prompt.messages(self.question, passages)
        api = llm.client(settings.llm_base_url, settings.llm_api_key, settings.llm_timeout_seconds)
        marks = citations.Filter(len(self.hits))
        parts: list[str] = []
        spent: Usage | None = None
        try:
            for item in llm.stream(api, model, messages, settings.llm_max_tokens):
                if isinstance(item, Usage):
                    spent = item
                elif text := marks.feed(item):
                    parts.append(text)
                    yield Token(text)
            if tail := marks.flush():
                parts.append(tail)
                yield Token(tail)
        except llm.ModelUnavailable as exc:
            answer = self._from_passages()
            if not exc.started:
                yield Token(answer)
            yield self._done(answer, "passages", model, spent, FALLBACK.format(reason=exc.reason))
        else:
            yield self._done("".join(parts).strip(), "llm", model, spent, None)
        finally:
            if spent is None and parts:  # the client left, or the stream broke: count what was spent
                spent = usage.estimated(messages, parts)
            if spent is not None:
                with self.ctx.sessions() as session:
                    usage.record(session, self.tenant_id, spent)
                    session.commit()

    def _from_passages(self) -> str:
        best = self.hits[0]
        sentences = extractive.answer(self.question, best.text)
        return (sentences or best.snippet.strip("… ")) + " [1]"

    def _done(
        self, answer: str, mode: str, model: str | None, spent: Usage | None, warning: str | None
    ) -> Done:
        took_ms = round((time.perf_counter() - self.started) * 1000, 1)
        tokens = (spent.prompt_tokens, spent.completion_tokens) if spent else (0, 0)
        log.info(
            "answered",
            extra=logs.fields(
                tenant_id=self.tenant_id,
                mode=mode,
                passages=len(self.hits),
                took_ms=took_ms,
                prompt_tokens=tokens[0],
                completion_tokens=tokens[1],
                warning=warning,
            ),
        )
        return Done(answer, mode, model, spent, warning, self.message, took_ms)

    def _numbered(self) -> list[tuple[int, Hit]]:
        return list(enumerate(self.hits, 1))

    @staticmethod
    def _citation(n: int, hit: Hit) -> Citation:
        pages = (hit.page_start, hit.page_end)
        return Citation(n, hit.document_id, hit.filename, *pages, hit.chunk_index, hit.snippet, hit.source)


def prepare(
    ctx: Context, tenant_id: str, question: object, *, document_id: str | None = None, k: object = None
) -> Asked:
    """Validate, check the tenant's daily token budget, and find the passages; refusals raise here."""
    started = time.perf_counter()
    text, count = validate(question, k)
    if ctx.settings.llm_base_url:
        with ctx.sessions() as session:
            usage.check_budget(session, tenant_id, ctx.settings.llm_tenant_daily_tokens)
    found = search(ctx, tenant_id, text, k=count, document_id=document_id)
    return Asked(ctx, tenant_id, text, found.results, found.message, started)


def answer_body(done: Done, cited: list[Citation]) -> dict[str, Any]:
    """The JSON of an answer: what the API returns, and the SSE ``done`` event plus citations."""
    body: dict[str, Any] = {
        "answer": done.answer,
        "citations": [asdict(c) for c in cited],
        "mode": done.mode,
        "model": done.model,
        "took_ms": done.took_ms,
        "usage": None if done.usage is None else done.usage.as_json(),
    }
    if done.warning:
        body["warning"] = done.warning
    if done.message:
        body["message"] = done.message
    return body
