"""The console's sessions: a long-term key and its secret open one; anything else does not."""

from __future__ import annotations

import time

from aws_json.credentials import parse
from aws_json.sessions import COOKIE, Sessions, cookie_token

FILE = {"users": [{"name": "alice", "access_key_id": "AKIDALICE", "secret_access_key": "s3cret",
                   "temporary_credentials": [{"access_key_id": "ASIAALICE", "secret_access_key": "t",
                                              "session_token": "tok", "expiration": "2999-01-01T00:00:00Z"}]}]}


def test_a_key_and_its_secret_open_a_session_for_its_user():
    sessions = Sessions(parse(FILE, "000000000000"))
    token = sessions.sign_in("AKIDALICE", "s3cret")
    assert sessions.session(token).principal.arn == "arn:aws:iam::000000000000:user/alice"
    sessions.sign_out(token)
    assert sessions.session(token) is None


def test_wrong_secrets_unknown_keys_and_temporary_credentials_open_none():
    sessions = Sessions(parse(FILE, "000000000000"))
    assert sessions.sign_in("AKIDALICE", "wrong") is None
    assert sessions.sign_in("AKIDBOB", "s3cret") is None
    assert sessions.sign_in("ASIAALICE", "t") is None  # needs its session token, which a form does not take
    assert Sessions(None).sign_in("AKIDALICE", "s3cret") is None


def test_an_expired_session_stands_for_no_one():
    sessions = Sessions(parse(FILE, "000000000000"))
    token = sessions.sign_in("AKIDALICE", "s3cret")
    sessions.open[token] = sessions.open[token].__class__(sessions.open[token].principal, "AKIDALICE", time.time() - 1)
    assert sessions.session(token) is None


def test_the_token_is_read_from_any_cookie_header():
    headers = [(b"host", b"x"), (b"cookie", b"theme=dark; " + COOKIE.encode() + b"=abc; other=1")]
    assert cookie_token(headers) == "abc"
    assert cookie_token([(b"cookie", b"theme=dark")]) is None
    assert cookie_token([]) is None
