"""Transport and limits of `cdc-bridge up` over real HTTP: TLS with a CA made here, Kafka client
settings, the browser guard on loopback (Host, Origin), body, header and nesting limits."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import subprocess
import sys
import time

import boto3
import httpx
import orjson
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, SSLError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import CREDENTIALS, REGION, ServerProcess

CLI = [sys.executable, "-m", "cdc_bridge.cli"]
LIST_TABLES = {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"}


# -- a test CA and a server certificate for 127.0.0.1 and localhost -----------------------------------

def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, key, issuer: str, issuer_key, ca: bool, names: list | None = None) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("cdc-bridge test CA", ca_key, "cdc-bridge test CA", ca_key, ca=True)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    server = _certificate("localhost", server_key, "cdc-bridge test CA", ca_key, ca=False, names=names)
    (folder / "ca.pem").write_bytes(_pem(ca))
    (folder / "server.pem").write_bytes(_pem(server))
    (folder / "server.key").write_bytes(server_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return folder


def dynamodb(url: str, **kwargs):
    return boto3.client("dynamodb", endpoint_url=url, region_name=REGION, **CREDENTIALS,
                        config=Config(retries={"max_attempts": 1}), **kwargs)


@pytest.fixture(scope="module")
def tls_server(tls_files, tmp_path_factory):
    server = ServerProcess("up", tmp_path_factory.mktemp("tls-up"), "--broker", "memory",
                           "--tls-cert", str(tls_files / "server.pem"), "--tls-key", str(tls_files / "server.key"))
    server.scheme = "https"
    _start_with_tls(server, tls_files / "ca.pem")
    yield server
    server.stop()


def _start_with_tls(server: ServerProcess, ca) -> None:
    """ServerProcess.start, with /health asked over TLS."""
    server.start(wait=lambda timeout_s: _wait_healthy_over_tls(server, ca, timeout_s))


def _wait_healthy_over_tls(server: ServerProcess, ca, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited with {server.process.returncode}:\n{server.log_path.read_text()}")
        try:
            trusting = ssl.create_default_context(cafile=ca)
            if httpx.get(f"{server.url}/health", verify=trusting, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{server.url} not healthy over TLS")


def test_boto3_talks_to_the_tls_port_when_it_trusts_the_ca(tls_server, tls_files):
    client = dynamodb(tls_server.url, verify=str(tls_files / "ca.pem"))
    assert client.list_tables()["TableNames"] == []


def test_boto3_refuses_the_tls_port_without_the_ca(tls_server):
    with pytest.raises(SSLError):
        dynamodb(tls_server.url).list_tables()


def test_plain_http_on_the_tls_port_gets_no_answer(tls_server):
    with pytest.raises(httpx.TransportError):
        httpx.post(tls_server.url.replace("https://", "http://"), headers=LIST_TABLES, content=b"{}", timeout=2)


def test_a_certificate_without_its_key_is_refused_at_start(tls_files, tmp_path):
    result = subprocess.run([*CLI, "up", "--data-dir", str(tmp_path), "--tls-cert", str(tls_files / "server.pem")],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "--tls-cert and --tls-key go together" in result.stderr


# -- Kafka client settings --------------------------------------------------------------------------

def test_an_unknown_kafka_setting_stops_the_start_with_librdkafkas_reason(tmp_path):
    result = subprocess.run([*CLI, "up", "--broker", "memory", "--data-dir", str(tmp_path),
                             "--kafka-config", "no.such.setting=1"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "No such configuration property" in result.stderr and "no.such.setting" in result.stderr


def test_a_kafka_properties_file_is_read_and_checked(tmp_path):
    path = tmp_path / "client.properties"
    path.write_text("security.protocol=SSL\nssl.ca.location=/nonexistent/ca.pem\n")
    result = subprocess.run([*CLI, "connector", "--data-dir", str(tmp_path), "--kafka-config-file", str(path)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "ssl.ca.location" in result.stderr


def test_kafka_settings_reach_the_clients_of_a_running_server(tmp_path):
    """client.id is sent to the broker; with a valid setting the server works end to end."""
    server = ServerProcess("up", tmp_path, "--broker", "memory", "--kafka-config", "client.id=cdc-bridge-test",
                           env={"CDC_BRIDGE_KAFKA_CONFIG": "socket.keepalive.enable=true"})
    server.start()
    try:
        client = dynamodb(server.url)
        client.create_table(TableName="tls", BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
        client.put_item(TableName="tls", Item={"pk": {"S": "a"}})
        assert httpx.get(f"{server.url}/health").json()["status"] == "ready"
    finally:
        server.stop()


# -- the browser guard, body, header and nesting limits on one loopback server ------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = ServerProcess("up", tmp_path_factory.mktemp("limits"), "--broker", "memory").start()
    yield server
    server.stop()


def post(url: str, body: bytes = b"{}", target: str = "DynamoDB_20120810.ListTables", **headers) -> httpx.Response:
    return httpx.post(url, content=body, timeout=30, headers={
        "X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0", **headers})


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "192.168.0.10"])
def test_a_foreign_host_header_is_refused_with_403_dns_rebinding(server, host):
    response = post(server.url, Host=host)
    assert response.status_code == 403
    assert response.json()["__type"] == "com.amazonaws.dynamodb.v20120810#AccessDeniedException"


def test_health_is_guarded_too_since_every_local_client_names_a_loopback_host(server):
    assert httpx.get(f"{server.url}/health", headers={"Host": "evil.example"}).status_code == 403
    assert httpx.get(f"{server.url}/health", headers={"Host": "localhost"}).status_code == 200


def test_a_web_page_origin_is_refused_and_our_own_is_allowed(server):
    assert post(server.url, Origin="https://evil.example").status_code == 403
    assert post(server.url, Origin="null").status_code == 403
    own = server.url.replace("127.0.0.1", "localhost")
    assert post(server.url, Origin=own).status_code == 200


def test_kinesis_gets_its_own_error_shape_for_a_refusal(server):
    response = httpx.post(server.url, content=b"{}", headers={
        "X-Amz-Target": "Kinesis_20131202.ListStreams", "Content-Type": "application/x-amz-json-1.1",
        "Origin": "http://evil.example"})
    assert response.status_code == 403
    assert response.json()["__type"] == "AccessDeniedException"


def raw_exchange(port: int, head: bytes, body: bytes = b"") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        if body:
            try:
                sock.sendall(body)
            except OSError:  # the server answered and closed while the body was still coming
                pass
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
        return answer


def test_a_body_declared_over_16_mb_gets_413_before_it_is_sent(server):
    answer = raw_exchange(server.port, b"POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: "
                                       b"DynamoDB_20120810.PutItem\r\nContent-Length: 16777217\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"RequestEntityTooLarge" in answer


def test_a_chunked_body_over_16_mb_is_cut_off_with_413(server):
    chunk = b"x" * (1 << 20)
    body = b"".join(b"100000\r\n" + chunk + b"\r\n" for _ in range(17)) + b"0\r\n\r\n"
    answer = raw_exchange(server.port, b"POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: "
                                       b"DynamoDB_20120810.PutItem\r\nTransfer-Encoding: chunked\r\n\r\n", body)
    assert answer.startswith(b"HTTP/1.1 413 ")


def test_a_body_just_under_the_limit_is_read_and_answered_by_the_operation(server):
    padding = "x" * (16 * 1024 * 1024 - 100)
    response = post(server.url, orjson.dumps({"TableName": "t", "Key": {"pk": {"S": padding}}}),
                    target="DynamoDB_20120810.GetItem")
    assert response.status_code == 400 and "ValidationException" in response.json()["__type"]


@pytest.mark.parametrize("head, why", [
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n", b"Request line exceeds"),
    (b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n", b"Request headers exceed"),
    (b"GET /health HTTP/1.1\r\nHost: localhost\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(101)) + b"\r\n",
     b"More than 100 headers"),
])
def test_a_request_line_or_headers_over_the_limits_get_400(server, head, why):
    answer = raw_exchange(server.port, head)
    assert answer.startswith(b"HTTP/1.1 400 ") and why in answer


def test_an_endless_header_is_cut_off_without_waiting_for_its_end(server):
    answer = raw_exchange(server.port, b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Endless: " + b"a" * 200_000)
    assert answer.startswith(b"HTTP/1.1 400 ")


@pytest.mark.parametrize("target, content_type", [
    ("DynamoDB_20120810.PutItem", "application/x-amz-json-1.0"),
    ("DynamoDBStreams_20120810.GetRecords", "application/x-amz-json-1.0"),
    ("Kinesis_20131202.PutRecord", "application/x-amz-json-1.1"),
])
@pytest.mark.parametrize("depth", [101, 1000, 1025, 100_000])
def test_json_nested_deeper_than_any_valid_request_is_a_client_error(server, target, content_type, depth):
    body = b'{"TableName": "t", "Item": {"a": ' + b'{"L": [' * depth + b'{"S": "x"}' + b"]}" * depth + b"}}"
    response = post(server.url, body, target=target, **{"Content-Type": content_type})
    assert response.status_code == 400
    assert response.json()["__type"].rsplit("#", 1)[-1] in ("ValidationException", "SerializationException")


def test_a_dynamodb_item_nested_past_32_levels_is_refused_with_awss_message(server):
    value = {"S": "x"}
    for _ in range(33):
        value = {"M": {"k": value}}
    client = dynamodb(server.url)
    client.create_table(TableName="deep", BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    with pytest.raises(ClientError, match="Nesting Levels have exceeded supported limits"):
        client.put_item(TableName="deep", Item={"pk": {"S": "a"}, "v": value})


def test_kinesis_put_records_over_500_entries_is_refused(server):
    kinesis = boto3.client("kinesis", endpoint_url=server.url, region_name=REGION, **CREDENTIALS,
                           config=Config(retries={"max_attempts": 1}, parameter_validation=False))
    records = [{"Data": b"x", "PartitionKey": "k"} for _ in range(501)]
    with pytest.raises(ClientError, match="length less than or equal to 500"):
        kinesis.put_records(StreamName="s", Records=records)


# -- HTTP/1.1 details every SDK relies on: pipelining, Expect: 100-continue, HTTP/1.0, chunked bodies --

def aws_request(target: str, body: dict, *extra: bytes, version: bytes = b"1.1") -> bytes:
    data = orjson.dumps(body)
    head = [b"POST / HTTP/" + version, b"Host: localhost", b"X-Amz-Target: " + target.encode(),
            b"Content-Type: application/x-amz-json-1.0", b"Content-Length: %d" % len(data), *extra]
    return b"\r\n".join(head) + b"\r\n\r\n" + data


def read_answers(stream, count: int) -> list[tuple[int, dict[bytes, bytes], bytes]]:
    """`count` HTTP responses from a socket's file: (status, headers, body); 1xx answers skipped."""
    answers = []
    while len(answers) < count:
        status = int(stream.readline().split()[1])
        headers = {}
        while (line := stream.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        if status >= 200:
            answers.append((status, headers, stream.read(int(headers.get(b"content-length", b"0")))))
    return answers


DESCRIBE_STREAM = "DynamoDBStreams_20120810.DescribeStream"  # an awaited operation


@pytest.fixture(scope="module")
def http_table(server):
    table = "http-answers"
    response = post(server.url, orjson.dumps({
        "TableName": table, "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}}),
        target="DynamoDB_20120810.CreateTable")
    assert response.status_code == 200, response.text
    arn = response.json()["TableDescription"]["LatestStreamArn"]
    deadline = time.monotonic() + 30
    while post(server.url, orjson.dumps({"StreamArn": arn}), target=DESCRIBE_STREAM).status_code != 200:
        assert time.monotonic() < deadline, "the stream never became known"
        time.sleep(0.1)
    return table, arn


def test_pipelined_calls_are_answered_in_order_around_one_that_waits(server, http_table):
    """A write, a DynamoDB Streams call (an awaited operation) and two item calls sent at once:
    the answers come in the order of the requests, each the right one."""
    table, arn = http_table
    item = {"pk": {"S": "pipelined"}, "n": {"N": "1"}}
    burst = b"".join([
        aws_request("DynamoDB_20120810.PutItem", {"TableName": table, "Item": item}),
        aws_request(DESCRIBE_STREAM, {"StreamArn": arn}),
        aws_request("DynamoDB_20120810.GetItem", {"TableName": table, "Key": {"pk": {"S": "pipelined"}}}),
        aws_request("DynamoDB_20120810.GetItem", {"TableName": "no-such-table", "Key": {"pk": {"S": "x"}}}),
    ])
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(burst)
        answers = read_answers(sock.makefile("rb"), 4)
    assert [status for status, _, _ in answers] == [200, 200, 200, 400]
    assert orjson.loads(answers[0][2]) == {}
    assert orjson.loads(answers[1][2])["StreamDescription"]["StreamArn"] == arn
    assert orjson.loads(answers[2][2]) == {"Item": item}
    assert orjson.loads(answers[3][2])["__type"].endswith("ResourceNotFoundException")


def test_answers_carry_their_type_length_and_date_on_a_kept_connection(server, http_table):
    table, _ = http_table
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        stream = sock.makefile("rb")
        for n in range(3):
            sock.sendall(aws_request("DynamoDB_20120810.PutItem",
                                     {"TableName": table, "Item": {"pk": {"S": f"kept-{n}"}}}))
            [(status, headers, body)] = read_answers(stream, 1)
            assert status == 200 and body == b"{}"
            assert headers[b"content-type"] == b"application/x-amz-json-1.0"
            assert headers[b"content-length"] == b"2" and b"date" in headers and b"connection" not in headers


def test_expect_continue_http_1_0_and_chunked_calls_are_answered_too(server, http_table):
    table, _ = http_table
    put = {"TableName": table, "Item": {"pk": {"S": "continued"}}}
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        head, _, body = aws_request("DynamoDB_20120810.PutItem", put, b"Expect: 100-continue").partition(b"\r\n\r\n")
        sock.sendall(head + b"\r\n\r\n")
        stream = sock.makefile("rb")
        assert stream.readline().startswith(b"HTTP/1.1 100 ")
        stream.readline()
        sock.sendall(body)
        assert read_answers(stream, 1)[0][0] == 200
    answer = raw_exchange(server.port, aws_request("DynamoDB_20120810.GetItem", {
        "TableName": table, "Key": {"pk": {"S": "continued"}}}, version=b"1.0"))
    assert answer.startswith(b"HTTP/1.1 200 ") and b'"continued"' in answer  # and the server closed it
    data = orjson.dumps({"TableName": table, "Item": {"pk": {"S": "chunked"}}})
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: DynamoDB_20120810.PutItem\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % len(data) + data + b"\r\n0\r\n\r\n")
        assert read_answers(sock.makefile("rb"), 1)[0][0] == 200
