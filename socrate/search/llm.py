"""The language model behind Ask: any OpenAI-compatible Chat Completions endpoint, through the official
``openai`` SDK (OpenAI, OpenRouter, Ollama, vLLM, a llama.cpp server, Anthropic's compatible endpoint).

``stream`` yields the answer's text deltas and then its ``Usage``. A failure before the first token is
retried (twice, quickly: 429, 5xx, a refused connection; a timeout is not worth waiting for again);
any failure becomes ``ModelUnavailable`` with a reason people can read, and the caller falls back to
the passages. Closing the generator (the client went away) closes the upstream response at once.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from functools import lru_cache
from typing import cast

import httpx
import openai
from openai.types.chat import ChatCompletionMessageParam

from socrate import logs
from socrate.search.usage import Usage, estimated

log = logging.getLogger(__name__)

RETRIES = 2
BACKOFF_SECONDS = (0.3, 1.0)
BROKE_OFF = "The model's answer broke off"


class ModelUnavailable(Exception):
    """The model gave no (complete) answer; ``reason`` is safe to show."""

    def __init__(self, reason: str, started: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.started = started


@lru_cache(maxsize=4)
def client(base_url: str, api_key: str, timeout: float) -> openai.OpenAI:
    """One client (and connection pool) per process and endpoint; the SDK's own retries are off."""
    return openai.OpenAI(base_url=base_url, api_key=api_key or "none", timeout=timeout, max_retries=0)


os.register_at_fork(after_in_child=client.cache_clear)  # connections are not shared across a fork


def stream(
    api: openai.OpenAI, model: str, messages: list[dict[str, str]], max_tokens: int
) -> Iterator[str | Usage]:
    """Text deltas, then one Usage (the provider's, or estimated from the text when it sends none)."""
    for attempt in range(RETRIES + 1):
        started, text = False, []
        try:
            response = api.chat.completions.create(
                model=model,
                messages=cast("list[ChatCompletionMessageParam]", messages),
                max_tokens=max_tokens,
                temperature=0.2,
                stream=True,
                stream_options={"include_usage": True},
            )
            with response:
                usage: Usage | None = None
                finished = False
                for chunk in response:
                    if chunk.usage is not None:
                        usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                    for choice in chunk.choices:
                        finished = finished or choice.finish_reason is not None
                        if choice.delta is not None and choice.delta.content:
                            started = True
                            text.append(choice.delta.content)
                            yield choice.delta.content
            if not finished:  # the connection ended before the model said it was done
                raise ModelUnavailable(BROKE_OFF, started)
            if not started:
                raise ModelUnavailable("The model sent an empty answer", started=False)
            yield usage or estimated(messages, text)
            return
        except ModelUnavailable:
            raise
        except (openai.OpenAIError, httpx.HTTPError, ValueError) as exc:
            reason, retryable = _explain(exc, started)
            log.warning("model call failed", extra=logs.fields(reason=reason, attempt=attempt + 1))
            if started or not retryable or attempt == RETRIES:
                raise ModelUnavailable(reason, started) from exc
            time.sleep(BACKOFF_SECONDS[attempt])
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _explain(exc: Exception, started: bool) -> tuple[str, bool]:
    """(reason, worth retrying) for a failed call."""
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        return "The model did not answer in time", False
    if isinstance(exc, openai.APIConnectionError) and not started:
        return "The model could not be reached", True
    if isinstance(exc, openai.RateLimitError):
        return "The model is busy (HTTP 429)", True
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code >= 500:
            return f"The model failed (HTTP {exc.status_code})", True
        return f"The model refused the request (HTTP {exc.status_code})", False
    return BROKE_OFF, not started
