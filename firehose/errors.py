"""Firehose errors (JSON 1.1: `__type` is the bare name), named exactly like AWS's."""

from aws_json.errors import AWSError


class FirehoseError(AWSError):
    namespace = ""


class Firehose:
    """The errors module the Firehose `Service` renders from."""

    class InvalidArgumentException(FirehoseError):
        pass

    class ResourceNotFoundException(FirehoseError):
        pass

    class ResourceInUseException(FirehoseError):
        pass

    class LimitExceededException(FirehoseError):
        pass

    class ServiceUnavailableException(FirehoseError):
        status = 503
        message = "Slow down."

    class ValidationException(FirehoseError):
        pass

    class SerializationException(FirehoseError):
        pass

    class UnknownOperationException(FirehoseError):
        message = "An unknown operation was requested."

    class InternalServerError(FirehoseError):
        status = 500
        message = "Internal server error"

    class ServiceUnavailable(FirehoseError):
        status = 503
        message = "The service is starting up"
