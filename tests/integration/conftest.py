"""Fixtures of the change-capture tests: a probe that reads what a Kafka consumer sees, and
tables deleted after each test."""

import pytest

from tests.integration.cdc_helpers import CdcProbe, Tables


@pytest.fixture(scope="module")
def cdc(endpoint_url):
    probe = CdcProbe(endpoint_url)
    yield probe
    probe.close()


@pytest.fixture
def tables(dynamodb):
    created = Tables(dynamodb)
    yield created
    created.delete_all()
