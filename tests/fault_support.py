"""What the fault-injection tests share: a document long enough to strike in, and waiting on its status."""

from __future__ import annotations

import time

from tests import docgen
from tests.conftest import TenantHandle

LONG = docgen.txt("en", count=200)  # ~20 chunks: several seconds of encoding to strike in


def status(client, tenant: TenantHandle, doc_id: str) -> dict:
    response = client.get(f"/api/documents/{doc_id}/status", headers=tenant.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def wait(client, tenant: TenantHandle, doc_id: str, predicate, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = status(client, tenant, doc_id)
        if predicate(body):
            return body
        time.sleep(0.05)
    raise AssertionError(f"timed out; last status {body}")


def is_encoding(body: dict) -> bool:
    return body["message"].endswith(" passages")


def is_final(body: dict) -> bool:
    return body["status"] in ("ready", "failed", "cancelled")
