"""CloudWatch's errors. Each has the query protocol's code (the model's `error.code`), which is the
code every client shows: in the query protocol's XML, and in `x-amzn-query-error` for JSON and CBOR
(CloudWatch is awsQueryCompatible)."""

from aws_json.errors import AWSError


class CloudWatchError(AWSError):
    namespace = ""
    query_code = ""


class CloudWatch:
    """The errors module the CloudWatch `Service` renders from."""

    class InvalidParameterValueException(CloudWatchError):
        query_code = "InvalidParameterValue"

    class MissingRequiredParameterException(CloudWatchError):
        query_code = "MissingParameter"

    class InvalidParameterCombinationException(CloudWatchError):
        query_code = "InvalidParameterCombination"

    class InvalidNextToken(CloudWatchError):
        query_code = "InvalidNextToken"
        message = "The service returned an invalid NextToken."

    class ValidationException(CloudWatchError):
        query_code = "ValidationError"

    SerializationException = InvalidParameterValueException  # a wrong type, said as CloudWatch says it

    class UnknownOperationException(CloudWatchError):
        query_code = "InvalidAction"
        message = "The action or operation requested is invalid. Verify that the action is typed correctly."

    class InternalServerError(CloudWatchError):
        query_code = "InternalServiceError"
        status = 500
        message = "Internal service error"

    class ServiceUnavailable(CloudWatchError):
        query_code = "ServiceUnavailable"
        status = 503
        message = "The service is starting up"

    @staticmethod
    def missing_parameter(member: str) -> CloudWatchError:
        return CloudWatch.MissingRequiredParameterException(f"The parameter {member} is required.")
