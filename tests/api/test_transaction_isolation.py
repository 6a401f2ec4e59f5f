"""Serialisability under concurrency: boto3 clients in several threads move money between accounts
with TransactWriteItems (the debit conditioned on the balance), while others rewrite accounts with
single-item writes (a conditional read-modify-write PutItem, an UpdateItem) and read every account
with TransactGetItems. Only a serial order of these writes keeps the total, never lets a balance go
negative, and shows every snapshot summing to the total; an interleaving would lose or make money."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import client_kwargs

pytestmark = pytest.mark.timeout(120)

ACCOUNTS = 8
OPENING = 100
TRANSFERS_PER_THREAD = 40
REWRITES = 40
SNAPSHOTS_PER_THREAD = 25


def account(i: int) -> dict:
    return {"pk": {"S": f"account-{i}"}}


def client(endpoint_url: str):
    kwargs = client_kwargs(endpoint_url)
    return boto3.client("dynamodb", **{**kwargs, "config": Config(retries={"max_attempts": 10, "mode": "standard"},
                                                                  max_pool_connections=4)})


def transfer(dynamodb, table: str, source: int, target: int, amount: int) -> bool:
    """Move `amount` from one account to another if the source has it; whether it moved."""
    value = {":a": {"N": str(amount)}}
    try:
        dynamodb.transact_write_items(TransactItems=[
            {"Update": {"TableName": table, "Key": account(source), "UpdateExpression": "SET balance = balance - :a",
                        "ConditionExpression": "balance >= :a", "ExpressionAttributeValues": value}},
            {"Update": {"TableName": table, "Key": account(target), "UpdateExpression": "ADD balance :a",
                        "ExpressionAttributeValues": value}},
        ])
        return True
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "TransactionCanceledException", exc.response
        assert [r["Code"] for r in exc.response["CancellationReasons"]] == ["ConditionalCheckFailed", "None"]
        return False


def rewrite(dynamodb, table: str, i: int) -> bool:
    """A single-item read-modify-write: the whole item put back with one more `visits`, on the
    condition that its balance is still the one read (else a concurrent transfer came first)."""
    item = dynamodb.get_item(TableName=table, Key=account(i), ConsistentRead=True)["Item"]
    item["visits"] = {"N": str(int(item.get("visits", {"N": "0"})["N"]) + 1)}
    try:
        dynamodb.put_item(TableName=table, Item=item, ConditionExpression="balance = :b",
                          ExpressionAttributeValues={":b": item["balance"]})
        return True
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "ConditionalCheckFailedException", exc.response
        return False


def snapshot_total(dynamodb, table: str) -> int:
    response = dynamodb.transact_get_items(TransactItems=[
        {"Get": {"TableName": table, "Key": account(i), "ProjectionExpression": "balance"}} for i in range(ACCOUNTS)])
    return sum(int(r["Item"]["balance"]["N"]) for r in response["Responses"])


def test_transfers_single_writes_and_snapshots_serialise(endpoint_url, dynamodb, table):
    for i in range(ACCOUNTS):
        dynamodb.put_item(TableName=table.name, Item={**account(i), "balance": {"N": str(OPENING)}})
    total = ACCOUNTS * OPENING
    start = threading.Barrier(7)

    def transfers(seed: int) -> int:
        rng, mine = random.Random(seed), client(endpoint_url)
        start.wait()
        moved = 0
        for _ in range(TRANSFERS_PER_THREAD):
            source, target = rng.sample(range(ACCOUNTS), 2)
            moved += transfer(mine, table.name, source, target, rng.randint(1, 80))
        return moved

    def rewrites(seed: int) -> int:
        rng, mine = random.Random(seed), client(endpoint_url)
        start.wait()
        done = 0
        for _ in range(REWRITES):
            i = rng.randrange(ACCOUNTS)
            done += rewrite(mine, table.name, i)
            mine.update_item(TableName=table.name, Key=account(i), UpdateExpression="ADD touched :one",
                             ExpressionAttributeValues={":one": {"N": "1"}})
        return done

    def snapshots(_: int) -> list[int]:
        mine = client(endpoint_url)
        start.wait()
        return [snapshot_total(mine, table.name) for _ in range(SNAPSHOTS_PER_THREAD)]

    with ThreadPoolExecutor(7) as pool:
        moved = [pool.submit(transfers, seed) for seed in range(4)]
        rewritten = pool.submit(rewrites, 99)
        seen = [pool.submit(snapshots, n) for n in range(2)]
        moved, rewritten = [f.result() for f in moved], rewritten.result()
        seen = [total for f in seen for total in f.result()]

    assert sum(moved) > 0 and rewritten > 0, "the workload did nothing: the test proves nothing"
    assert seen and all(s == total for s in seen), f"snapshots that no serial order produces: {sorted(set(seen))}"
    items = dynamodb.scan(TableName=table.name, ConsistentRead=True)["Items"]
    balances = [int(item["balance"]["N"]) for item in items]
    assert sum(balances) == total and min(balances) >= 0
    assert sum(int(item.get("visits", {"N": "0"})["N"]) for item in items) == rewritten
    assert sum(int(item.get("touched", {"N": "0"})["N"]) for item in items) == REWRITES
