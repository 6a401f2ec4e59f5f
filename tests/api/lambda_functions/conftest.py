"""Fixtures of the Lambda and CloudWatch Logs tests: one shared `up` server and its clients, and
functions deleted after each test."""

from __future__ import annotations

import pytest

from tests.api.helpers import unique_name
from tests.api.lambda_functions.helpers import ROLE, clients, lambda_server_url, python_package


@pytest.fixture(scope="session")
def lambda_url(broker, tmp_path_factory, request) -> str:
    return lambda_server_url(broker, tmp_path_factory, request)


@pytest.fixture(scope="session")
def lam(lambda_url):
    return clients(lambda_url, "lambda")


@pytest.fixture(scope="session")
def lenient_lam(lambda_url):
    """A Lambda client that sends what it is given (botocore's checks off): the server's answer is tested."""
    return clients(lambda_url, "lambda", validate=False)


@pytest.fixture(scope="session")
def logs(lambda_url):
    return clients(lambda_url, "logs")


@pytest.fixture(scope="session")
def lambda_dynamodb(lambda_url):
    return clients(lambda_url, "dynamodb")


@pytest.fixture
def make_function(lam):
    """Create a python3.11 function `app.handler` from source; deleted after the test."""
    created = []

    def make(source: str, name: str | None = None, **extra) -> str:
        name = name or unique_name("fn")
        extra.setdefault("Runtime", "python3.11")
        extra.setdefault("Handler", "app.handler")
        code = extra.pop("Code", None) or {"ZipFile": python_package(source)}
        lam.create_function(FunctionName=name, Role=ROLE, Code=code, **extra)
        created.append(name)
        return name

    yield make
    for name in created:
        try:
            lam.delete_function(FunctionName=name)
        except lam.exceptions.ResourceNotFoundException:
            pass
