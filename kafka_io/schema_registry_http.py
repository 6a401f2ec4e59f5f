"""The Confluent schema registry's REST endpoints (those serializers and deserializers use),
served on the service's one port by `table_api/registry.py`'s `KafkaSchemaRegistry`."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kafka_io.schema_registry import (
    COMPATIBILITY,
    CONTENT_TYPE,
    SCHEMA_TYPES,
    BadRequestException,
    InvalidSchemaException,
    KafkaSchemaRegistry,
    RegistryError,
    RegistryUnavailableException,
    SchemaNotFoundException,
)

log = logging.getLogger("cdc_bridge.registry")


# -- the Confluent REST endpoints ---------------------------------------------------------------


def registry_router(get_registry: Callable[[], KafkaSchemaRegistry | None]) -> APIRouter:
    """Confluent's REST API for what serializers and deserializers use. `get_registry()` is None
    while the registry starts: every request then gets 503 / 50003."""
    router = APIRouter()

    def registry() -> KafkaSchemaRegistry:
        found = get_registry()
        if found is None:
            raise RegistryUnavailableException("The schema registry is not ready yet")
        return found

    @router.get("/subjects")
    async def subjects() -> Response:
        return _respond(lambda: registry().subjects())

    @router.get("/subjects/{subject}/versions")
    async def versions(subject: str) -> Response:
        return _respond(lambda: registry().versions(subject))

    @router.get("/subjects/{subject}/versions/{version}")
    async def version(subject: str, version: str) -> Response:
        return _respond(lambda: registry().version(subject, version))

    @router.get("/subjects/{subject}/versions/{version}/schema")
    async def version_schema(subject: str, version: str) -> Response:
        return _respond(lambda: registry().version(subject, version)["schema"], raw=True)

    @router.post("/subjects/{subject}/versions")
    async def register(subject: str, request: Request) -> Response:
        try:
            schema_str, schema_type = _schema_request(await request.body())
            schema_id = await asyncio.to_thread(registry().register, subject, schema_str, schema_type)
        except Exception as exc:
            return _error(exc)
        return _respond(lambda: {"id": schema_id})

    @router.post("/subjects/{subject}")
    async def lookup(subject: str, request: Request) -> Response:
        body = await request.body()
        return _respond(lambda: registry().lookup(subject, *_schema_request(body)))

    @router.get("/schemas/ids/{schema_id}")
    async def schema(schema_id: str) -> Response:
        return _respond(lambda: {"schema": registry().schema(_schema_id(schema_id))})

    @router.get("/schemas/ids/{schema_id}/versions")
    async def schema_versions(schema_id: str) -> Response:
        return _respond(lambda: registry().id_versions(_schema_id(schema_id)))

    @router.get("/schemas/ids/{schema_id}/subjects")
    async def schema_subjects(schema_id: str) -> Response:
        return _respond(lambda: [v["subject"] for v in registry().id_versions(_schema_id(schema_id))])

    @router.get("/schemas/types")
    async def schema_types() -> Response:
        return _respond(lambda: list(SCHEMA_TYPES))

    @router.get("/config")
    @router.get("/config/{subject}")
    async def config(subject: str | None = None) -> Response:
        return _respond(lambda: {"compatibilityLevel": COMPATIBILITY})

    return router


def _schema_request(body: bytes) -> tuple[str, str]:
    """(schema, schemaType) of a register or lookup request body."""
    try:
        request = json.loads(body)
    except ValueError as exc:
        raise BadRequestException(f"Unrecognized request body: {exc}") from None
    if not isinstance(request, dict) or not isinstance(request.get("schema"), str) or not request["schema"]:
        raise InvalidSchemaException("Invalid schema: the request has no schema")
    if request.get("references"):
        raise InvalidSchemaException("Invalid schema: schema references are not supported")
    return request["schema"], request.get("schemaType") or "AVRO"


def _schema_id(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise SchemaNotFoundException(f"Schema {text} not found.") from None


def _respond(work: Callable[[], Any], raw: bool = False) -> Response:
    try:
        result = work()
    except Exception as exc:
        return _error(exc)
    content = result if raw else json.dumps(result)
    return Response(content, media_type=CONTENT_TYPE)


def _error(exc: Exception) -> Response:
    if not isinstance(exc, RegistryError):
        log.exception("schema registry error", exc_info=exc)
        exc = RegistryError("Error in the backend data store")
    return Response(json.dumps(exc.body()), status_code=exc.status, media_type=CONTENT_TYPE)
