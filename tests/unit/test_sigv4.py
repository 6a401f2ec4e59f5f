"""SigV4 as AWS checks it, with botocore's own signer as the reference."""

from __future__ import annotations

import datetime as dt
import time
from unittest import mock
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from aws_json import errors
from aws_json.credentials import parse
from aws_json.sigv4 import Request, verify

ACCOUNT = "000000000000"
FILE = {"users": [
    {"name": "alice", "access_key_id": "AKIDALICE", "secret_access_key": "alice-secret",
     "policies": [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}],
     "temporary_credentials": [
         {"access_key_id": "ASIAALICE", "secret_access_key": "temp-secret", "session_token": "tok",
          "expiration": "2999-01-01T00:00:00Z"},
         {"access_key_id": "ASIAOLD", "secret_access_key": "old-secret", "session_token": "old",
          "expiration": "2001-01-01T00:00:00Z"}]}]}
CREDENTIALS = parse(FILE, ACCOUNT)


def signed(key="AKIDALICE", secret="alice-secret", token=None, body=b'{"TableName":"t"}', region="us-east-1",
           service="dynamodb", url="http://127.0.0.1:8000/", when: float | None = None, headers=None) -> Request:
    request = AWSRequest("POST", url, data=body, headers={
        "X-Amz-Target": "DynamoDB_20120810.DescribeTable", "Content-Type": "application/x-amz-json-1.0",
        **(headers or {})})
    sign_at(SigV4Auth(BotoCredentials(key, secret, token), service, region), request, when)
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    return Request("POST", (parts.path or "/").encode(), parts.query.encode(),
                   [(k.lower().encode(), v.encode() if isinstance(v, str) else v) for k, v in prepared.headers.items()]
                   + [(b"host", parts.netloc.encode())], prepared.body or b"")


def sign_at(signer, request: AWSRequest, when: float | None) -> None:
    """botocore signs with the current time; `when` freezes another one."""
    if when is None:
        signer.add_auth(request)
        return
    frozen = dt.datetime.fromtimestamp(when, dt.UTC).replace(tzinfo=None)
    with mock.patch("botocore.auth.datetime.datetime") as clock:
        clock.utcnow.return_value = frozen
        clock.now.return_value = frozen
        clock.strptime = dt.datetime.strptime
        signer.add_auth(request)


def check(request: Request, now: float | None = None, service="dynamodb"):
    return verify(request, CREDENTIALS, "us-east-1", service, time.time() if now is None else now)


def test_a_request_signed_by_botocore_verifies_and_names_its_principal():
    assert check(signed()).principal.arn == f"arn:aws:iam::{ACCOUNT}:user/alice"


def test_query_strings_and_paths_are_canonicalised_as_botocore_does():
    assert check(signed(url="http://127.0.0.1:8000/some%20path/x?b=2&a=1&a=0")).access_key_id == "AKIDALICE"


def test_a_changed_body_or_header_or_secret_fails_the_signature():
    request = signed()
    tampered = Request(request.method, request.raw_path, request.query_string, request.headers, b'{"TableName":"u"}')
    with pytest.raises(errors.InvalidSignatureException) as info:
        check(tampered)
    assert info.value.message.startswith("The request signature we calculated does not match")
    with pytest.raises(errors.InvalidSignatureException):
        check(signed(secret="wrong"))
    headers = [(k, b"DynamoDB_20120810.DeleteTable" if k == b"x-amz-target" else v) for k, v in request.headers]
    with pytest.raises(errors.InvalidSignatureException):
        check(Request(request.method, request.raw_path, request.query_string, headers, request.body))


def test_unknown_key_missing_header_and_incomplete_header_get_their_errors():
    with pytest.raises(errors.UnrecognizedClientException) as info:
        check(signed(key="AKIDNOBODY"))
    assert info.value.message == "The security token included in the request is invalid."
    request = signed()
    bare = [(k, v) for k, v in request.headers if k != b"authorization"]
    with pytest.raises(errors.MissingAuthenticationTokenException) as info:
        check(Request("POST", b"/", b"", bare, request.body))
    assert info.value.message == "Request is missing Authentication Token"
    partial = bare + [(b"authorization", b"AWS4-HMAC-SHA256 Credential=AKIDALICE/20261207/us-east-1/dynamodb/aws4_request")]
    with pytest.raises(errors.IncompleteSignatureException) as info:
        check(Request("POST", b"/", b"", partial, request.body))
    assert "Authorization header requires 'Signature' parameter." in info.value.message


def test_fifteen_minutes_of_clock_skew_either_way_and_not_more():
    now = time.time()
    assert check(signed(when=now - 14 * 60), now=now)
    with pytest.raises(errors.InvalidSignatureException) as info:
        check(signed(when=now - 16 * 60), now=now)
    assert info.value.message.startswith("Signature expired: ") and info.value.message.endswith(" - 15 min.)")
    with pytest.raises(errors.InvalidSignatureException) as info:
        check(signed(when=now + 16 * 60), now=now)
    assert info.value.message.startswith("Signature not yet current: ")


def test_the_scope_must_name_our_region_and_the_services_signing_name():
    with pytest.raises(errors.InvalidSignatureException) as info:
        check(signed(region="eu-west-1"))
    assert info.value.message == "Credential should be scoped to a valid region, not 'eu-west-1'. "
    with pytest.raises(errors.InvalidSignatureException) as info:
        check(signed(service="kinesis"))
    assert info.value.message == "Credential should be scoped to correct service: 'dynamodb'. "


def test_temporary_credentials_need_their_session_token_and_expire():
    assert check(signed(key="ASIAALICE", secret="temp-secret", token="tok")).principal.name == "alice"
    with pytest.raises(errors.UnrecognizedClientException):
        check(signed(key="ASIAALICE", secret="temp-secret"))
    with pytest.raises(errors.UnrecognizedClientException):
        check(signed(key="ASIAALICE", secret="temp-secret", token="other"))
    with pytest.raises(errors.ExpiredTokenException) as info:
        check(signed(key="ASIAOLD", secret="old-secret", token="old"))
    assert info.value.message == "The security token included in the request is expired"
    with pytest.raises(errors.UnrecognizedClientException):  # a long-term key with a token
        check(signed(token="tok"))


def test_unsigned_payload_is_accepted_when_the_client_signed_that_choice():
    request = signed(headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    assert check(request)
    assert check(Request("POST", b"/", b"", request.headers, b'{"TableName":"other"}'))


def test_a_role_session_signs_as_the_assumed_role_and_is_renewed_before_it_ends():
    from aws_json.credentials import CredentialsFileError

    role = f"arn:aws:iam::{ACCOUNT}:role/reader"
    credentials = parse({"users": [], "roles": [{"arn": role, "policies": []}]}, ACCOUNT)
    session = credentials.role_session(role, "my-function")
    assert session.principal.arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/my-function"
    assert credentials.role_session(role, "my-function") is session  # the same while fresh
    assert credentials.role_session(f"arn:aws:iam::{ACCOUNT}:role/other", "f") is None
    request = signed(key=session.access_key_id, secret=session.secret_access_key, token=session.session_token)
    assert verify(request, credentials, "us-east-1", "dynamodb", time.time()).principal == session.principal
    with pytest.raises(CredentialsFileError, match=r"roles\[0\]: expected an object with an 'arn'"):
        parse({"users": [], "roles": [{"arn": "reader"}]}, ACCOUNT)


def presigned(expires=300, key="AKIDALICE", secret="alice-secret", token=None, when: float | None = None,
              url="http://127.0.0.1:8000/2015-03-31/functions/?MaxItems=5") -> Request:
    """A GET presigned by botocore's SigV4QueryAuth (what `generate_presigned_url` uses)."""
    request = AWSRequest("GET", url)
    sign_at(SigV4QueryAuth(BotoCredentials(key, secret, token), "lambda", "us-east-1", expires=expires), request, when)
    parts = urlsplit(request.url)
    return Request("GET", parts.path.encode(), parts.query.encode(), [(b"host", parts.netloc.encode())], b"")


def test_a_url_presigned_by_botocore_verifies_until_it_expires():
    now = time.time()
    assert check(presigned(when=now), now=now, service="lambda").access_key_id == "AKIDALICE"
    assert check(presigned(when=now), now=now + 299, service="lambda").access_key_id == "AKIDALICE"
    with pytest.raises(errors.InvalidSignatureException) as info:
        check(presigned(when=now), now=now + 301, service="lambda")
    assert info.value.message.startswith("Signature expired:")


def test_a_presigned_url_with_a_changed_query_or_an_unknown_key_is_refused():
    request = presigned()
    changed = Request("GET", request.raw_path, request.query_string.replace(b"MaxItems=5", b"MaxItems=50"),
                      request.headers, b"")
    with pytest.raises(errors.InvalidSignatureException):
        check(changed, service="lambda")
    longer = Request("GET", request.raw_path, request.query_string.replace(b"X-Amz-Expires=300", b"X-Amz-Expires=3000"),
                     request.headers, b"")
    with pytest.raises(errors.InvalidSignatureException):
        check(longer, service="lambda")
    with pytest.raises(errors.UnrecognizedClientException):
        check(presigned(key="AKIDNOBODY"), service="lambda")


def test_presigned_with_temporary_credentials_carries_the_session_token_in_the_query():
    assert check(presigned(key="ASIAALICE", secret="temp-secret", token="tok"), service="lambda").access_key_id == "ASIAALICE"
    with pytest.raises(errors.UnrecognizedClientException):
        check(presigned(key="ASIAALICE", secret="temp-secret", token="not-it"), service="lambda")
