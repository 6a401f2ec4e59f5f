"""What each Firehose call asks IAM for (with a credentials file), as AWS's service authorization
reference lists them: `firehose:<Operation>` on the delivery stream's ARN,
`arn:aws:firehose:<region>:<account>:deliverystream/<name>`; ListDeliveryStreams on `*`."""

from __future__ import annotations

from aws_json.iam import Check
from firehose.context import FirehoseContext
from firehose.ids import delivery_stream_arn


def firehose_checks(ctx: FirehoseContext, operation: str, req: dict) -> list[Check]:
    name = req.get("DeliveryStreamName")
    if operation == "ListDeliveryStreams" or not isinstance(name, str):
        return [Check(f"firehose:{operation}", "*")]
    return [Check(f"firehose:{operation}", delivery_stream_arn(ctx.settings.region, ctx.settings.account_id, name))]
