"""The Lambda service (its REST routes come from botocore's model) and the rules its operations
share: naming a function (name, ARN or partial ARN, with or without a qualifier) and finding it."""

from __future__ import annotations

import re

from lambda_api.context import LambdaContext
from lambda_api.errors import InvalidParameterValueException, ResourceNotFoundException
from lambda_api.functions import Function
from lambda_api.rest import RestService

SERVICE = RestService("lambda", "2015-03-31")
LATEST = "$LATEST"

FUNCTION_NAME = re.compile(
    r"(?:arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:|(?P<partial>\d{12}):function:)?"
    r"(?P<name>[a-zA-Z0-9_.-]+)(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]+))?")


def function_name(ctx: LambdaContext, text: str, qualifier: str | None = None) -> tuple[str, str | None]:
    """(name, qualifier) of a FunctionName member and an optional Qualifier."""
    match = FUNCTION_NAME.fullmatch(text)
    if match is None:
        raise InvalidParameterValueException(f"Invalid function name: {text}")
    named = match["qualifier"]
    if named is not None and qualifier is not None and named != qualifier:
        raise InvalidParameterValueException("The derived qualifier from the function name does not match the "
                                             "specified qualifier.")
    account = match["account"] or match["partial"]
    if (account and account != ctx.settings.account_id) or (match["region"] and match["region"] != ctx.settings.region):
        raise ResourceNotFoundException(f"Function not found: {text}")
    return match["name"], named or qualifier


def find(ctx: LambdaContext, text: str, qualifier: str | None = None) -> Function:
    """The function a request names; only $LATEST exists here (no published versions or aliases)."""
    name, qualifier = function_name(ctx, text, qualifier)
    function = ctx.function(name)
    if qualifier not in (None, LATEST):
        raise ResourceNotFoundException(f"Function not found: {ctx.settings.function_arn(name)}:{qualifier}")
    return function
