"""CloudWatch Logs errors (JSON 1.1: `__type` is the bare name), named exactly like AWS's."""

from aws_json.errors import AWSError


class LogsError(AWSError):
    namespace = ""


class Logs:
    """The errors module the Logs `Service` renders from."""

    class ResourceNotFoundException(LogsError):
        pass

    class InvalidParameterException(LogsError):
        pass

    class ValidationException(LogsError):
        pass

    class SerializationException(LogsError):
        pass

    class UnknownOperationException(LogsError):
        message = "An unknown operation was requested."

    class InternalServerError(LogsError):
        status = 500
        message = "Internal server error"

    class ServiceUnavailable(LogsError):
        status = 503
        message = "The service is starting up"
