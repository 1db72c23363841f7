"""The API's contract: the hand-written OpenAPI 3.1 document beside this module, loaded once.

tests/test_openapi.py fails when a route under /api is missing from it or it describes one that does
not exist; tests/test_contract.py runs schemathesis against the live API with it.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, cast

import yaml

SPEC = Path(__file__).with_name("openapi.yaml")


@functools.cache
def document() -> dict[str, Any]:
    return cast("dict[str, Any]", yaml.safe_load(SPEC.read_text()))
