"""Throttling with `--enforce-capacity`: a client loop against a provisioned table (ours only).

`cdc-bridge up --enforce-capacity`; a table with --write-units (5) write capacity units, new (its
bucket empty). One boto3 client puts 1 KB items as fast as it can for --seconds (10) with retries
off: reported are the attempts, the throttled share, and the accepted writes per second (the
provisioned rate plus what the bucket saved meanwhile). Then, on a second new table, the same loop
with boto3's standard retry mode (10 attempts): every write must succeed; reported are the writes
per second and the retries they took. No peer: no other emulator throttles.
"""

from __future__ import annotations

import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from bench.harness.report import Report, fmt
from bench.harness.servers import start_ours_up

SUMMARY = "throttled-request rate of a client loop on a 5-unit table, with retries off and standard"
DEFAULT_ROUNDS = 1
PAYLOAD = "x" * 1000


def add_arguments(p) -> None:
    p.add_argument("--write-units", type=int, default=5, help="WriteCapacityUnits of the table")
    p.add_argument("--seconds", type=float, default=10.0, help="length of each client loop")


def client(port: int, retries: dict):
    return boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(retries=retries, connect_timeout=5, read_timeout=60))


def new_table(ddb, name: str, write_units: int) -> None:
    ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PROVISIONED",
                     ProvisionedThroughput={"ReadCapacityUnits": 1000, "WriteCapacityUnits": write_units})


def loop(ddb, table: str, seconds: float) -> dict:
    """Put items until `seconds` are over: attempts, accepted, throttled, retries (standard mode)."""
    counts = {"calls": 0, "accepted": 0, "throttled": 0, "retries": 0}
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        counts["calls"] += 1
        try:
            response = ddb.put_item(TableName=table, Item={"pk": {"S": f"k{counts['calls']}"}, "d": {"S": PAYLOAD}})
            counts["accepted"] += 1
            counts["retries"] += response["ResponseMetadata"]["RetryAttempts"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ProvisionedThroughputExceededException":
                raise
            counts["throttled"] += 1
    counts["seconds"] = time.monotonic() - started
    return counts


def run(bench, args) -> Report:
    report = Report(f"Throttling: a client loop on a {args.write_units}-unit table (`up --enforce-capacity`)")
    server = start_ours_up(bench, extra=["--enforce-capacity"])
    plain = client(server.port, {"total_max_attempts": 1})
    retrying = client(server.port, {"mode": "standard", "max_attempts": 10})
    new_table(plain, "no_retries", args.write_units)
    no_retries = loop(plain, "no_retries", args.seconds)
    new_table(plain, "standard_retries", args.write_units)
    standard = loop(retrying, "standard_retries", args.seconds)
    caption = f"PutItem of 1 KB items for {fmt(args.seconds)} s, table of {args.write_units} WCU (new: empty bucket)"
    t = report.table(caption, ["client", "calls", "throttled", "throttled share", "accepted", "accepted/s", "retries"])
    for label, c in (("boto3, retries off", no_retries), ("boto3, standard retries (10 attempts)", standard)):
        t.add(label, fmt(c["calls"]), fmt(c["throttled"]), f"{c['throttled'] / max(1, c['calls']):.1%}",
              fmt(c["accepted"]), fmt(c["accepted"] / c["seconds"], 2), fmt(c["retries"]))
    if standard["throttled"]:
        report.errors.append(f"standard retries left {standard['throttled']} writes throttled")
    if not no_retries["throttled"]:
        report.errors.append("the loop without retries was never throttled")
    report.notes.append(f"accepted/s stays near the provisioned {args.write_units}/s: the bucket starts empty and "
                        "refills at the provisioned rate; throttled calls write nothing")
    report.data.update(no_retries=no_retries, standard=standard)
    return report
