"""Functions: CreateFunction, GetFunction, GetFunctionConfiguration, ListFunctions, UpdateFunctionCode,
UpdateFunctionConfiguration, DeleteFunction. A function is `$LATEST` only (Publish is accepted and
publishes nothing); its code comes as Code.ZipFile. Every change runs off the event loop: it writes
files (unzipping up to 250 MB) and holds the store's lock, which reads never take."""

from __future__ import annotations

import asyncio
import base64
import binascii
import time

from lambda_api import code
from lambda_api.context import LambdaContext
from lambda_api.errors import InvalidParameterValueException, PreconditionFailedException, ResourceConflictException
from lambda_api.functions import Function
from lambda_api.operations.service import LATEST, SERVICE, find, function_name
from lambda_api.runtimes import check_runnable

# Lambda refuses to let a function set these (it sets them itself)
RESERVED_VARIABLES = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})
MAX_ENVIRONMENT_BYTES = 4096
DEFAULTS = {"Description": "", "Timeout": 3, "MemorySize": 128}
# members of CreateFunction / UpdateFunctionConfiguration stored and reported as given
SETTABLE = ("Runtime", "Role", "Handler", "Description", "Timeout", "MemorySize", "EphemeralStorage",
            "TracingConfig", "LoggingConfig")


@SERVICE.operation("CreateFunction")
async def create_function(ctx: LambdaContext, req: dict) -> dict:
    return await asyncio.to_thread(create, ctx, req)


def create(ctx: LambdaContext, req: dict) -> dict:
    name, qualifier = function_name(ctx, req["FunctionName"])
    if qualifier is not None or "." in name:
        raise InvalidParameterValueException(f"Invalid function name: {req['FunctionName']}")
    if req.get("PackageType", "Zip") != "Zip":
        raise InvalidParameterValueException("PackageType Image (container images) is not supported by cdc-bridge")
    if not req.get("Runtime") or not req.get("Handler"):
        raise InvalidParameterValueException(
            "Runtime and Handler are mandatory parameters for functions created with deployment packages.")
    check_settings(req)
    package = package_of(req["Code"])
    with ctx.functions.lock:
        if ctx.functions.get(name) is not None:
            raise ResourceConflictException(f"Function already exist: {name}")
        code.store(ctx.functions.directory(name), package)
        configuration = {
            "FunctionName": name, "FunctionArn": ctx.settings.function_arn(name), **DEFAULTS,
            **{k: req[k] for k in SETTABLE if k in req},
            "Version": LATEST, "State": "Active", "LastUpdateStatus": "Successful", "PackageType": "Zip",
            "Architectures": req.get("Architectures", ["x86_64"]),
        }
        configuration.setdefault("EphemeralStorage", {"Size": 512})
        configuration.setdefault("TracingConfig", {"Mode": "PassThrough"})
        configuration.setdefault("LoggingConfig", {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}"})
        set_environment(configuration, req)
        set_package(configuration, package)
        function = Function(configuration, req.get("Tags", {}))
        ctx.functions.save(function)
    return function.wire()


@SERVICE.operation("GetFunction")
def get_function(ctx: LambdaContext, req: dict) -> dict:
    function = find(ctx, req["FunctionName"], req.get("Qualifier"))
    result = {"Configuration": function.wire(),
              "Code": {"RepositoryType": "S3", "Location": code_location(ctx, function)}}
    if function.tags:
        result["Tags"] = function.tags
    return result


def code_location(ctx: LambdaContext, function: Function) -> str:
    """Where the package can be downloaded for the next 10 minutes (Lambda: a presigned S3 URL; here
    a route of this server with a link of the same kind: lambda_api/package_links.py)."""
    path = package_path(function.name, function.code_hex)
    return ctx.package_links.sign(f"{ctx.settings.endpoint_url}{path}", path, time.time())


def package_path(name: str, code_hex: str) -> str:
    return f"/_cdc_bridge/lambda/{name}/{code_hex}.zip"


@SERVICE.operation("GetFunctionConfiguration")
def get_function_configuration(ctx: LambdaContext, req: dict) -> dict:
    return find(ctx, req["FunctionName"], req.get("Qualifier")).wire()


@SERVICE.operation("ListFunctions")
def list_functions(ctx: LambdaContext, req: dict) -> dict:
    names = ctx.functions.names()
    after = marker_name(req.get("Marker"))
    if after is not None:
        names = [n for n in names if n > after]
    page = names[: req.get("MaxItems", 50)]
    functions = [f.wire() for f in (ctx.functions.get(n) for n in page) if f is not None]
    result = {"Functions": functions}
    if len(page) < len(names):
        result["NextMarker"] = base64.urlsafe_b64encode(page[-1].encode()).decode()
    return result


def marker_name(marker: str | None) -> str | None:
    if marker is None:
        return None
    try:
        return base64.b64decode(marker.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, ValueError):
        raise InvalidParameterValueException(f"Invalid marker: {marker}") from None


@SERVICE.operation("UpdateFunctionCode")
async def update_function_code(ctx: LambdaContext, req: dict) -> dict:
    return await asyncio.to_thread(update_code, ctx, req)


def update_code(ctx: LambdaContext, req: dict) -> dict:
    package = package_of(req)
    with ctx.functions.lock:
        function = find(ctx, req["FunctionName"])
        check_revision(function, req)
        configuration = dict(function.configuration)
        set_package(configuration, package)
        configuration["Architectures"] = req.get("Architectures", configuration["Architectures"])
        if req.get("DryRun"):
            return Function(configuration, function.tags).wire()
        code.store(ctx.functions.directory(function.name), package)
        return replace(ctx, Function(configuration, function.tags))


@SERVICE.operation("UpdateFunctionConfiguration")
async def update_function_configuration(ctx: LambdaContext, req: dict) -> dict:
    return await asyncio.to_thread(update_configuration, ctx, req)


def update_configuration(ctx: LambdaContext, req: dict) -> dict:
    check_settings(req)
    with ctx.functions.lock:
        function = find(ctx, req["FunctionName"])
        check_revision(function, req)
        configuration = {**function.configuration, **{k: req[k] for k in SETTABLE if k in req}}
        set_environment(configuration, req)
        return replace(ctx, Function(configuration, function.tags))


def replace(ctx: LambdaContext, function: Function) -> dict:
    ctx.functions.save(function)
    ctx.runner.retire(function.name)  # warm workers run the old code or settings
    return function.wire()


@SERVICE.operation("DeleteFunction")
async def delete_function(ctx: LambdaContext, req: dict) -> dict:
    return await asyncio.to_thread(delete, ctx, req)


def delete(ctx: LambdaContext, req: dict) -> dict:
    with ctx.functions.lock:
        function = find(ctx, req["FunctionName"])
        if req.get("Qualifier") == LATEST:
            raise InvalidParameterValueException("$LATEST version cannot be deleted without deleting the function.")
        ctx.runner.retire(function.name)
        ctx.functions.delete(function.name)
    return {"StatusCode": 204}


# -- request rules --------------------------------------------------------------------------------------


def check_settings(req: dict) -> None:
    if "Runtime" in req:
        check_runnable(req["Runtime"])
    if req.get("Layers"):
        raise InvalidParameterValueException("Layers are not supported by cdc-bridge: put the code in the package")
    variables = req.get("Environment", {}).get("Variables", {})
    reserved = sorted(RESERVED_VARIABLES.intersection(variables))
    if reserved:
        raise InvalidParameterValueException(
            "Lambda was unable to configure your environment variables because the environment variables you have "
            "provided contains reserved keys that are currently not supported for modification. Reserved keys used "
            f"in this request: {', '.join(reserved)}")
    measured = ",".join(f"{k}={v}" for k, v in variables.items())
    if len(measured.encode()) > MAX_ENVIRONMENT_BYTES:
        raise InvalidParameterValueException(
            "Lambda was unable to configure your environment variables because the environment variables you have "
            f"provided exceeded the 4KB limit. String measured: {measured}")


def check_revision(function: Function, req: dict) -> None:
    if "RevisionId" in req and req["RevisionId"] != function.configuration["RevisionId"]:
        raise PreconditionFailedException("The Revision Id provided does not match the latest Revision Id. Call the "
                                          "GetFunction/GetAlias API to retrieve the latest Revision Id")


def package_of(source: dict) -> code.Package:
    if "ZipFile" in source:
        return code.Package.of(base64.b64decode(source["ZipFile"]))
    if "S3Bucket" in source or "S3Key" in source or "ImageUri" in source:
        raise InvalidParameterValueException("Code from S3 or a container image is not supported by cdc-bridge: "
                                             "send the deployment package in ZipFile")
    raise InvalidParameterValueException("Please provide a source for function code.")


def set_package(configuration: dict, package: code.Package) -> None:
    configuration.update(CodeSha256=package.code_sha256, CodeSize=len(package.data), _CodeHex=package.sha256_hex)


def set_environment(configuration: dict, req: dict) -> None:
    if "Environment" in req:
        configuration["Environment"] = {"Variables": req["Environment"].get("Variables", {})}
