"""What every Lambda operation is handed: the settings, the function store and the runner; and the
one entry point other parts use to run a function (the event source mappings of a later phase)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from lambda_api.errors import ResourceNotFoundException
from lambda_api.functions import Function, FunctionStore
from lambda_api.mappings import MappingStore
from lambda_api.package_links import PackageLinks
from lambda_api.runner import FunctionSpec, Outcome, Runner
from lambda_api.settings import Settings


def no_role_credentials(role_arn: str, function_name: str) -> dict[str, str]:
    return {}


@dataclass
class LambdaContext:
    settings: Settings
    functions: FunctionStore
    runner: Runner
    # (Role ARN, function name) -> the AWS_* credentials its handler signs with; {} leaves the
    # placeholder keys (any key is accepted while the server has no credentials file)
    role_credentials: Callable[[str, str], dict[str, str]] = no_role_credentials
    package_links: PackageLinks = field(default_factory=PackageLinks)  # GetFunction's expiring Code.Location
    mappings: MappingStore | None = None  # event source mappings, kept in Kafka
    # the part that runs mappings (event_sources/), once started: `check_source(arn)` refuses a
    # stream it cannot find with Lambda's error
    event_sources: Any = None

    def spec(self, function: Function) -> FunctionSpec:
        config = function.configuration
        return FunctionSpec(
            name=function.name, revision=config["RevisionId"], arn=config["FunctionArn"], runtime=config["Runtime"],
            handler=config["Handler"], task_root=self.functions.task_root(function), timeout_s=config["Timeout"],
            memory_mb=config["MemorySize"], environment={
                **self.role_credentials(config.get("Role", ""), function.name),
                **config.get("Environment", {}).get("Variables", {})})

    def function(self, name: str) -> Function:
        function = self.functions.get(name)
        if function is None:
            raise ResourceNotFoundException(f"Function not found: {self.settings.function_arn(name)}")
        return function

    def invoke(self, function_name: str, event) -> Outcome:
        """Run a function synchronously (from a thread), as Lambda's RequestResponse does: the Outcome
        says success (function_error None), the function's error, or Sandbox.Timedout."""
        return self.runner.invoke(self.spec(self.function(function_name)), as_payload(event))

    async def invoke_async(self, function_name: str, event) -> Outcome:
        return await self.runner.invoke_async(self.spec(self.function(function_name)), as_payload(event))


def as_payload(event) -> bytes:
    return event if isinstance(event, bytes) else orjson.dumps(event)
