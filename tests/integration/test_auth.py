"""Authentication and IAM policies on a live `cdc-bridge up` with a credentials file, through boto3,
the AWS CLI and a request signed by hand: every API on the port (DynamoDB, DynamoDB Streams,
Kinesis) checks who signed and what their policies allow, with AWS's errors."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import urllib.request

import boto3
import httpx
import orjson
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from cdc_bridge.broker import free_port
from tests.api.monitoring_helpers import PROTOCOLS, cloudwatch
from tests.conftest import wait_healthy

ACCOUNT = "000000000000"
REGION = "us-east-1"
TABLE = "MyTable"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE}"
EVERYTHING = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def study_guide_policy(resource) -> dict:
    """The study guide's first CLI example (its Statement names no Resource; IAM requires one)."""
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["dynamodb:DescribeStream", "dynamodb:ListStreams", "dynamodb:UpdateTable"],
        "Resource": resource}]}


USERS = {
    "admin": {"policies": [EVERYTHING]},
    "guide": {"policies": [study_guide_policy("*")]},
    "guide-arns": {"policies": [study_guide_policy([TABLE_ARN, f"{TABLE_ARN}/stream/*"])]},
    "no-puts": {"policies": [EVERYTHING, {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": ["dynamodb:Put*", "kinesis:PutRecord*"], "Resource": "*"}]}]},
    "own-items": {"policies": [{"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"], "Resource": TABLE_ARN,
        "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["own-items"]}}}]}]},
    "elsewhere": {"policies": [{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]}]},
    "no-policy": {"policies": []},
}


READER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/table-reader"


def credentials_file() -> dict:
    users = [{"name": name, "access_key_id": f"AKID{name.upper().replace('-', '')}",
              "secret_access_key": f"secret-{name}", **spec} for name, spec in USERS.items()]
    roles = [{"arn": READER_ROLE, "policies": [{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:DescribeTable"], "Resource": TABLE_ARN}]}]}]
    users[0]["temporary_credentials"] = [
        {"access_key_id": "ASIAADMIN", "secret_access_key": "temp-secret", "session_token": "session-token",
         "expiration": "2999-01-01T00:00:00Z"},
        {"access_key_id": "ASIAEXPIRED", "secret_access_key": "old-secret", "session_token": "old-token",
         "expiration": "2001-01-01T00:00:00Z"}]
    return {"users": users, "roles": roles}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("auth")
    path = folder / "credentials.json"
    path.write_bytes(orjson.dumps(credentials_file()))
    port = free_port()
    log = folder / "up.log"
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "cdc_bridge.cli", "up", "--broker", "memory", "--port",
                                    str(port), "--data-dir", str(folder / "data"), "--credentials-file", str(path),
                                    "--http-basic-auth"],
                                   env=env, stdout=out, stderr=out, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, 60, process, log)
        admin = client("dynamodb", url, "admin")
        admin.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                           KeySchema=[{"AttributeName": "userId", "KeyType": "HASH"}],
                           AttributeDefinitions=[{"AttributeName": "userId", "AttributeType": "S"}],
                           StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        admin.put_item(TableName=TABLE, Item={"userId": {"S": "123"}})
        client("kinesis", url, "admin").create_stream(StreamName="clicks", ShardCount=1)
        yield url, log
    finally:
        process.terminate()
        process.wait(30)


def client(service: str, url: str, user: str | None, **keys):
    if user is None:
        return boto3.client(service, endpoint_url=url, region_name=REGION, config=Config(
            signature_version=UNSIGNED, retries={"max_attempts": 1}))
    keys = keys or {"aws_access_key_id": f"AKID{user.upper().replace('-', '')}", "aws_secret_access_key": f"secret-{user}"}
    return boto3.client(service, endpoint_url=url, region_name=REGION,
                        config=Config(retries={"max_attempts": 1}), **keys)


def error_of(call) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as info:
        call()
    error = info.value.response["Error"]
    return error["Code"], error["Message"], info.value.response["ResponseMetadata"]["HTTPStatusCode"]


def stream_arn(url: str) -> str:
    return client("dynamodb", url, "admin").describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]


def test_a_signed_caller_allowed_by_its_policy_works_on_every_api(server):
    url, _ = server
    assert client("dynamodb", url, "admin").get_item(TableName=TABLE, Key={"userId": {"S": "123"}})["Item"]
    streams = client("dynamodbstreams", url, "admin")
    shards = streams.describe_stream(StreamArn=stream_arn(url))["StreamDescription"]["Shards"]
    assert shards
    kinesis = client("kinesis", url, "admin")
    kinesis.get_waiter("stream_exists").wait(StreamName="clicks", WaiterConfig={"Delay": 0.2})
    assert kinesis.put_record(StreamName="clicks", PartitionKey="k", Data=b"x")["SequenceNumber"]


def test_unknown_keys_bad_signatures_and_unsigned_calls_get_awss_errors(server):
    url, _ = server
    assert error_of(lambda: client("dynamodb", url, "x", aws_access_key_id="AKIDNOBODY",
                                   aws_secret_access_key="s").list_tables()) == (
        "UnrecognizedClientException", "The security token included in the request is invalid.", 400)
    code, message, status = error_of(lambda: client("dynamodb", url, "x", aws_access_key_id="AKIDADMIN",
                                                    aws_secret_access_key="wrong").list_tables())
    assert (code, status) == ("InvalidSignatureException", 400)
    assert message.startswith("The request signature we calculated does not match the signature you provided.")
    assert error_of(lambda: client("dynamodb", url, None).list_tables()) == (
        "MissingAuthenticationTokenException", "Request is missing Authentication Token", 400)
    code, _, _ = error_of(lambda: client("kinesis", url, None).list_streams())
    assert code == "MissingAuthenticationTokenException"


def test_the_raw_error_type_is_in_awss_namespace_for_dynamodb_and_bare_for_kinesis(server):
    url, _ = server
    for target, content_type, expected in (
            ("DynamoDB_20120810.ListTables", "application/x-amz-json-1.0",
             "com.amazon.coral.service#MissingAuthenticationTokenException"),
            ("Kinesis_20131202.ListStreams", "application/x-amz-json-1.1", "MissingAuthenticationTokenException")):
        request = urllib.request.Request(url + "/", data=b"{}", method="POST",
                                         headers={"X-Amz-Target": target, "Content-Type": content_type})
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request, timeout=10)
        assert info.value.code == 400
        assert json.loads(info.value.read())["__type"] == expected


def test_temporary_credentials_sign_with_their_session_token_until_they_expire(server):
    url, _ = server
    temporary = client("dynamodb", url, "admin", aws_access_key_id="ASIAADMIN", aws_secret_access_key="temp-secret",
                       aws_session_token="session-token")
    assert TABLE in temporary.list_tables()["TableNames"]
    expired = client("dynamodb", url, "admin", aws_access_key_id="ASIAEXPIRED", aws_secret_access_key="old-secret",
                     aws_session_token="old-token")
    assert error_of(expired.list_tables) == (
        "ExpiredTokenException", "The security token included in the request is expired", 400)


@pytest.mark.parametrize("user", ["guide", "guide-arns"])
def test_the_study_guides_policy_allows_streams_metadata_and_update_table_only(server, user):
    url, _ = server
    arn = stream_arn(url)
    streams = client("dynamodbstreams", url, user)
    listed = streams.list_streams(TableName=TABLE) if user == "guide-arns" else streams.list_streams()
    assert arn in [s["StreamArn"] for s in listed["Streams"]]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    client("dynamodb", url, user).update_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST")
    principal = f"arn:aws:iam::{ACCOUNT}:user/{user}"
    assert error_of(lambda: client("dynamodb", url, user).put_item(TableName=TABLE, Item={"userId": {"S": "9"}})) == (
        "AccessDeniedException",
        f"User: {principal} is not authorized to perform: dynamodb:PutItem on resource: {TABLE_ARN} "
        "because no identity-based policy allows the dynamodb:PutItem action", 400)
    iterator = client("dynamodbstreams", url, "admin").get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    code, message, _ = error_of(lambda: streams.get_records(ShardIterator=iterator))
    assert code == "AccessDeniedException"
    assert message == (f"User: {principal} is not authorized to perform: dynamodb:GetRecords on resource: {arn} "
                       "because no identity-based policy allows the dynamodb:GetRecords action")
    # nothing was written by the refused call
    assert "Item" not in client("dynamodb", url, "admin").get_item(TableName=TABLE, Key={"userId": {"S": "9"}})


def test_an_explicit_deny_beats_an_allow_on_dynamodb_and_kinesis(server):
    url, _ = server
    code, message, _ = error_of(lambda: client("dynamodb", url, "no-puts").put_item(
        TableName=TABLE, Item={"userId": {"S": "1"}}))
    assert code == "AccessDeniedException" and message.endswith("with an explicit deny in an identity-based policy")
    assert client("dynamodb", url, "no-puts").get_item(TableName=TABLE, Key={"userId": {"S": "123"}})["Item"]
    code, message, _ = error_of(lambda: client("kinesis", url, "no-puts").put_record(
        StreamName="clicks", PartitionKey="k", Data=b"x"))
    assert code == "AccessDeniedException"
    assert f"kinesis:PutRecord on resource: arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/clicks" in message


def test_time_to_live_calls_are_checked_as_their_own_actions_on_the_table(server):
    url, _ = server
    principal = f"arn:aws:iam::{ACCOUNT}:user/guide"
    for operation, action, call in (
            ("UpdateTimeToLive", "update_time_to_live", {"TimeToLiveSpecification": {"Enabled": True,
                                                                                     "AttributeName": "expires"}}),
            ("DescribeTimeToLive", "describe_time_to_live", {})):
        refused = error_of(lambda: getattr(client("dynamodb", url, "guide"), action)(TableName=TABLE, **call))
        assert refused == ("AccessDeniedException",
                           f"User: {principal} is not authorized to perform: dynamodb:{operation} on resource: "
                           f"{TABLE_ARN} because no identity-based policy allows the dynamodb:{operation} action", 400)
    described = client("dynamodb", url, "admin").describe_time_to_live(TableName=TABLE)
    assert described["TimeToLiveDescription"] == {"TimeToLiveStatus": "DISABLED"}  # the refused update did nothing


def test_leading_keys_limit_a_user_to_their_own_partition(server):
    url, _ = server
    own = client("dynamodb", url, "own-items")
    own.put_item(TableName=TABLE, Item={"userId": {"S": "own-items"}, "note": {"S": "mine"}})
    assert own.get_item(TableName=TABLE, Key={"userId": {"S": "own-items"}})["Item"]["note"] == {"S": "mine"}
    code, _, _ = error_of(lambda: own.get_item(TableName=TABLE, Key={"userId": {"S": "123"}}))
    assert code == "AccessDeniedException"


def test_transactions_are_authorised_per_action_as_the_single_item_calls(server):
    """TransactWriteItems asks for each action's own permission (dynamodb:PutItem, UpdateItem, ...)
    on its table, with its leading keys; TransactGetItems for dynamodb:GetItem on each."""
    url, _ = server
    own = client("dynamodb", url, "own-items")
    mine, theirs = {"userId": {"S": "own-items"}}, {"userId": {"S": "123"}}
    own.transact_write_items(TransactItems=[{"Put": {"TableName": TABLE, "Item": {**mine, "tx": {"S": "yes"}}}}])
    assert own.transact_get_items(TransactItems=[{"Get": {"TableName": TABLE, "Key": mine}}])[
        "Responses"][0]["Item"]["tx"] == {"S": "yes"}
    code, message, _ = error_of(lambda: own.transact_write_items(TransactItems=[
        {"Update": {"TableName": TABLE, "Key": mine, "UpdateExpression": "SET tx = :v",
                    "ExpressionAttributeValues": {":v": {"S": "no"}}}}]))
    assert code == "AccessDeniedException" and f"dynamodb:UpdateItem on resource: {TABLE_ARN}" in message
    code, _, _ = error_of(lambda: own.transact_get_items(TransactItems=[
        {"Get": {"TableName": TABLE, "Key": mine}}, {"Get": {"TableName": TABLE, "Key": theirs}}]))
    assert code == "AccessDeniedException"
    assert own.get_item(TableName=TABLE, Key=mine)["Item"]["tx"] == {"S": "yes"}


def test_source_ip_conditions_see_the_callers_address(server):
    url, _ = server
    code, _, _ = error_of(lambda: client("dynamodb", url, "elsewhere").list_tables())
    assert code == "AccessDeniedException"
    assert error_of(lambda: client("dynamodb", url, "no-policy").list_tables())[0] == "AccessDeniedException"


def test_the_aws_cli_signs_and_is_checked_like_any_sdk(server):
    url, _ = server
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "AKIDGUIDE", "AWS_SECRET_ACCESS_KEY": "secret-guide",
           "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": url, "AWS_MAX_ATTEMPTS": "1"}
    listed = subprocess.run(["aws", "dynamodbstreams", "list-streams"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["Streams"]
    put = subprocess.run(["aws", "dynamodb", "put-item", "--table-name", TABLE, "--item", '{"userId": {"S": "cli"}}'],
                         env=env, capture_output=True, text=True, timeout=60)
    assert put.returncode != 0 and "AccessDeniedException" in put.stderr


def test_a_request_signed_by_hand_following_the_specification(server):
    """SigV4 from its published steps, without botocore: canonical request, string to sign,
    signing key, signature."""
    url, _ = server
    host = url.removeprefix("http://")
    body = b"{}"
    now = dt.datetime.now(dt.UTC)
    amz_date, date = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    headers = {"content-type": "application/x-amz-json-1.0", "host": host, "x-amz-date": amz_date,
               "x-amz-target": "DynamoDB_20120810.ListTables"}
    signed = ";".join(sorted(headers))
    canonical = "\n".join(["POST", "/", "", "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)), signed,
                           hashlib.sha256(body).hexdigest()])
    scope = f"{date}/{REGION}/dynamodb/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = b"AWS4" + b"secret-admin"
    for part in (date, REGION, "dynamodb", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    authorization = f"AWS4-HMAC-SHA256 Credential=AKIDADMIN/{scope}, SignedHeaders={signed}, Signature={signature}"
    request = urllib.request.Request(url + "/", data=body, method="POST",
                                     headers={**{k: v for k, v in headers.items() if k != "host"},
                                              "Authorization": authorization})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert TABLE in json.loads(response.read())["TableNames"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_cloudwatch_calls_are_signed_and_checked_in_every_protocol(server, protocol, tmp_path):
    """The CBOR path and the query form are signed like JSON, and checked as cloudwatch:<Operation>."""
    url, _ = server

    def keys(user: str) -> dict:
        return {"aws_access_key_id": f"AKID{user.upper()}", "aws_secret_access_key": f"secret-{user}"}

    admin = cloudwatch(url, protocol, tmp_path, keys("admin"))
    assert isinstance(admin.list_metrics(Namespace="AWS/DynamoDB")["Metrics"], list)
    code, message, status = error_of(lambda: cloudwatch(url, protocol, tmp_path, keys("guide")).list_metrics())
    assert (status, code) == (400, "AccessDeniedException") and "cloudwatch:ListMetrics" in message
    wrong = {"aws_access_key_id": "AKIDADMIN", "aws_secret_access_key": "wrong"}
    code, _, status = error_of(lambda: cloudwatch(url, protocol, tmp_path, wrong).list_metrics())
    assert (status, code) == (400, "InvalidSignatureException")


def test_health_stays_open_without_a_signature(server):
    url, _ = server
    with urllib.request.urlopen(url + "/health", timeout=10) as response:
        assert json.loads(response.read())["status"] == "ready"


@pytest.mark.parametrize("path", ["/metrics", "/subjects"])
def test_metrics_and_the_schema_registry_take_http_basic_auth(server, path):
    url, _ = server

    def get(user: str | None, secret: str = "") -> int:
        headers = {}
        if user:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()
        try:
            with urllib.request.urlopen(urllib.request.Request(url + path, headers=headers), timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    assert get(None) == 401
    assert get("AKIDADMIN", "wrong") == 401
    assert get("AKIDNOBODY", "secret-admin") == 401
    assert get("AKIDADMIN", "secret-admin") == 200


def test_a_non_loopback_address_without_credentials_is_refused_unless_allowed(tmp_path):
    port = free_port()
    refused = subprocess.run([sys.executable, "-m", "cdc_bridge.cli", "table-api", "--host", "0.0.0.0", "--port",
                              str(port), "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    assert "refusing to serve 0.0.0.0 without credentials" in refused.stderr
    allowed = subprocess.Popen([sys.executable, "-m", "cdc_bridge.cli", "table-api", "--host", "0.0.0.0", "--port",
                                str(port), "--data-dir", str(tmp_path), "--allow-anonymous"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", 30, allowed)
    finally:
        allowed.terminate()
        allowed.wait(30)


def test_a_broken_credentials_file_stops_the_start_naming_the_entry(tmp_path):
    path = tmp_path / "credentials.json"
    path.write_text('{"users": [{"name": "x", "access_key_id": "A"}]}')
    result = subprocess.run([sys.executable, "-m", "cdc_bridge.cli", "table-api", "--port", str(free_port()),
                             "--data-dir", str(tmp_path), "--credentials-file", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "users[0]: 'secret_access_key' must be a non-empty string" in result.stderr


def test_time_skew_beyond_fifteen_minutes_is_refused(server):
    url, _ = server
    from unittest import mock

    later = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=20)
    dynamodb = client("dynamodb", url, "admin")
    with mock.patch("botocore.auth.datetime.datetime") as clock:
        clock.utcnow.return_value = later
        clock.now.return_value = later
        clock.strptime = dt.datetime.strptime
        code, message, _ = error_of(dynamodb.list_tables)
    assert code == "InvalidSignatureException" and message.startswith("Signature expired:")
    time.sleep(0)  # the server's clock is the real one: nothing else to wait for


@pytest.mark.parametrize("arn", [f"arn:aws:dynamodb:{REGION}:111111111111:table/{TABLE}",
                                 f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/{TABLE}"])
def test_tagging_an_arn_of_another_account_or_region_is_access_denied(server, arn):
    url, _ = server
    code, message, status = error_of(lambda: client("dynamodb", url, "admin").tag_resource(
        ResourceArn=arn, Tags=[{"Key": "team", "Value": "x"}]))
    assert (code, status) == ("AccessDeniedException", 400)
    assert message == (f"User: arn:aws:iam::{ACCOUNT}:user/admin is not authorized to perform: dynamodb:TagResource "
                       f"on resource: {arn} because no resource-based policy allows the dynamodb:TagResource action")
    assert client("dynamodb", url, "admin").list_tags_of_resource(ResourceArn=TABLE_ARN)["Tags"] == []
    code, _, _ = error_of(lambda: client("kinesis", url, "admin").add_tags_to_stream(
        StreamARN=arn.replace(":dynamodb:", ":kinesis:").replace(f"table/{TABLE}", "stream/clicks"), Tags={"a": "b"}))
    assert code == "AccessDeniedException"


def test_without_credentials_a_foreign_arn_is_refused_too(endpoint_url):
    foreign = f"arn:aws:dynamodb:{REGION}:111111111111:table/anything"
    code, message, _ = error_of(lambda: boto3.client(
        "dynamodb", endpoint_url=endpoint_url, region_name=REGION, aws_access_key_id="x",
        aws_secret_access_key="x", config=Config(retries={"max_attempts": 1})).tag_resource(
        ResourceArn=foreign, Tags=[{"Key": "k", "Value": "v"}]))
    assert code == "AccessDeniedException"
    assert message.startswith(f"User: arn:aws:iam::{ACCOUNT}:root is not authorized to perform: dynamodb:TagResource")


def test_lambda_calls_are_signed_and_checked_like_every_other_api(server):
    """The Lambda REST routes pass the same gate: an unsigned call is refused, a signed one is checked
    against `lambda:<Operation>` (Invoke: `lambda:InvokeFunction`) on the function's ARN."""
    from tests.api.lambda_functions.helpers import ROLE, python_package

    url, _ = server
    admin = client("lambda", url, "admin")
    admin.create_function(FunctionName="authz-echo", Runtime="python3.11", Role=ROLE, Handler="app.handler",
                          Code={"ZipFile": python_package("def handler(event, context):\n    return event\n")})
    assert "authz-echo" in [f["FunctionName"] for f in admin.list_functions()["Functions"]]
    assert admin.invoke(FunctionName="authz-echo", Payload=b'{"n": 1}')["Payload"].read() == b'{"n": 1}'
    code, _, status = error_of(lambda: client("lambda", url, None).list_functions())
    assert (code, status) == ("MissingAuthenticationTokenException", 403)
    code, _, status = error_of(lambda: client("lambda", url, "x", aws_access_key_id="AKIDADMIN",
                                              aws_secret_access_key="wrong").list_functions())
    assert (code, status) == ("InvalidSignatureException", 403)
    function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:authz-echo"
    assert error_of(lambda: client("lambda", url, "guide").invoke(FunctionName="authz-echo", Payload=b"{}")) == (
        "AccessDeniedException",
        f"User: arn:aws:iam::{ACCOUNT}:user/guide is not authorized to perform: lambda:InvokeFunction on resource: "
        f"{function_arn} because no identity-based policy allows the lambda:InvokeFunction action", 403)
    code, message, _ = error_of(lambda: client("lambda", url, "guide").list_functions())
    assert code == "AccessDeniedException" and "lambda:ListFunctions on resource: *" in message
    uuid = "2b2dd2e4-0f8d-4c39-9fc4-1c9b2f29a0f4"
    code, message, _ = error_of(lambda: client("lambda", url, "guide").get_event_source_mapping(UUID=uuid))
    assert code == "AccessDeniedException" and \
        f"lambda:GetEventSourceMapping on resource: arn:aws:lambda:{REGION}:{ACCOUNT}:event-source-mapping:{uuid}" \
        in message
    assert admin.list_event_source_mappings()["EventSourceMappings"] == []


def test_a_presigned_url_is_checked_like_a_signed_request(server):
    """SigV4 in the query string (boto3's generate_presigned_url): the URL works alone, for its
    signer's rights, until it expires; altered, it is refused."""
    url, _ = server
    presigned = client("lambda", url, "admin").generate_presigned_url("list_functions", ExpiresIn=60)
    answer = httpx.get(presigned)
    assert answer.status_code == 200 and "Functions" in answer.json()
    assert httpx.get(presigned.replace("X-Amz-Expires=60", "X-Amz-Expires=600")).status_code == 403
    denied = httpx.get(client("lambda", url, "guide").generate_presigned_url("list_functions", ExpiresIn=60))
    assert denied.status_code == 403 and denied.headers["x-amzn-ErrorType"].startswith("AccessDeniedException")


HANDLER_CALLING_BACK = """
import boto3

def handler(event, context):
    dynamodb = boto3.client("dynamodb")
    item = dynamodb.get_item(TableName="MyTable", Key={"userId": {"S": "123"}})["Item"]
    try:
        dynamodb.put_item(TableName="MyTable", Item={"userId": {"S": "from-lambda"}})
        put = "allowed"
    except Exception as exc:
        put = type(exc).__name__ + ": " + str(exc)
    return {"read": item["userId"]["S"], "put": put}
"""


def test_a_function_signs_its_sdk_calls_as_a_session_of_its_role(server):
    """Under a credentials file, a handler's boto3 calls back to the server are signed with a
    session of the function's Role, and that role's policies decide: reading is allowed here,
    writing is refused with the assumed-role principal in the message."""
    from tests.api.lambda_functions.helpers import python_package

    url, _ = server
    admin = client("lambda", url, "admin")
    admin.create_function(FunctionName="role-reader", Runtime="python3.11", Role=READER_ROLE, Handler="app.handler",
                          Code={"ZipFile": python_package(HANDLER_CALLING_BACK)}, Timeout=30)
    answer = admin.invoke(FunctionName="role-reader", Payload=b"{}")
    assert "FunctionError" not in answer, answer["Payload"].read()
    result = json.loads(answer["Payload"].read())
    assert result["read"] == "123"
    assert result["put"].startswith("ClientError: An error occurred (AccessDeniedException)")
    assert (f"User: arn:aws:sts::{ACCOUNT}:assumed-role/table-reader/role-reader is not authorized to perform: "
            f"dynamodb:PutItem on resource: {TABLE_ARN}") in result["put"]


def test_firehose_calls_are_checked_against_firehose_actions_on_the_delivery_stream_arn(server):
    url, _ = server
    admin = client("firehose", url, "admin")
    admin.create_delivery_stream(DeliveryStreamName="archive", ExtendedS3DestinationConfiguration={
        "RoleARN": f"arn:aws:iam::{ACCOUNT}:role/firehose", "BucketARN": "arn:aws:s3:::archive"})
    assert "archive" in admin.list_delivery_streams()["DeliveryStreamNames"]
    code, message, _ = error_of(lambda: client("firehose", url, "guide").describe_delivery_stream(
        DeliveryStreamName="archive"))
    assert code == "AccessDeniedException"
    assert f"firehose:DescribeDeliveryStream on resource: arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/archive" \
        in message
    code, _, _ = error_of(lambda: client("firehose", url, None).list_delivery_streams())
    assert code == "MissingAuthenticationTokenException"
