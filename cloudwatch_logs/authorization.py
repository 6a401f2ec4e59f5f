"""What each CloudWatch Logs call asks IAM for (with a credentials file): `logs:<Operation>` on the
log group's ARN, `arn:aws:logs:<region>:<account>:log-group:<name>:*`, as AWS's service authorization
reference lists them; DescribeLogGroups on `log-group:*`."""

from __future__ import annotations

from aws_json.iam import Check
from cloudwatch_logs.operations import LogsContext


def logs_checks(ctx: LogsContext, operation: str, req: dict) -> list[Check]:
    name = req.get("logGroupName") or req.get("logGroupIdentifier")
    if not isinstance(name, str) or operation == "DescribeLogGroups":
        name = "*"
    elif name.startswith("arn:"):
        name = name.split(":log-group:", 1)[-1].removesuffix(":*")
    resource = ctx.group_arn(name) if name == "*" else ctx.group_arn(name) + ":*"
    return [Check(f"logs:{operation}", resource)]
