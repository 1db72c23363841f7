"""The dashboard's Ask box with a model behind it, in headless Chromium: the answer streams in, its [n]
chips open the cited passage, and a failing model leaves the passages' answer with a warning."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests import docgen
from tests import test_dashboard_browser as dashboard
from tests.fake_llm import FakeLLM
from tests.test_dashboard_browser import sign_up
from tests.test_search_browser import NEEDLE, QUESTION, ask_for, upload_and_wait

browser, page = dashboard.browser, dashboard.page  # the same fixtures, on the app below


@pytest.fixture(scope="module")
def base_url(settings, celery_app, fake_llm: FakeLLM) -> Iterator[str]:
    """The dashboard with LLM_BASE_URL pointing at the fake model, on a real HTTP port."""
    from socrate.taskqueue import TaskQueue
    from socrate.web import create_app

    llm = settings.with_(llm_base_url=fake_llm.url, llm_timeout_seconds=2.0)
    with dashboard.serve(create_app(llm, queue=TaskQueue(celery_app))) as url:
        yield url


def test_the_answer_streams_in_with_chips_that_open_their_passages(
    page: Page, worker, fake_llm: FakeLLM, tmp_path
) -> None:
    sign_up(page)
    upload_and_wait(page, "orbit.txt", docgen.txt("en", count=3, needle=NEEDLE))
    reply = "The hatch word is PELICAN-42 [1]. " + "It opens the aviary door. " * 12
    fake_llm.reset(reply=reply.strip(), token_delay=0.08)  # about 6 s of tokens
    ask_for(page, QUESTION)
    answer, status = page.locator("#answer-text"), page.locator("#search-status")
    expect(status).to_have_text("Writing the answer…")
    expect(answer).to_contain_text("The hatch word is PELICAN-42")
    expect(status).to_have_text("Writing the answer…")  # still streaming: the text came in before the end
    expect(status).to_have_text(re.compile(r"^Answered by gpt-4o-mini from \d+ passages? \(\d+ ms\)\.$"))
    expect(answer).to_have_text(reply.strip())
    page.screenshot(path=tmp_path / "answer.png", full_page=True)
    page.get_by_role("button", name="Source 1: orbit.txt").click()
    expect(page.locator("#citation-text")).to_contain_text("PELICAN-42")
    page.locator("#citation").get_by_role("button", name="Close").click()

    fake_llm.reset(status=503)
    ask_for(page, QUESTION)
    expect(page.locator("#answer-warning")).to_have_text(
        "The model failed (HTTP 503); the answer is the best passage instead."
    )
    expect(answer).to_contain_text("PELICAN-42")
    expect(page.get_by_role("button", name="Source 1: orbit.txt")).to_be_visible()
