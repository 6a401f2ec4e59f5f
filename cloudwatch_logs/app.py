"""CloudWatch Logs as a part of the server: opens the log store under the data directory and hands
it to the parts that write logs (the Lambda runner) through the start environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cloudwatch_logs.authorization import logs_checks
from cloudwatch_logs.operations import SERVICE, LogsContext
from cloudwatch_logs.store import LogStore

SERVICE.authorization = logs_checks  # with a credentials file: each call is checked against IAM policies


class CloudWatchLogs:
    name = "logs"

    def __init__(self, data_dir: Path, region: str, account_id: str):
        self.root = data_dir / "logs"
        self.region = region
        self.account_id = account_id
        self.services = [SERVICE]
        self.context: LogsContext | None = None

    def start(self, env: dict[str, Any]) -> None:
        store = LogStore(self.root)
        self.context = LogsContext(store, self.region, self.account_id)
        env["log_store"] = store  # the Lambda part writes its functions' logs here

    def stop(self) -> None:
        pass

    def health(self) -> dict[str, Any]:
        return {"directory": str(self.root), "log_groups": len(self.context.store.groups)}
