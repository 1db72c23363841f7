"""The contract describes exactly the API there is: every /api route and method, and nothing else; it is
valid OpenAPI 3.1; every error answer has the {"error"} shape; /api/docs renders it from our own assets."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from socrate.integrations import openapi

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def routes(app) -> set[tuple[str, str]]:
    """(path in OpenAPI's spelling, method) for every /api route the app serves."""
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or rule.rule == "/api":
            path = re.sub(r"<(?:[a-z_]+:)?([a-z_]+)>", r"{\1}", rule.rule)
            found |= {(path, method) for method in rule.methods & METHODS}
    return found


def described() -> set[tuple[str, str]]:
    return {
        (path, method.upper())
        for path, item in openapi.document()["paths"].items()
        for method in item
        if method.upper() in METHODS
    }


def test_the_contract_is_valid_openapi_3_1() -> None:
    spec = openapi.document()
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_every_route_is_described_and_every_description_is_a_route(app) -> None:
    missing, extra = routes(app) - described(), described() - routes(app)
    assert not missing, f"routes the contract does not describe: {sorted(missing)}"
    assert not extra, f"the contract describes routes that do not exist: {sorted(extra)}"


def test_every_error_answer_is_an_error_object_and_authenticated_ones_say_401() -> None:
    spec = openapi.document()
    responses = spec["components"]["responses"]
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method.upper() not in METHODS:
                continue
            codes = operation["responses"]
            if operation.get("security", spec["security"]):
                assert "401" in codes and "429" in codes, (path, method)
            for code, answer in codes.items():
                if int(code) >= 400:
                    body = responses[answer["$ref"].rsplit("/", 1)[1]]["content"]["application/json"]
                    assert body["schema"] == {"$ref": "#/components/schemas/Error"}, (path, method, code)


def test_the_contract_names_every_webhook_event() -> None:
    from socrate.integrations import webhooks

    assert set(openapi.document()["webhooks"]) == {*webhooks.EVENTS, webhooks.TEST}
    enum = openapi.document()["components"]["schemas"]["EventType"]["enum"]
    assert enum == list(webhooks.EVENTS)


def test_openapi_json_is_served_to_anyone(client) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response.get_json() == openapi.document()
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_the_docs_page_uses_only_our_own_assets(client) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.get_data(as_text=True))
    assert sources and all(s.startswith("/") for s in sources), sources
    for source in sources:
        assert client.get(source).status_code == 200, source
    assert "script-src" not in page.headers["Content-Security-Policy"]  # scripts: 'self' only
    assert client.get("/docs-assets/swagger-editor-bundle.js").status_code == 404
