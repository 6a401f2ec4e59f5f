"""The console's sessions: a key of the file with its secret (and, for temporary credentials, its session
token) opens one, which ends by the credentials' expiration at the latest; anything else does not."""

from __future__ import annotations

import pytest

from aws_json.credentials import parse
from aws_json.errors import ExpiredTokenException, UnrecognizedClientException
from aws_json.sessions import COOKIE, SESSION_SECONDS, Sessions, cookie_token
from aws_json.sign_in_limits import SignInLocked

IN_AN_HOUR = "2026-12-07T13:00:00Z"  # the unit tests' clock stands at 12:00 UTC (conftest.py)
FILE = {"users": [{"name": "alice", "access_key_id": "AKIDALICE", "secret_access_key": "s3cret",
                   "temporary_credentials": [
                       {"access_key_id": "ASIAALICE", "secret_access_key": "t", "session_token": "tok",
                        "expiration": IN_AN_HOUR},
                       {"access_key_id": "ASIAOLD", "secret_access_key": "old", "session_token": "old-tok",
                        "expiration": "2026-12-07T11:59:59Z"}]}]}


@pytest.fixture
def sessions(clock):
    return Sessions(parse(FILE, "000000000000"), clock=clock)


def test_a_key_and_its_secret_open_a_twelve_hour_session_for_its_user(sessions, clock):
    token = sessions.sign_in("AKIDALICE", "s3cret")
    session = sessions.session(token)
    assert session.principal.arn == "arn:aws:iam::000000000000:user/alice"
    assert sessions.seconds_left(session) == SESSION_SECONDS == 12 * 3600
    sessions.sign_out(token)
    assert sessions.session(token) is None


def test_wrong_secrets_unknown_keys_and_stray_tokens_open_none(sessions):
    for key, secret, token in [("AKIDALICE", "wrong", None), ("AKIDBOB", "s3cret", None),
                               ("AKIDALICE", "s3cret", "tok"),  # a long-term key signs with no token
                               ("ASIAALICE", "t", None), ("ASIAALICE", "t", "other"), ("ASIAALICE", "wrong", "tok")]:
        with pytest.raises(UnrecognizedClientException):
            sessions.sign_in(key, secret, token)
    with pytest.raises(UnrecognizedClientException):
        Sessions(None).sign_in("AKIDALICE", "s3cret")


def test_temporary_credentials_sign_in_with_their_token_until_their_expiration_which_ends_the_session(
        sessions, clock):
    token = sessions.sign_in("ASIAALICE", "t", "tok")
    session = sessions.session(token)
    assert session.principal.name == "alice"
    assert sessions.seconds_left(session) == 3600  # not 12 hours: the credentials end first
    clock.now += 3599
    assert sessions.session(token) is not None
    clock.now += 1
    assert sessions.session(token) is None
    with pytest.raises(ExpiredTokenException, match="^The security token included in the request is expired$"):
        sessions.sign_in("ASIAALICE", "t", "tok")


def test_expired_credentials_say_so_only_to_whoever_has_their_secret_and_token(sessions):
    with pytest.raises(ExpiredTokenException):
        sessions.sign_in("ASIAOLD", "old", "old-tok")
    with pytest.raises(UnrecognizedClientException):
        sessions.sign_in("ASIAOLD", "guess", "old-tok")


def test_failures_lock_the_key_out_even_from_other_addresses(sessions, clock):
    for i in range(4):
        with pytest.raises(UnrecognizedClientException):
            sessions.sign_in("AKIDALICE", "wrong", source=f"10.0.0.{i}")
    with pytest.raises(UnrecognizedClientException):
        sessions.sign_in("AKIDALICE", "wrong", source="10.0.0.9")  # the fifth failure locks
    with pytest.raises(SignInLocked):
        sessions.sign_in("AKIDALICE", "s3cret", source="10.0.1.1")  # the right secret, during the lockout
    clock.now += 1
    assert sessions.sign_in("AKIDALICE", "s3cret", source="10.0.1.1")


def test_the_token_is_read_from_any_cookie_header():
    headers = [(b"host", b"x"), (b"cookie", b"theme=dark; " + COOKIE.encode() + b"=abc; other=1")]
    assert cookie_token(headers) == "abc"
    assert cookie_token([(b"cookie", b"theme=dark")]) is None
    assert cookie_token([]) is None
