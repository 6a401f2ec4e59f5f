"""The wire formats other than JSON that a botocore model may list in `metadata.protocols`, for
the services that speak them (CloudWatch: smithy-rpc-v2-cbor, json, query). Each turns a request
body into the same dict the JSON protocol gives (so one validation and one handler serve all of
them) and renders answers and errors the way botocore parses them. Driven by the model's shapes;
knows no service.

- smithy-rpc-v2-cbor: `POST /service/<targetPrefix>/operation/<Operation>` with
  `Smithy-Protocol: rpc-v2-cbor`; bodies are CBOR maps, timestamps CBOR tag 1 (epoch seconds).
- query: `POST /` with a form body, `Action=<Operation>&Version=<apiVersion>&A.member.1.B=...`;
  answers are XML `<OpResponse><OpResult>...</OpResult><ResponseMetadata>...`, errors
  `<ErrorResponse><Error><Type/><Code/><Message/></Error>`.
An error's `query_code` (the model's `error.code`, e.g. InvalidParameterValue) is what a query
client sees as the code; the JSON and CBOR answers carry it in `x-amzn-query-error` for services
marked awsQueryCompatible, as AWS does.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

import cbor2

from aws_json.errors import AWSError

Headers = list[tuple[bytes, bytes]]
CBOR_TYPE = "application/cbor"
XML_TYPE = "text/xml"


def query_error_header(exc: AWSError) -> Headers:
    code = getattr(exc, "query_code", None)
    if not code:
        return []
    fault = "Receiver" if exc.status >= 500 else "Sender"
    return [(b"x-amzn-query-error", f"{code};{fault}".encode())]


# -- smithy-rpc-v2-cbor -----------------------------------------------------------------------


def cbor_target(path: str) -> str | None:
    """`/service/<prefix>/operation/<Op>` -> `<prefix>.<Op>`; None for another path."""
    parts = path.split("/")
    if len(parts) == 5 and parts[0] == "" and parts[1] == "service" and parts[3] == "operation":
        return f"{parts[2]}.{parts[4]}"
    return None


def cbor_request(body: bytes) -> Any:
    """The request as JSON would give it: timestamps (tag 1) become epoch seconds."""
    if not body:
        return {}
    return _plain(cbor2.loads(body))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, bytes):  # a blob: JSON carries it in base64, and validation expects that
        return base64.b64encode(value).decode()
    return value


def cbor_answer(shapes: dict, output_shape: str | None, result: dict) -> bytes:
    return cbor2.dumps(_typed(shapes, output_shape, result) if output_shape else result, datetime_as_timestamp=True)


def _typed(shapes: dict, shape_name: str, value: Any) -> Any:
    """`value` with each timestamp member as a datetime (CBOR tag 1), each double as a float."""
    shape = shapes[shape_name]
    kind = shape["type"]
    if kind == "structure" and isinstance(value, dict):
        members = shape["members"]
        return {k: _typed(shapes, members[k]["shape"], v) if k in members else v for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [_typed(shapes, shape["member"]["shape"], v) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _typed(shapes, shape["value"]["shape"], v) for k, v in value.items()}
    if kind == "timestamp":
        return epoch_datetime(value)
    if kind in ("double", "float") and isinstance(value, int | float):
        return float(value)
    return value


def cbor_error(exc: AWSError) -> bytes:
    return cbor2.dumps(exc.body())


# -- query ------------------------------------------------------------------------------------


def query_params(body: bytes) -> dict[str, str]:
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def query_request(shapes: dict, input_shape: str | None, params: dict[str, str]) -> dict:
    """The flattened form (`Dimensions.member.1.Name=...`) as the nested request JSON would send."""
    if not input_shape:
        return {}
    return _from_form(shapes, input_shape, params, "") or {}


def _from_form(shapes: dict, shape_name: str, params: dict[str, str], prefix: str) -> Any:
    shape = shapes[shape_name]
    kind = shape["type"]
    if kind == "structure":
        out = {}
        for name, ref in shape["members"].items():
            key = f"{prefix}.{ref.get('locationName', name)}" if prefix else ref.get("locationName", name)
            value = _from_form(shapes, ref["shape"], params, key)
            if value is not None:
                out[name] = value
        return out if out or not prefix else None
    if kind == "list":
        if params.get(prefix) == "":
            return []  # `A=` is an empty list
        items, i = [], 1
        while _has(params, f"{prefix}.member.{i}"):
            items.append(_from_form(shapes, shape["member"]["shape"], params, f"{prefix}.member.{i}"))
            i += 1
        return items or None
    if kind == "map":
        entries, i = {}, 1
        while _has(params, f"{prefix}.entry.{i}"):
            key = params.get(f"{prefix}.entry.{i}.key")
            entries[key] = _from_form(shapes, shape["value"]["shape"], params, f"{prefix}.entry.{i}.value")
            i += 1
        return entries or None
    raw = params.get(prefix)
    return None if raw is None else _scalar(kind, raw)


def _has(params: dict[str, str], prefix: str) -> bool:
    return prefix in params or any(k.startswith(prefix + ".") for k in params)


def _scalar(kind: str, raw: str) -> Any:
    try:
        if kind in ("integer", "long"):
            return int(raw)
        if kind in ("double", "float"):
            return float(raw)
    except ValueError:
        return raw  # validation says it is the wrong type
    if kind == "boolean":
        return raw.lower() == "true"
    return raw  # strings, blobs (base64 as in JSON), timestamps (ISO 8601; the operation parses them)


def query_answer(service_model: dict, operation: str, result: dict) -> bytes:
    spec = service_model["operations"][operation]
    namespace = service_model["metadata"].get("xmlNamespace", "")
    output = spec.get("output")
    inner = ""
    if output:
        wrapper = output.get("resultWrapper", f"{operation}Result")
        inner = f"<{wrapper}>{_xml_members(service_model['shapes'], output['shape'], result)}</{wrapper}>"
    return (f'<{operation}Response xmlns="{namespace}">{inner}<ResponseMetadata><RequestId>{uuid.uuid4()}'
            f"</RequestId></ResponseMetadata></{operation}Response>").encode()


def _xml_members(shapes: dict, shape_name: str, value: dict) -> str:
    members = shapes[shape_name]["members"]
    return "".join(_xml(shapes, members[k]["shape"], members[k].get("locationName", k), v)
                   for k, v in value.items() if k in members and v is not None)


def _xml(shapes: dict, shape_name: str, tag: str, value: Any) -> str:
    shape = shapes[shape_name]
    kind = shape["type"]
    if kind == "structure":
        body = _xml_members(shapes, shape_name, value)
    elif kind == "list":
        member = shape["member"]
        body = "".join(_xml(shapes, member["shape"], member.get("locationName", "member"), v) for v in value)
    elif kind == "map":
        body = "".join(f"<entry>{_xml(shapes, shape['key']['shape'], 'key', k)}"
                       f"{_xml(shapes, shape['value']['shape'], 'value', v)}</entry>" for k, v in value.items())
    elif kind == "timestamp":
        body = epoch_datetime(value).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    elif kind == "boolean":
        body = "true" if value else "false"
    else:
        body = escape(str(value))
    return f"<{tag}>{body}</{tag}>"


def query_error(service_model: dict, exc: AWSError) -> bytes:
    namespace = service_model["metadata"].get("xmlNamespace", "")
    code = getattr(exc, "query_code", None) or type(exc).__name__
    fault = "Receiver" if exc.status >= 500 else "Sender"
    return (f'<ErrorResponse xmlns="{namespace}"><Error><Type>{fault}</Type><Code>{escape(code)}</Code>'
            f"<Message>{escape(exc.message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId>"
            "</ErrorResponse>").encode()


def epoch_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromtimestamp(float(value), dt.UTC)
