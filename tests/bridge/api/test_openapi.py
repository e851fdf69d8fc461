"""The OpenAPI document matches the router both ways, and real responses match its schemas."""

from __future__ import annotations

from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs; only validate() is used
import pytest
from aiohttp import hdrs

from tests.bridge.helpers import BridgeClient, api_call, example, get_alerts, post_payload

DOC = "/api/v1/openapi.json"


async def document(client: BridgeClient) -> dict[str, Any]:
    async with client.get(DOC) as response:  # no token: the document is public
        assert response.status == 200
        body: dict[str, Any] = await response.json()
        return body


def validate(doc: dict[str, Any], path: str, method: str, status: int, body: Any) -> None:
    """Validate ``body`` against the document's schema for that response."""
    response = doc["paths"][path][method]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    # The whole document as the root, so "#/components/schemas/..." references resolve.
    jsonschema.validate(body, {**doc, **schema})


async def test_every_route_is_documented_and_every_documented_route_exists(
    client: BridgeClient,
) -> None:
    doc = await document(client)
    assert doc["openapi"].startswith("3.1")
    routed = {
        (route.method.lower(), route.resource.canonical)
        for route in client.app.router.routes()
        if route.resource is not None and route.method != hdrs.METH_HEAD
    }
    documented = {(method, path) for path, ops in doc["paths"].items() for method in ops}
    assert routed == documented


async def test_the_document_is_valid_openapi_shaped(client: BridgeClient) -> None:
    doc = await document(client)
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            assert operation["responses"], f"{method} {path} documents no response"
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    assert "{" + parameter["name"] + "}" in path
    for name, schema in doc["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema)
        assert name[0].isupper()


@pytest.mark.parametrize("action", ["ack", "resolve", "suppress"])
async def test_responses_validate_against_the_document(client: BridgeClient, action: str) -> None:
    doc = await document(client)
    await post_payload(client, example("kong-admin-api-firing"))
    [alert] = await get_alerts(client)
    one = "/api/v1/alerts/{id}"

    status, listed = await api_call(client, "GET", "/api/v1/alerts?status=open")
    validate(doc, "/api/v1/alerts", "get", status, listed)
    status, detail = await api_call(client, "GET", f"/api/v1/alerts/{alert['id']}")
    validate(doc, one, "get", status, detail)
    status, missing = await api_call(client, "GET", "/api/v1/alerts/424242")
    validate(doc, one, "get", status, missing)
    url = f"/api/v1/alerts/{alert['id']}/{action}"
    status, changed = await api_call(client, "POST", url, {"by": "alice", "comment": "c"})
    validate(doc, f"{one}/{action}", "post", status, changed)
    status, conflict = await api_call(client, "POST", url, {"by": "alice"})
    assert status == 409
    validate(doc, f"{one}/{action}", "post", status, conflict)
    status, detail = await api_call(client, "GET", f"/api/v1/alerts/{alert['id']}")
    validate(doc, one, "get", status, detail)
    status, bad = await api_call(client, "GET", "/api/v1/alerts?status=firing")
    validate(doc, "/api/v1/alerts", "get", status, bad)
