"""Firehose errors (JSON 1.1: `__type` is the bare name), named exactly like AWS's."""

from aws_json.errors import AWSError, protocol_errors


class FirehoseError(AWSError):
    namespace = ""


class Firehose(protocol_errors(FirehoseError)):
    """The errors module the Firehose `Service` renders from: the protocol's, and these."""

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
