"""The server the monitoring tests share (tests/api/test_metrics.py, test_cloudwatch.py,
test_grafana_dashboard.py): one `cdc-bridge up` with --enforce-capacity (to see throttles) and a
fast TTL sweeper (to see its deletions); `/metrics` read with prometheus_client's own parser; a
CloudWatch client in each protocol botocore's model lists."""

from __future__ import annotations

import glob
import gzip
import json
import os
import time
from pathlib import Path

import boto3
import botocore
import botocore.session
import httpx
from prometheus_client.parser import text_string_to_metric_families

from cdc_bridge.testing import endpoint
from tests.conftest import CREDENTIALS, REGION, session_up_url

SERVER_ARGS = ("--enforce-capacity", "--ttl-sweep-interval", "0.5", "--ttl-cooldown-seconds", "0")
PROTOCOLS = ("smithy-rpc-v2-cbor", "json", "query")


def monitoring_url(broker, tmp_path_factory, request) -> str:
    return session_up_url("monitoring", broker, tmp_path_factory, request, *SERVER_ARGS)


def scrape(url: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of /metrics, keyed by (sample name, its labels), parsed as Prometheus parses it."""
    response = httpx.get(f"{url}/metrics", timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def sample(url: str, name: str, **labels: str) -> float | None:
    return scrape(url).get((name, frozenset(labels.items())))


def wait_for_sample(url: str, name: str, expected: float, timeout_s: float = 30.0, **labels: str) -> float | None:
    """The sample once it reaches `expected` (a background thread may record it a little later)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = sample(url, name, **labels)
        if (value is not None and value >= expected) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def cloudwatch(url: str, protocol: str | None = None, tmp_dir: Path | None = None, credentials: dict | None = None,
               **config):
    """A boto3 CloudWatch client; with `protocol`, one whose model lists only that protocol (botocore
    picks json first and has no option to choose, so its model is copied with `protocols` narrowed).
    `credentials`: boto3's aws_access_key_id and aws_secret_access_key (default: the suite's)."""
    if protocol is None:
        return endpoint(url).client("cloudwatch", **config)
    [source] = glob.glob(os.path.join(os.path.dirname(botocore.__file__), "data", "cloudwatch", "*", "service-2.json*"))
    opener = gzip.open if source.endswith(".gz") else open
    with opener(source, "rt") as f:
        model = json.load(f)
    model["metadata"].update(protocols=[protocol], protocol=protocol)
    version = os.path.basename(os.path.dirname(source))
    folder = tmp_dir / protocol / "cloudwatch" / version
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "service-2.json").write_text(json.dumps(model))
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(tmp_dir / protocol))
    client = boto3.Session(botocore_session=session).client(
        "cloudwatch", endpoint_url=url, region_name=REGION,
        config=botocore.config.Config(retries={"max_attempts": 1}, **config), **(credentials or CREDENTIALS))
    assert client.meta.service_model.resolved_protocol == protocol
    return client
