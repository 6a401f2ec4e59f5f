"""Lambda's errors, as its REST-JSON protocol renders them: the name in the `x-amzn-ErrorType`
header, the body `{"Type": "User" | "Service", "message": ...}`. Lambda's model spells the message
member `message` for some errors and `Message` for others; `render` takes the spelling from the
model, so botocore (which reads either) and stricter clients both find it."""

from __future__ import annotations

from functools import cache

import orjson

from aws_json.errors import AWSError
from aws_json.protocol import load_model

MODEL = ("lambda", "2015-03-31")


class LambdaError(AWSError):
    namespace = ""
    kind = "User"  # Lambda's `Type`: "User" (the caller's fault) or "Service"

    def render(self) -> tuple[int, dict[str, str], bytes]:
        name = type(self).__name__
        body = {"Type": self.kind, message_member(name): self.message, **self.extra}
        return self.status, {"x-amzn-ErrorType": name}, orjson.dumps(body)


def render_auth_failure(exc: AWSError) -> tuple[int, dict[str, str], bytes]:
    """A signature or policy refusal (aws_json.errors.AuthFailure) in Lambda's shape, with 403."""
    name = type(exc).__name__
    return 403, {"x-amzn-ErrorType": name}, orjson.dumps({"Type": "User", "message": exc.message})


@cache
def message_member(name: str) -> str:
    shape = load_model(*MODEL)["shapes"].get(name, {})
    return "Message" if "Message" in shape.get("members", {}) else "message"


class ResourceNotFoundException(LambdaError):
    status = 404


class ResourceConflictException(LambdaError):
    status = 409


class InvalidParameterValueException(LambdaError):
    pass


class ValidationException(LambdaError):
    pass


class InvalidRequestContentException(LambdaError):
    pass


# What the shape validator raises for a wrong JSON type: Lambda answers it as unparsable content.
SerializationException = InvalidRequestContentException


class RequestTooLargeException(LambdaError):
    status = 413


class PreconditionFailedException(LambdaError):
    status = 412


class UnknownOperationException(LambdaError):
    status = 404
    message = "The requested operation is not supported by cdc-bridge's Lambda API."


class ServiceException(LambdaError):
    status = 500
    kind = "Service"
    message = "The Lambda service encountered an internal error."


class ResourceNotReadyException(LambdaError):
    status = 502
    kind = "Service"
    message = "The service is starting up"


class ResourceInUseException(LambdaError):
    status = 400
