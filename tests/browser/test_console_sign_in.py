"""Signing in to the console on a server with a credentials file: the form's key and secret (and, for
temporary credentials, their session token) become an HttpOnly, SameSite=Strict session cookie (Secure
under TLS), under which the console's calls, its live tail and its charts act as that user, with that
user's policies; nothing works signed out. Lockouts and the end of a temporary session are stepped
through on a clock in tests/integration/test_console_sign_in_limits.py."""

from __future__ import annotations

import datetime as dt
import re
import ssl
import time
import uuid

import httpx
import orjson
import pytest

from tests.browser.conftest import watch
from tests.conftest import ServerProcess
from tests.integration.test_transport import _start_with_tls, tls_files  # noqa: F401  (tls_files: a fixture)

ACCOUNT = "000000000000"
EVERYTHING = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
READ_ONLY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
    "dynamodb:ListTables", "dynamodb:DescribeTable", "dynamodb:Scan", "dynamodb:Query"]}]}  # no DescribeTimeToLive
USERS = {"admin": [EVERYTHING], "reader": [READ_ONLY]}
TABLE = "Guide"
DYNAMODB = "DynamoDB_20120810."


# the admin's temporary credentials: one for an hour from the file's writing, one expired
TEMPORARY = [{"access_key_id": "ASIAADMIN", "secret_access_key": "temp-secret", "session_token": "temp-token"},
             {"access_key_id": "ASIAEXPIRED", "secret_access_key": "old-secret", "session_token": "old-token",
              "expiration": "2026-01-01T00:00:00Z"}]


def credentials(tmp_path_factory):
    path = tmp_path_factory.mktemp("console-credentials") / "credentials.json"
    in_an_hour = dt.datetime.fromtimestamp(time.time() + 3600, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    path.write_bytes(orjson.dumps({"users": [
        {"name": name, "access_key_id": f"AKID{name.upper()}", "secret_access_key": f"secret-{name}",
         "policies": policies, "temporary_credentials": [{"expiration": in_an_hour, **t} for t in TEMPORARY]
         if name == "admin" else []} for name, policies in USERS.items()]}))
    return path


@pytest.fixture(scope="module")
def server(broker, tmp_path_factory):
    process = ServerProcess("up", tmp_path_factory.mktemp("console-auth"), "--kafka-bootstrap-servers",
                            broker.bootstrap_servers, "--credentials-file", str(credentials(tmp_path_factory)),
                            "--http-basic-auth")
    process.start()
    admin = signed_in(process.url, "admin")
    call(process.url, admin, "CreateTable", {
        "TableName": TABLE, "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "userId", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "userId", "AttributeType": "S"}],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}}).raise_for_status()
    yield process
    process.stop()


def sign_in(url: str, user: str, secret: str | None = None, **kwargs) -> httpx.Response:
    return httpx.post(f"{url}/console/session", timeout=10, **kwargs,
                      json={"accessKeyId": f"AKID{user.upper()}", "secretAccessKey": secret or f"secret-{user}"})


def signed_in(url: str, user: str) -> dict[str, str]:
    response = sign_in(url, user)
    response.raise_for_status()
    return dict(response.cookies)


def call(url: str, cookies: dict, operation: str, request: dict, target: str = DYNAMODB) -> httpx.Response:
    return httpx.post(f"{url}/", cookies=cookies, timeout=10, content=orjson.dumps(request),
                      headers={"X-Amz-Target": target + operation, "Content-Type": "application/x-amz-json-1.0"})


def error_type(response: httpx.Response) -> str:
    return response.json()["__type"].rpartition("#")[2]


def test_the_console_asks_for_a_sign_in_and_nothing_works_without_one(server):
    assert httpx.get(f"{server.url}/console/session").json() == {"signInRequired": True, "user": None}
    response = call(server.url, {}, "ListTables", {})
    assert response.status_code == 400 and error_type(response) == "MissingAuthenticationTokenException"
    assert httpx.get(f"{server.url}/metrics").status_code == 401


def test_a_wrong_secret_or_unknown_key_is_refused_without_a_cookie(server):
    for response in (sign_in(server.url, "admin", "not-the-secret"), sign_in(server.url, "nobody")):
        assert response.status_code == 403
        assert response.json() == {"__type": "UnrecognizedClientException",
                                   "message": "The security token included in the request is invalid."}
        assert "set-cookie" not in response.headers


def test_the_session_cookie_is_httponly_and_samesite_strict(server):
    response = sign_in(server.url, "admin")
    assert response.json() == {"user": {"name": "admin", "arn": f"arn:aws:iam::{ACCOUNT}:user/admin"}}
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert "secure" not in cookie  # plain HTTP: a Secure cookie would never be sent back


def test_temporary_credentials_sign_in_with_their_session_token_for_their_remaining_time(server):
    response = httpx.post(f"{server.url}/console/session", timeout=10, json={
        "accessKeyId": "ASIAADMIN", "secretAccessKey": "temp-secret", "sessionToken": "temp-token"})
    assert response.json() == {"user": {"name": "admin", "arn": f"arn:aws:iam::{ACCOUNT}:user/admin"}}
    max_age = int(re.search(r"max-age=(\d+)", response.headers["set-cookie"].lower())[1])
    assert 0 < max_age <= 3600  # the session ends with the credentials, not after the console's 12 hours
    assert call(server.url, dict(response.cookies), "ListTables", {}).json()["TableNames"] == [TABLE]
    for token in (None, "other-token"):
        refused = httpx.post(f"{server.url}/console/session", timeout=10, json={
            "accessKeyId": "ASIAADMIN", "secretAccessKey": "temp-secret", "sessionToken": token})
        assert refused.status_code == 403 and error_type(refused) == "UnrecognizedClientException"


def test_expired_credentials_are_refused_with_expired_token_exception(server):
    response = httpx.post(f"{server.url}/console/session", timeout=10, json={
        "accessKeyId": "ASIAEXPIRED", "secretAccessKey": "old-secret", "sessionToken": "old-token"})
    assert (response.status_code, response.json()) == (403, {
        "__type": "ExpiredTokenException", "message": "The security token included in the request is expired"})
    assert "set-cookie" not in response.headers


def test_calls_under_the_session_act_as_that_user_with_its_policies(server):
    reader = signed_in(server.url, "reader")
    assert call(server.url, reader, "ListTables", {}).json()["TableNames"] == [TABLE]
    denied = call(server.url, reader, "PutItem", {"TableName": TABLE, "Item": {"userId": {"S": "x"}}})
    assert error_type(denied) == "AccessDeniedException"
    assert denied.json()["message"].startswith(
        f"User: arn:aws:iam::{ACCOUNT}:user/reader is not authorized to perform: dynamodb:PutItem on resource: "
        f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{TABLE}")
    assert httpx.get(f"{server.url}/metrics", cookies=reader).status_code == 200  # the charts' source


def test_lambdas_rest_routes_take_the_session_too(server):
    assert httpx.get(f"{server.url}/2015-03-31/functions", cookies=signed_in(server.url, "admin")).json() == {
        "Functions": []}
    denied = httpx.get(f"{server.url}/2015-03-31/functions", cookies=signed_in(server.url, "reader"))
    assert denied.status_code == 403 and denied.headers["x-amzn-errortype"].startswith("AccessDeniedException")


def test_signing_out_ends_the_session(server):
    admin = signed_in(server.url, "admin")
    assert httpx.delete(f"{server.url}/console/session", cookies=admin).status_code == 200
    response = call(server.url, admin, "ListTables", {})
    assert error_type(response) == "MissingAuthenticationTokenException"


def tail_first_event(url: str, cookies: dict, arn: str) -> tuple[str, dict]:
    with httpx.stream("GET", f"{url}/console/tail", params={"streamArn": arn, "start": "LATEST"}, cookies=cookies,
                      timeout=30) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        event = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                return event, orjson.loads(line.removeprefix("data: "))
    raise AssertionError("the tail ended without an event")


def test_the_live_tail_reads_the_stream_as_the_signed_in_user(server):
    admin = signed_in(server.url, "admin")
    arn = call(server.url, admin, "DescribeTable", {"TableName": TABLE}).json()["Table"]["LatestStreamArn"]
    event, shards = tail_first_event(server.url, admin, arn)
    assert event == "shards" and len(shards) == 4
    event, error = tail_first_event(server.url, signed_in(server.url, "reader"), arn)
    assert event == "api-error" and error["__type"] == "AccessDeniedException"
    assert f"user/reader is not authorized to perform: dynamodb:DescribeStream on resource: {arn}" in error["message"]
    event, error = tail_first_event(server.url, {}, arn)
    assert (event, error["__type"]) == ("api-error", "MissingAuthenticationTokenException")


def test_signing_in_through_the_form(server, browser_context, page_errors, screenshots):
    page = browser_context.new_page()
    watch(page, page_errors)
    page.goto(f"{server.url}/console")
    form = page.get_by_role("dialog", name="Sign in")
    form.get_by_label("Access key ID").fill("AKIDADMIN")
    form.get_by_label("Secret access key").fill("wrong")
    form.get_by_role("button", name="Sign in").click()
    refusal = "UnrecognizedClientException: The security token included in the request is invalid."
    alert = form.get_by_role("alert").filter(has_text=refusal)  # the alert line is there, empty, before
    alert.wait_for()
    assert alert.inner_text() == refusal
    page.screenshot(path=screenshots / "sign-in.png")
    form.get_by_label("Secret access key").fill("secret-admin")
    form.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as admin").wait_for()
    page.get_by_role("row", name=TABLE).wait_for()
    cookie = next(c for c in browser_context.cookies() if c["name"] == "cdc_bridge_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # out of the page's scripts' reach
    page.screenshot(path=screenshots / "signed-in-tables.png")

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("dialog", name="Sign in").wait_for()
    form.get_by_label("Access key ID").fill("AKIDREADER")
    form.get_by_label("Secret access key").fill("secret-reader")
    form.get_by_role("button", name="Sign in").click()
    # DescribeTimeToLive is denied to the reader (or not there yet, before the TTL branch): its row stays
    page.get_by_role("row", name=TABLE).get_by_text(re.compile("^not (allowed|available)$")).wait_for()
    page.goto(f"{server.url}/console#/items/{TABLE}")
    page.get_by_role("button", name="Create item").click()
    editor = page.locator("dialog.editor")
    editor.get_by_label("Item").fill(orjson.dumps({"userId": f"u-{uuid.uuid4().hex[:6]}"}).decode())
    editor.get_by_role("button", name="Save").click()
    assert editor.locator(".status.error").inner_text().startswith(
        f"AccessDeniedException: User: arn:aws:iam::{ACCOUNT}:user/reader is not authorized to perform: dynamodb:PutItem")
    assert page_errors == []


def test_signing_in_with_temporary_credentials_through_the_form(server, browser_context, page_errors, screenshots):
    page = browser_context.new_page()
    watch(page, page_errors)
    page.goto(f"{server.url}/console")
    form = page.get_by_role("dialog", name="Sign in")
    form.get_by_label("Access key ID").fill("ASIAEXPIRED")
    form.get_by_label("Secret access key").fill("old-secret")
    form.get_by_label("Session token").fill("old-token")
    form.get_by_role("button", name="Sign in").click()
    refusal = "ExpiredTokenException: The security token included in the request is expired"
    form.get_by_role("alert").filter(has_text=refusal).wait_for()
    page.screenshot(path=screenshots / "sign-in-expired.png")
    form.get_by_label("Access key ID").fill("ASIAADMIN")
    form.get_by_label("Secret access key").fill("temp-secret")
    form.get_by_label("Session token").fill("temp-token")
    form.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as admin").wait_for()
    page.get_by_role("row", name=TABLE).wait_for()
    cookie = next(c for c in browser_context.cookies() if c["name"] == "cdc_bridge_session")
    assert cookie["expires"] <= time.time() + 3600  # the browser drops it when the credentials expire
    page.screenshot(path=screenshots / "signed-in-temporary.png")

    # the session ends (here: signed out from another tab); the next call asks for a sign-in again
    httpx.delete(f"{server.url}/console/session", cookies={"cdc_bridge_session": cookie["value"]}, timeout=10)
    page.get_by_role("link", name="Kinesis").click()
    form.get_by_role("alert").filter(has_text="Your session has ended").wait_for()
    assert form.is_visible()
    assert page_errors == []


def test_the_session_cookie_is_secure_under_tls(broker, tmp_path_factory, tls_files):  # noqa: F811
    process = ServerProcess("up", tmp_path_factory.mktemp("console-tls"), "--kafka-bootstrap-servers",
                            broker.bootstrap_servers, "--credentials-file", str(credentials(tmp_path_factory)),
                            "--tls-cert", str(tls_files / "server.pem"), "--tls-key", str(tls_files / "server.key"))
    process.scheme = "https"
    _start_with_tls(process, tls_files / "ca.pem")
    try:
        response = sign_in(process.url, "admin", verify=ssl.create_default_context(cafile=tls_files / "ca.pem"))
        assert response.status_code == 200
        assert "; secure" in response.headers["set-cookie"].lower()
    finally:
        process.stop()
