"""Browser sessions: a signed-in console user is a random token in an HttpOnly cookie that stands
for one principal of the credentials file, so that the browser never holds a secret key and the
page's requests need no SigV4 signature. Kept in memory: a restart signs everyone out.

Knows no console: the gate (aws_json.auth) asks it who a request's cookie stands for.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass

from aws_json.credentials import Credentials, Principal

COOKIE = "cdc_bridge_session"
SESSION_SECONDS = 12 * 3600  # as the AWS console's sign-in session


@dataclass(frozen=True)
class Session:
    principal: Principal
    access_key_id: str
    expires_at: float


class Sessions:
    def __init__(self, credentials: Credentials | None):
        self.credentials = credentials
        self.open: dict[str, Session] = {}

    def sign_in(self, access_key_id: str, secret: str) -> str | None:
        """A new session token for a long-term key of the file and its secret (None: refused).
        Temporary credentials need a session token a form does not ask for: refused too."""
        key = self.credentials.key(access_key_id) if self.credentials else None
        if key is None or key.session_token is not None \
                or not hmac.compare_digest(secret.encode(), key.secret_access_key.encode()):
            return None
        self.expire()
        token = secrets.token_urlsafe(32)
        self.open[token] = Session(key.principal, access_key_id, time.time() + SESSION_SECONDS)
        return token

    def session(self, token: str | None) -> Session | None:
        session = self.open.get(token or "")
        if session is None or session.expires_at < time.time():
            return None
        return session

    def sign_out(self, token: str | None) -> None:
        self.open.pop(token or "", None)

    def expire(self) -> None:
        now = time.time()
        for token in [t for t, s in self.open.items() if s.expires_at < now]:
            del self.open[token]


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
