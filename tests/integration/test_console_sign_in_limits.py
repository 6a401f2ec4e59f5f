"""Console sign-in over HTTP: failed attempts lock a key and a source address out for a doubling time
(429, ThrottlingException, Retry-After), even for the right secret; temporary credentials sign in with
their session token and their console session ends when they expire.

The console runs in this process (aws_json.server + the Screen, as `up` serves it, on a real port) with
its sessions and limits on a clock the tests move, so no test waits for a lockout or an expiration.
Each test comes from source addresses of its own (127.0.0.x: all loopback on Linux)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import httpx
import pytest
import uvicorn

from aws_json.auth import Gate
from aws_json.credentials import parse
from aws_json.screen import Screen
from aws_json.server import create_app
from aws_json.sessions import Sessions
from aws_json.sign_in_limits import SignInLimits
from cdc_bridge.broker import free_port
from console.app import Console

ACCOUNT = "000000000000"
START = float(int(time.time()))  # whole seconds, as the file's expiration below
IN_AN_HOUR = dt.datetime.fromtimestamp(START + 3600, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def user(name: str, *temporary: dict) -> dict:
    return {"name": name, "access_key_id": f"AKID{name.upper()}", "secret_access_key": f"secret-{name}",
            "temporary_credentials": list(temporary)}


FILE = {"users": [user("alice"), user("bob"), user("carol"), user("dave", {
    "access_key_id": "ASIADAVE", "secret_access_key": "temp-secret", "session_token": "temp-token",
    "expiration": IN_AN_HOUR})]}


class Clock:
    """Stands still at START plus whatever a test added: a slow request never ends a lockout early."""

    def __init__(self):
        self.ahead = 0.0

    def __call__(self) -> float:
        return START + self.ahead


@pytest.fixture(scope="module")
def clock():
    return Clock()


@pytest.fixture(autouse=True)
def now(clock):
    """Each test starts at START (one test moves an hour ahead)."""
    clock.ahead = 0.0
    return clock


@pytest.fixture(scope="module")
def url(clock):
    credentials = parse(FILE, ACCOUNT)
    gate = Gate(credentials, "us-east-1")
    gate.sessions = Sessions(credentials, SignInLimits(clock=clock), clock=clock)
    app = Screen(create_app([Console(gate)], gate), listen_host="127.0.0.1")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, name="console-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the console did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join(timeout=30)


def sign_in(url: str, key: str, secret: str, source: str, token: str | None = None) -> httpx.Response:
    form = {"accessKeyId": key, "secretAccessKey": secret, **({"sessionToken": token} if token is not None else {})}
    with httpx.Client(transport=httpx.HTTPTransport(local_address=source), timeout=30) as client:
        return client.post(f"{url}/console/session", json=form)


def refused_as(response: httpx.Response) -> tuple[int, str]:
    assert "set-cookie" not in response.headers
    return response.status_code, response.json()["__type"]


def assert_locked(response: httpx.Response, seconds: int) -> None:
    assert refused_as(response) == (429, "ThrottlingException")
    assert response.json()["message"] == f"Password attempts exceeded: try again in {seconds} s"
    assert response.headers["retry-after"] == str(seconds)


def test_the_fifth_failure_locks_the_key_out_for_a_doubling_time_even_for_its_secret(url, clock):
    source = "127.0.0.2"
    for _ in range(5):  # the fifth failure locks for 1 s
        assert refused_as(sign_in(url, "AKIDALICE", "guess", source)) == (403, "UnrecognizedClientException")
    assert_locked(sign_in(url, "AKIDALICE", "secret-alice", source), 1)
    assert_locked(sign_in(url, "AKIDALICE", "secret-alice", source), 1)  # tried in a lockout: not longer
    clock.ahead += 1
    assert refused_as(sign_in(url, "AKIDALICE", "guess", source)) == (403, "UnrecognizedClientException")
    assert_locked(sign_in(url, "AKIDALICE", "secret-alice", source), 2)
    clock.ahead += 2
    assert sign_in(url, "AKIDALICE", "secret-alice", source).status_code == 200
    for _ in range(4):  # the success started over: four free failures again
        assert refused_as(sign_in(url, "AKIDALICE", "guess", source)) == (403, "UnrecognizedClientException")
    assert sign_in(url, "AKIDALICE", "secret-alice", source).status_code == 200


def test_a_key_guessed_from_many_addresses_is_locked_out_for_every_address(url, clock):
    for i in range(5):
        assert refused_as(sign_in(url, "AKIDBOB", "guess", f"127.0.1.{i + 1}"))[0] == 403
    assert_locked(sign_in(url, "AKIDBOB", "secret-bob", "127.0.1.100"), 1)
    clock.ahead += 1
    assert sign_in(url, "AKIDBOB", "secret-bob", "127.0.1.100").status_code == 200


def test_an_address_trying_many_keys_is_locked_out_whatever_key_it_tries(url, clock):
    source = "127.0.2.1"
    for i in range(5):
        assert refused_as(sign_in(url, f"AKIDNOBODY{i}", "guess", source)) == (403, "UnrecognizedClientException")
    assert_locked(sign_in(url, "AKIDCAROL", "secret-carol", source), 1)
    assert sign_in(url, "AKIDCAROL", "secret-carol", "127.0.2.2").status_code == 200  # carol's key is not locked
    clock.ahead += 1
    assert sign_in(url, "AKIDCAROL", "secret-carol", source).status_code == 200


def test_temporary_credentials_sign_in_with_their_token_and_the_session_ends_when_they_expire(url, clock):
    source = "127.0.3.1"
    for token in (None, "", "other-token"):
        assert refused_as(sign_in(url, "ASIADAVE", "temp-secret", source, token)) == (
            403, "UnrecognizedClientException")
    assert refused_as(sign_in(url, "AKIDDAVE", "secret-dave", source, "temp-token")) == (
        403, "UnrecognizedClientException")  # a long-term key takes no token
    response = sign_in(url, "ASIADAVE", "temp-secret", source, "temp-token")
    assert response.json() == {"user": {"name": "dave", "arn": f"arn:aws:iam::{ACCOUNT}:user/dave"}}
    assert "max-age=3600;" in response.headers["set-cookie"].lower()  # the credentials' hour, not 12 hours
    cookies = dict(response.cookies)
    assert httpx.get(f"{url}/console/session", cookies=cookies).json()["user"]["name"] == "dave"

    clock.ahead += 3599
    assert httpx.get(f"{url}/console/session", cookies=cookies).json()["user"]["name"] == "dave"
    clock.ahead += 1
    assert httpx.get(f"{url}/console/session", cookies=cookies).json() == {"signInRequired": True, "user": None}
    expired = sign_in(url, "ASIADAVE", "temp-secret", source, "temp-token")
    assert refused_as(expired) == (403, "ExpiredTokenException")
    assert expired.json()["message"] == "The security token included in the request is expired"
    assert refused_as(sign_in(url, "ASIADAVE", "guess", source, "temp-token")) == (
        403, "UnrecognizedClientException")  # only who holds the secret learns that it expired
