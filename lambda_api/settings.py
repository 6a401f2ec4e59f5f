"""The Lambda part's settings, given by the command line (cdc_bridge/cli.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    region: str = "us-east-1"
    account_id: str = "000000000000"
    endpoint_url: str = "http://127.0.0.1:8000"  # handlers' AWS_ENDPOINT_URL: this server
    idle_worker_seconds: float = 300.0  # a warm worker unused this long is stopped

    @property
    def root(self) -> Path:
        return self.data_dir / "lambda"

    def function_arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{name}"
