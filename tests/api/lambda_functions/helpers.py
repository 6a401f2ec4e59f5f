"""Helpers of the Lambda and CloudWatch Logs tests: the shared server, clients, deployment packages."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
from botocore.config import Config

from tests.conftest import CREDENTIALS, REGION, ServerProcess, session_up_url

ROLE = "arn:aws:iam::000000000000:role/lambda-role"


def lambda_server_url(broker, tmp_path_factory, request) -> str:
    """Lambda is only in `up`: one per session, on the session's broker."""
    return session_up_url("lambda", broker, tmp_path_factory, request)


def clients(url: str, service: str, validate: bool = True):
    return boto3.client(service, endpoint_url=url, region_name=REGION, **CREDENTIALS, config=Config(
        retries={"max_attempts": 1}, read_timeout=60, parameter_validation=validate))


def package(files: dict[str, str]) -> bytes:
    """A deployment package (zip) of {path: source}."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, source in files.items():
            archive.writestr(path, source)
    return buffer.getvalue()


def python_package(source: str) -> bytes:
    return package({"app.py": source})


def error_of(exc) -> tuple[str, int, str]:
    """(code, HTTP status, message) of a pytest.raises(ClientError) result."""
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def aws(server: ServerProcess, tmp_path: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": str(tmp_path / "aws-config"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "aws-credentials"), "AWS_PAGER": ""}
    result = subprocess.run([str(Path(sys.executable).with_name("aws")), "--endpoint-url", server.url, *args],
                            env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result
