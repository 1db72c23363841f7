"""schemathesis against the live API over HTTP (gunicorn, as in production) with a real API key: every
operation, with data the contract allows and data it does not; no answer is a 5xx, every answer's
status, headers and body are as the contract says, and data the contract forbids is refused.

Not checked: that every request the contract allows succeeds. A schema cannot say which bytes are a
readable PDF or which URL is public; those refusals (415, 400) are declared, and tested on their own.

The server's broker is a Redis of its own that no worker listens to, so nothing a generated request
queues (a link to fetch, a webhook to send) ever runs: the run reaches no address but 127.0.0.1.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
import schemathesis
from schemathesis.checks import positive_data_acceptance

from socrate.integrations import openapi
from socrate.ops.embedded_redis import EmbeddedRedis
from tests.web_server import Gunicorn

VALID_KEY = re.compile(r"[ -~]{1,255}")
EXAMPLES = 30  # per operation and mode: a bounded run (about a minute) that still finds what we broke


@pytest.fixture(scope="module")
def live(services, settings, tmp_path_factory) -> Iterator[Gunicorn]:
    folder = tmp_path_factory.mktemp("contract")
    broker = EmbeddedRedis(folder / "redis").start()
    server = Gunicorn({**services, "REDIS_URL": broker.url}, folder / "gunicorn.log").start()
    yield server
    server.stop()
    broker.stop()


@pytest.fixture(scope="module")
def api_key(make_tenant_module) -> str:
    return make_tenant_module("contract").key


# The contract as the server serves it (tests/test_openapi.py checks /api/openapi.json is this document),
# loaded at collection time so that each operation is a test of its own.
schema = schemathesis.openapi.from_dict(openapi.document())
# The same examples every run (a failure reproduces); no made-up query parameters (the API ignores ones
# it does not know, as HTTP APIs do).
schema.config.generation.update(max_examples=EXAMPLES, deterministic=True, allow_extra_parameters=False)


@schema.parametrize()
def test_the_live_api_keeps_its_contract(case, live, api_key) -> None:
    key = (case.headers or {}).get("Idempotency-Key")
    if key is not None and VALID_KEY.fullmatch(key):
        # A client sends a new key for each new request: examples drawn again with the same key and
        # other content are that key's misuse (422), which tests/test_idempotency.py covers.
        case.headers["Idempotency-Key"] = str(uuid.uuid4())
    case.call_and_validate(
        base_url=live.url,
        headers={"Authorization": f"Bearer {api_key}"},
        excluded_checks=[positive_data_acceptance],
    )
