"""The OpenAPI 3.1 document of the bridge, served at ``/api/v1/openapi.json`` without auth.

Schemas come from the pydantic models in :mod:`bridge.api.models`; operations are listed here
by hand, and a test checks that they match the app's router both ways.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from bridge.api import models

_REF = "#/components/schemas/{model}"
_TEXT = "text/plain"
_JSON = "application/json"


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    responses: dict[int, tuple[str, type[BaseModel] | str | None]]
    auth: str | None = "apiToken"
    body: type[BaseModel] | None = None
    parameters: list[dict[str, Any]] = field(default_factory=list)


def _param(name: str, where: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": schema or {"type": "string"},
    }


_ID = _param("id", "path", "alert id", type="integer")
_AUTH_ERRORS: dict[int, tuple[str, type[BaseModel] | str | None]] = {
    401: ("missing or wrong API token", models.Error),
    503: ("the alert store is unavailable; retry", models.Error),
}
_ACTION_ERRORS: dict[int, tuple[str, type[BaseModel] | str | None]] = {
    400: ("invalid body", models.Error),
    404: ("no such alert", models.Error),
    409: ("the alert's status does not allow this action", models.Error),
    **_AUTH_ERRORS,
}

OPERATIONS: tuple[Operation, ...] = (
    Operation("get", "/-/healthy", "the process serves HTTP", {200: ("healthy", _TEXT)}, None),
    Operation(
        "get",
        "/-/ready",
        "the bridge can store alerts now",
        {200: ("ready", _TEXT), 503: ("store unavailable", _TEXT)},
        None,
    ),
    Operation("get", "/metrics", "Prometheus metrics", {200: ("exposition", _TEXT)}, None),
    Operation(
        "get",
        "/api/v1/openapi.json",
        "this document",
        {200: ("OpenAPI 3.1 document", "application/json")},
        None,
    ),
    Operation(
        "post",
        "/api/v1/alertmanager",
        "Alertmanager webhook (payload version 4); 2xx only once stored",
        {
            200: ("stored", "application/json"),
            400: ("not a v4 payload (never retried)", models.Error),
            401: ("bad credentials", models.Error),
            413: ("body too large", models.Error),
            503: ("store unavailable: Alertmanager retries", models.Error),
        },
        "webhookAuth",
    ),
    Operation(
        "get",
        "/api/v1/alerts",
        "alert instances, newest first",
        {
            200: ("a page of alerts", models.AlertList),
            400: ("bad query", models.Error),
            **_AUTH_ERRORS,
        },
        parameters=[
            _param(
                "status",
                "query",
                "lifecycle status",
                enum=["open", "acknowledged", "resolved", "suppressed"],
            ),
            _param("severity", "query", "final severity"),
            _param("rule_id", "query", "detection rule id"),
            _param("asset", "query", "asset id"),
            _param(
                "since",
                "query",
                "created at or after (RFC 3339)",
                type="string",
                format="date-time",
            ),
            _param("limit", "query", "page size", type="integer", minimum=1, maximum=1000),
            _param("cursor", "query", "next_cursor of the previous page"),
        ],
    ),
    Operation(
        "get",
        "/api/v1/alerts/{id}",
        "one alert with classification reasons, duplicates, occurrences and timeline",
        {
            200: ("the alert", models.AlertDetail),
            404: ("no such alert", models.Error),
            **_AUTH_ERRORS,
        },
        parameters=[_ID],
    ),
    Operation(
        "post",
        "/api/v1/alerts/{id}/ack",
        "acknowledge an open alert",
        {200: ("acknowledged", models.Alert), **_ACTION_ERRORS},
        body=models.Action,
        parameters=[_ID],
    ),
    Operation(
        "post",
        "/api/v1/alerts/{id}/resolve",
        "resolve an open or acknowledged alert",
        {200: ("resolved", models.Alert), **_ACTION_ERRORS},
        body=models.Action,
        parameters=[_ID],
    ),
    Operation(
        "post",
        "/api/v1/alerts/{id}/suppress",
        "suppress an alert, optionally with an Alertmanager silence",
        {
            200: ("suppressed", models.Alert),
            502: ("Alertmanager refused the silence", models.Error),
            **_ACTION_ERRORS,
        },
        body=models.Suppress,
        parameters=[_ID],
    ),
    Operation(
        "get",
        "/api/v1/alerts/{id}/notifications",
        "the delivery log of an alert: every attempt per channel (outcome, status, latency)",
        {200: ("delivery attempts", _JSON), 404: ("no such alert", models.Error), **_AUTH_ERRORS},
        parameters=[_ID],
    ),
    Operation(
        "post",
        "/api/v1/slack/interactions",
        "Slack Acknowledge/Resolve clicks; X-Slack-Signature verified before anything else",
        {
            200: ("handled (the message is updated in the background)", _JSON),
            400: ("not a block_actions payload", models.Error),
            401: ("missing, wrong, stale or replayed signature: nothing changed", models.Error),
            503: ("the alert store is unavailable; retry", models.Error),
        },
        "slackSignature",
    ),
    Operation(
        "get",
        "/api/v1/dead-letters",
        "deliveries that failed for good, oldest first",
        {200: ("dead letters", _JSON), 400: ("bad query", models.Error), **_AUTH_ERRORS},
        parameters=[
            _param("channel", "query", "only this channel"),
            _param("limit", "query", "at most", type="integer", minimum=1, maximum=1000),
        ],
    ),
    Operation(
        "post",
        "/api/v1/dead-letters/{id}/replay",
        "take a dead letter and deliver it again in the background",
        {
            202: ("queued", _JSON),
            404: ("no such dead letter", models.Error),
            409: ("its channel is no longer configured; the letter is kept", models.Error),
            **_AUTH_ERRORS,
        },
        parameters=[_param("id", "path", "dead letter id")],
    ),
)

SCHEMA_MODELS: tuple[type[BaseModel], ...] = (
    models.Error,
    models.Alert,
    models.AlertList,
    models.AlertDetail,
    models.Action,
    models.Suppress,
)


def _content(kind: type[BaseModel] | str | None) -> dict[str, Any] | None:
    if kind is None:
        return None
    if isinstance(kind, str):
        return {kind: {"schema": {"type": "string"} if kind == _TEXT else {"type": "object"}}}
    return {"application/json": {"schema": {"$ref": _REF.format(model=kind.__name__)}}}


def _operation(op: Operation) -> dict[str, Any]:
    out: dict[str, Any] = {"summary": op.summary, "operationId": f"{op.method} {op.path}"}
    out["security"] = [{op.auth: []}] if op.auth else []
    if op.parameters:
        out["parameters"] = op.parameters
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": _content(op.body)}
    out["responses"] = {}
    for code, (description, kind) in sorted(op.responses.items()):
        response: dict[str, Any] = {"description": description}
        if (content := _content(kind)) is not None:
            response["content"] = content
        out["responses"][str(code)] = response
    return out


@cache
def openapi_document() -> dict[str, Any]:
    _, schemas = models_json_schema(
        [(model, "serialization") for model in SCHEMA_MODELS], ref_template=_REF
    )
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "secmon bridge",
            "version": "1",
            "description": "Alertmanager webhook receiver and alert lifecycle API of secmon.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {
                "apiToken": {"type": "http", "scheme": "bearer"},
                "webhookAuth": {"type": "http", "scheme": "bearer"},
                "slackSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Slack-Signature",
                    "description": "v0 HMAC-SHA256 of v0:{X-Slack-Request-Timestamp}:{body}",
                },
            },
        },
    }


async def serve_openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())
