"""The DynamoDB API's errors: the DynamoDB namespace's shared ones that operations raise (aws_json.errors,
re-exported here so operations import one module; the Service renders from aws_json.errors itself)
and those only tables have."""

from __future__ import annotations

from aws_json.errors import (  # noqa: F401  (re-exported: operations import one module)
    AWSError,
    LimitExceededException,
    ResourceInUseException,
    ResourceNotFoundException,
    SerializationException,
    ValidationException,
)


class ConditionalCheckFailedException(AWSError):
    message = "The conditional request failed"

    def __init__(self, message: str | None = None, item: dict | None = None):
        # ReturnValuesOnConditionCheckFailure=ALL_OLD puts the old item next to the message.
        super().__init__(message, **({"Item": item} if item is not None else {}))


class ItemCollectionSizeLimitExceededException(AWSError):
    """A write that would take an item collection (one partition key's items and their LSI
    entries) past its size limit."""

    message = "Collection size exceeded."


class ProvisionedThroughputExceededException(AWSError):
    """A request beyond its table's or index's capacity (`--enforce-capacity`); SDKs retry it."""

    message = ("The level of configured provisioned throughput for the table was exceeded. "
               "Consider increasing your provisioning level with the UpdateTable API.")


class TransactionCanceledException(AWSError):
    """A TransactWriteItems (or TransactGetItems) that wrote (read) nothing: one reason per action,
    in the request's order, each `{"Code": ...}` ("None" for the actions that were fine)."""

    def __init__(self, reasons: list[dict]):
        codes = ", ".join(reason["Code"] for reason in reasons)
        super().__init__("Transaction cancelled, please refer cancellation reasons for specific reasons "
                         f"[{codes}]", CancellationReasons=reasons)


class IdempotentParameterMismatchException(AWSError):
    """A ClientRequestToken used again, within its 10 minutes, with other parameters."""

    message = ("The request uses the same client token as a previous, but non-identical request. Do not reuse a "
               "client token with different requests, unless the requests are identical.")
