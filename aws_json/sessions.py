"""Browser sessions: a signed-in console user is a random token in an HttpOnly cookie that stands
for one principal of the credentials file, so that the browser never holds a secret key and the
page's requests need no SigV4 signature. Kept in memory: a restart signs everyone out.

Temporary credentials of the file sign in with their session token too, and their console session
ends when they expire (sooner than the 12 hours of a long-term key's). Failed sign-ins are limited
per access key id and per source address (aws_json.sign_in_limits).

Knows no console: the gate (aws_json.auth) asks it who a request's cookie stands for.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from aws_json.credentials import Credentials, Principal, SigningKey
from aws_json.errors import UnrecognizedClientException
from aws_json.sign_in_limits import SignInLimits
from aws_json.sigv4 import check_token

COOKIE = "cdc_bridge_session"
SESSION_SECONDS = 12 * 3600  # as the AWS console's sign-in session


@dataclass(frozen=True)
class Session:
    principal: Principal
    access_key_id: str
    expires_at: float


class Sessions:
    def __init__(self, credentials: Credentials | None, limits: SignInLimits | None = None,
                 clock: Callable[[], float] = time.time):
        self.credentials = credentials
        self.limits = limits or SignInLimits(clock=clock)
        self.clock = clock
        self.open: dict[str, Session] = {}

    def sign_in(self, access_key_id: str, secret: str, session_token: str | None = None,
                source: str | None = None) -> str:
        """A new session token for a key of the file, its secret and, for temporary credentials, its
        session token. Refused with the errors SigV4 gives the same credentials (UnrecognizedClientException,
        ExpiredTokenException), or SignInLocked after too many failures from `source` or for the key."""
        key = self.credentials.key(access_key_id) if self.credentials else None
        # only keys of the file are counted: unknown ids would grow the records without bound
        subjects = ([f"key:{access_key_id}"] if key else []) + ([f"address:{source}"] if source else [])
        self.limits.check(*subjects)
        try:
            check_key(key, secret, session_token, self.clock())
        except UnrecognizedClientException:
            self.limits.failed(*subjects)
            raise
        self.limits.succeeded(*subjects)
        self.expire()
        token = secrets.token_urlsafe(32)
        ends = self.clock() + SESSION_SECONDS
        if key.expires_at is not None:
            ends = min(ends, key.expires_at)  # no console session outlives its credentials
        self.open[token] = Session(key.principal, access_key_id, ends)
        return token

    def session(self, token: str | None) -> Session | None:
        session = self.open.get(token or "")
        if session is None or session.expires_at <= self.clock():
            return None
        return session

    def seconds_left(self, session: Session) -> int:
        """What the cookie's Max-Age says: the browser drops it when the session ends."""
        return max(0, int(session.expires_at - self.clock()))

    def sign_out(self, token: str | None) -> None:
        self.open.pop(token or "", None)

    def expire(self) -> None:
        now = self.clock()
        for token in [t for t, s in self.open.items() if s.expires_at <= now]:
            del self.open[token]


def check_key(key: SigningKey | None, secret: str, session_token: str | None, now: float) -> None:
    """The secret first, then the session token and its expiry as SigV4 checks them (sigv4.check_token):
    an expired key says so only to whoever knows its secret and token."""
    if key is None or not hmac.compare_digest(secret.encode(), key.secret_access_key.encode()):
        raise UnrecognizedClientException()
    check_token(key, session_token, now)


def cookie_token(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The session token in a request's Cookie header(s), if any."""
    for name, value in headers:
        if name != b"cookie":
            continue
        for pair in value.decode("latin-1").split(";"):
            key, _, token = pair.strip().partition("=")
            if key == COOKIE and token:
                return token
    return None
