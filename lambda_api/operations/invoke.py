"""Invoke: RequestResponse (wait for the function's answer or error), Event (run it in the
background, answer 202 at once) and DryRun (check, run nothing: 204)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging

import orjson

from lambda_api.context import LambdaContext
from lambda_api.errors import InvalidRequestContentException, RequestTooLargeException
from lambda_api.operations.service import SERVICE, find

log = logging.getLogger("cdc_bridge.lambda")

MAX_SYNC_PAYLOAD = 6_291_456  # Lambda's 6 MB request quota
MAX_EVENT_PAYLOAD = 1_048_576  # asynchronous invocations: 1 MB (256 KB before October 2025)


@SERVICE.operation("Invoke")
async def invoke(ctx: LambdaContext, req: dict) -> dict:
    function = find(ctx, req["FunctionName"], req.get("Qualifier"))
    kind = req.get("InvocationType", "RequestResponse")
    payload = checked_payload(req.get("Payload") or b"", kind)
    if kind == "DryRun":
        return {"StatusCode": 204}
    spec = ctx.spec(function)
    client_context = decoded_client_context(req.get("ClientContext"))
    if kind == "Event":
        future = await asyncio.to_thread(ctx.runner.submit, spec, payload, client_context)
        future.add_done_callback(report_failure)
        return {"StatusCode": 202}
    outcome = await ctx.runner.invoke_async(spec, payload, client_context)
    result = {"StatusCode": 200, "Payload": outcome.payload, "ExecutedVersion": outcome.executed_version}
    if outcome.function_error:
        result["FunctionError"] = outcome.function_error
    if req.get("LogType") == "Tail":
        result["LogResult"] = base64.b64encode(outcome.log_tail).decode()
    return result


def checked_payload(payload: bytes, kind: str) -> bytes:
    limit, operation = (MAX_EVENT_PAYLOAD, "InvokeAsync") if kind == "Event" else (MAX_SYNC_PAYLOAD, "InvokeFunction")
    if len(payload) > limit:
        raise RequestTooLargeException(f"Request must be smaller than {limit} bytes for the {operation} operation")
    if not payload.strip():
        return b"{}"  # no payload: the handler gets an empty object, as on Lambda
    try:
        orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequestContentException(
            f"Could not parse request body into json: Could not parse payload into json: {exc}") from None
    return payload


def decoded_client_context(header: str | None):
    if header is None:
        return None
    try:
        return orjson.loads(base64.b64decode(header, validate=True))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise InvalidRequestContentException("Client context must be a valid Base64-encoded JSON object.") from None


def report_failure(future) -> None:
    """An Event invocation's failure is only in the function's log, as on Lambda without a destination."""
    outcome = future.result()
    if outcome.function_error:
        log.info("event invocation failed", extra={"request_id": outcome.request_id,
                                                   "error_type": outcome.error_type})
