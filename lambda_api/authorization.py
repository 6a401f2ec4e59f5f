"""What each Lambda call asks IAM for, as AWS's service authorization reference lists them:
`lambda:<Operation>` on the function's ARN (Invoke is `lambda:InvokeFunction`), ListFunctions on `*`.
A FunctionName given as an ARN is checked as given; a name or partial ARN becomes this server's ARN."""

from __future__ import annotations

from aws_json.iam import Check
from lambda_api.context import LambdaContext
from lambda_api.operations.service import FUNCTION_NAME

ACTIONS = {"Invoke": "InvokeFunction"}
NO_RESOURCE = frozenset({"ListFunctions"})


def checks(ctx: LambdaContext, operation: str, req: dict) -> list[Check]:
    action = f"lambda:{ACTIONS.get(operation, operation)}"
    if operation in NO_RESOURCE:
        return [Check(action, "*")]
    return [Check(action, function_resource(ctx, str(req.get("FunctionName", ""))))]


def function_resource(ctx: LambdaContext, text: str) -> str:
    match = FUNCTION_NAME.fullmatch(text)
    if text.startswith("arn:") or match is None:
        return text or "*"
    return ctx.settings.function_arn(match["name"]) + (f":{match['qualifier']}" if match["qualifier"] else "")
