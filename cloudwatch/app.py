"""CloudWatch as a part of the server: reads the metric store the server hands every part."""

from __future__ import annotations

from typing import Any

from aws_json.iam import Check
from cloudwatch.operations import SERVICE, CloudWatchContext


def cloudwatch_checks(ctx: CloudWatchContext, operation: str, req: dict) -> list[Check]:
    """CloudWatch's read actions have no resource: `cloudwatch:<Operation>` on `*`."""
    return [Check(f"cloudwatch:{operation}", "*")]


SERVICE.authorization = cloudwatch_checks


class CloudWatchPart:
    name = "cloudwatch"

    def __init__(self):
        self.services = [SERVICE]
        self.context: CloudWatchContext | None = None

    def start(self, env: dict[str, Any]) -> None:
        self.context = CloudWatchContext(env["metrics"])

    def stop(self) -> None:
        pass

    def health(self) -> dict[str, Any]:
        return {"series": len(self.context.store.all()), "retention_hours": self.context.store.retention_s / 3600}
