"""The OpenAPI 3.1 document of /api/v1, built from the endpoint declarations and their models.

OpenAPI 3.1 schemas are JSON Schema 2020-12, which is what pydantic v2 writes, so each
model's schema goes in unchanged under ``components/schemas``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from zenith.web.api import models
from zenith.web.api.endpoints import Endpoint
from zenith.web.api.errors import STATUSES

API_VERSION = "1.0.0"
REF = "#/components/schemas/{model}"
# what any authenticated operation may answer; the body ones only where there is a body
COMMON_ERRORS = (
    "missing_api_key",
    "invalid_api_key",
    "insufficient_scope",
    "invalid_request",
    "rate_limited",
    "internal_error",
    "unavailable",
)
BODY_ERRORS = ("malformed_json", "body_too_large", "unsupported_media_type")


def _parameters(model, where: str) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", ()))
    return [
        {
            "name": name,
            "in": where,
            "required": where == "path" or name in required,
            "description": prop.get("description", ""),
            "schema": {key: value for key, value in prop.items() if key not in ("title", "description")},
        }
        for name, prop in schema["properties"].items()
    ]


def _error_responses(codes: tuple[str, ...]) -> dict[str, Any]:
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(STATUSES[code], []).append(code)
    return {
        str(status): {
            "description": "Error: " + ", ".join(sorted(names)),
            "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}},
        }
        for status, names in sorted(by_status.items())
    }


def build_openapi(endpoints: tuple[Endpoint, ...], *, server_url: str = "/api/v1") -> dict[str, Any]:
    """The document: every endpoint's parameters, body, answers and the key it needs."""
    pairs: list[tuple[type[BaseModel], JsonSchemaMode]] = [(models.Error, "serialization")]
    pairs += [(e.response, "serialization") for e in endpoints]
    pairs += [(e.body_model, "validation") for e in endpoints if e.body_model is not None]
    refs, definitions = models_json_schema(list(dict.fromkeys(pairs)), ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        codes = COMMON_ERRORS + (BODY_ERRORS if endpoint.body_model else ()) + endpoint.errors
        operation: dict[str, Any] = {
            "operationId": endpoint.operation_id,
            "summary": endpoint.summary,
            "description": f"Needs a key of scope `{endpoint.scope.value}` or above.",
            "security": [{"apiKey": []}],
            "parameters": _parameters(endpoint.path_model, "path") + _parameters(endpoint.query_model, "query"),
            "responses": {
                str(endpoint.status): {
                    "description": "Success",
                    "content": {"application/json": {"schema": refs[(endpoint.response, "serialization")]}},
                },
                **_error_responses(codes),
            },
        }
        if endpoint.body_model is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(endpoint.body_model, "validation")]}},
            }
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ZenithMedia API",
            "version": API_VERSION,
            "description": "Creators' videos, stats and payouts for partners and admin tools. See docs/api.md.",
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer zk_..."}
            },
        },
    }
