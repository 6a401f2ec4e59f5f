"""What each DynamoDB Streams and Kinesis call asks IAM for, as AWS's service authorization
reference lists them.

DynamoDB Streams: `dynamodb:DescribeStream`, `dynamodb:GetShardIterator` and `dynamodb:GetRecords`
on the stream's ARN (GetRecords names no stream: it is the one its shard iterator was issued for),
`dynamodb:ListStreams` on `table/<TableName>/stream/*` (`table/*/stream/*` without a TableName), so
that the usual `table/T/stream/*` resource of a policy allows listing T's streams. Kinesis: `kinesis:<Operation>` on `arn:aws:kinesis:<region>:<account>:
stream/<name>` (from StreamName or StreamARN; GetRecords from its iterator), `kinesis:ListStreams`
and `kinesis:DescribeLimits` on `*`; a consumer's calls on the consumer's ARN.
"""

from __future__ import annotations

from aws_json.iam import Check
from connector.context import ConnectorContext
from connector.ids import InvalidIdentifier, ShardIterator, kinesis_stream_arn

KINESIS_NO_RESOURCE = frozenset({"ListStreams", "DescribeLimits", "DescribeAccountSettings",
                                 "UpdateAccountSettings"})


def streams_checks(ctx: ConnectorContext, operation: str, req: dict) -> list[Check]:
    if operation == "ListStreams":  # on the streams it may list: of its TableName, or of every table
        table = req.get("TableName") if isinstance(req.get("TableName"), str) else "*"
        return [Check("dynamodb:ListStreams",
                      f"arn:aws:dynamodb:{ctx.settings.region}:{ctx.settings.account_id}:table/{table}/stream/*")]
    arn = req.get("StreamArn") or iterator_stream(ctx, req.get("ShardIterator")) or "*"
    return [Check(f"dynamodb:{operation}", str(arn))]


def kinesis_checks(ctx: ConnectorContext, operation: str, req: dict) -> list[Check]:
    action = f"kinesis:{operation}"
    if operation in KINESIS_NO_RESOURCE:
        return [Check(action, "*")]
    if req.get("ConsumerARN"):
        return [Check(action, str(req["ConsumerARN"]))]
    arn = req.get("StreamARN") or req.get("ResourceARN")
    if not arn and isinstance(req.get("StreamName"), str):
        arn = kinesis_stream_arn(ctx.settings.region, ctx.settings.account_id, req["StreamName"])
    if not arn and operation == "GetRecords":
        arn = kinesis_iterator_stream(ctx, req.get("ShardIterator"))
    return [Check(action, str(arn or "*"))]


def iterator_stream(ctx: ConnectorContext, token) -> str | None:
    """The stream (a DynamoDB stream's ARN, or a Kinesis stream's topic) an iterator of ours names;
    None for anything else (the operation then answers that it is invalid)."""
    if not isinstance(token, str):
        return None
    try:
        return ShardIterator.decode(token, ctx.settings.iterator_secret).stream
    except InvalidIdentifier:
        return None


def kinesis_iterator_stream(ctx: ConnectorContext, token) -> str | None:
    topic = iterator_stream(ctx, token)
    for stream in ctx.kinesis.live() if topic else ():
        if any(g.get("Topic") == topic for g in stream.get("Generations", ())):
            return stream["StreamARN"]
    return None
