"""CloudWatch Logs errors (JSON 1.1: `__type` is the bare name), named exactly like AWS's."""

from aws_json.errors import AWSError, protocol_errors


class LogsError(AWSError):
    namespace = ""


class Logs(protocol_errors(LogsError)):
    """The errors module the Logs `Service` renders from: the protocol's, and these."""

    class ResourceNotFoundException(LogsError):
        pass

    class InvalidParameterException(LogsError):
        pass
