"""What each Lambda call asks IAM for, as AWS's service authorization reference lists them:
`lambda:<Operation>` on the function's ARN (Invoke is `lambda:InvokeFunction`), ListFunctions on `*`,
event source mappings on `*` (Create, List) or the mapping's ARN.
A FunctionName given as an ARN is checked as given; a name or partial ARN becomes this server's ARN."""

from __future__ import annotations

from aws_json.iam import Check
from lambda_api.context import LambdaContext
from lambda_api.operations.service import FUNCTION_NAME

ACTIONS = {"Invoke": "InvokeFunction"}
# Event source mappings: Create and List on `*` (AWS's reference: no resource type), the others on the
# mapping's ARN
NO_RESOURCE = frozenset({"ListFunctions", "CreateEventSourceMapping", "ListEventSourceMappings"})
ON_MAPPING = frozenset({"GetEventSourceMapping", "UpdateEventSourceMapping", "DeleteEventSourceMapping"})


def checks(ctx: LambdaContext, operation: str, req: dict) -> list[Check]:
    action = f"lambda:{ACTIONS.get(operation, operation)}"
    if operation in NO_RESOURCE:
        return [Check(action, "*")]
    if operation in ON_MAPPING:
        settings = ctx.settings
        return [Check(action, f"arn:aws:lambda:{settings.region}:{settings.account_id}:event-source-mapping:"
                              f"{req.get('UUID', '')}")]
    return [Check(action, function_resource(ctx, str(req.get("FunctionName", ""))))]


def function_resource(ctx: LambdaContext, text: str) -> str:
    match = FUNCTION_NAME.fullmatch(text)
    if text.startswith("arn:") or match is None:
        return text or "*"
    return ctx.settings.function_arn(match["name"]) + (f":{match['qualifier']}" if match["qualifier"] else "")
