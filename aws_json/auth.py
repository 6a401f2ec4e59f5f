"""The port's gate for AWS calls: who signed the request (SigV4 against the credentials file), then
whether that principal's policies allow what the call does (the service's `authorization` mapping
names the actions, resources and condition keys; `iam` decides).

Without credentials the gate is open, as before: any signature or none is accepted (the CLI refuses
that on a non-loopback address unless `--allow-anonymous` is given).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from typing import Any

from aws_json import iam, sigv4
from aws_json.credentials import Credentials, Principal
from aws_json.errors import AccessDeniedException
from aws_json.protocol import Service
from aws_json.sessions import Sessions, cookie_token


# What --http-basic-auth guards: /metrics and the schema registry's routes (their clients cannot
# sign). /health stays open; other routes (Lambda's REST API) are signed and go through the gate.
BASIC_AUTH_PREFIXES = ("/metrics", "/subjects", "/schemas", "/config")
# Calls that name a resource by its ARN, where AWS refuses one of another account or region
TAGGING = frozenset({"TagResource", "UntagResource", "ListTagsOfResource", "ListTagsForResource", "AddTagsToStream",
                     "RemoveTagsFromStream", "ListTagsForStream"})
ARN_MEMBERS = ("ResourceArn", "ResourceARN", "StreamARN")


class Gate:
    """`basic_auth`: /metrics and the schema registry's routes need HTTP basic auth with an access
    key id and its secret (BASIC_AUTH_PREFIXES)."""

    def __init__(self, credentials: Credentials | None, region: str, basic_auth: bool = False,
                 account_id: str | None = None):
        self.credentials = credentials
        self.region = region
        self.account_id = account_id
        self.basic_auth = basic_auth and credentials is not None
        self.sessions = Sessions(credentials)  # the web console's signed-in users (aws_json.sessions)

    def admits_basic(self, path: str, authorization: str, cookie_session: str | None = None) -> bool:
        if not self.basic_auth or not path.startswith(BASIC_AUTH_PREFIXES):
            return True
        if not authorization and self.sessions.session(cookie_session) is not None:
            return True  # the console's charts read /metrics under its session
        scheme, _, encoded = authorization.partition(" ")
        try:
            access_key_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        key = self.credentials.key(access_key_id)
        return (scheme.lower() == "basic" and key is not None and key.session_token is None
                and hmac.compare_digest(secret.encode(), key.secret_access_key.encode()))

    def role_environment(self, role_arn: str, session_name: str) -> dict[str, str]:
        """The credentials a process acting as `role_arn` signs with (a Lambda function's SDK calls),
        as environment variables; none when the gate is open or the role is not in the file."""
        session = self.credentials.role_session(role_arn, session_name) if self.credentials else None
        if session is None:
            return {}
        return {"AWS_ACCESS_KEY_ID": session.access_key_id, "AWS_SECRET_ACCESS_KEY": session.secret_access_key,
                "AWS_SESSION_TOKEN": session.session_token or ""}

    @property
    def enabled(self) -> bool:
        return self.credentials is not None

    def authenticate(self, request: sigv4.Request, service: Service) -> Principal | None:
        if self.credentials is None:
            return None
        if request.header(b"authorization") is None and b"X-Amz-Algorithm=" not in request.query_string:
            # The console's requests: its session cookie stands for a user (SameSite=Strict, and the
            # browser guard checks their Origin); a signature, when there is one, always wins.
            session = self.sessions.session(cookie_token(request.headers))
            if session is not None:
                return session.principal
        return sigv4.verify(request, self.credentials, self.region, service.signing_name, time.time()).principal

    def authorize(self, principal: Principal | None, service: Service, context: Any, operation: str, req: dict,
                  client_ip: str | None, secure: bool) -> None:
        if operation in TAGGING:
            self.refuse_foreign_arn(principal, service, operation, req)
        if principal is None or service.authorization is None:
            return
        checks = service.authorization(context, operation, req)
        iam.authorize(principal, checks, global_conditions(principal, client_ip, secure))


    def refuse_foreign_arn(self, principal: Principal | None, service: Service, operation: str, req: dict) -> None:
        """A tagging call on an ARN of another account or region: AWS answers AccessDeniedException (no
        resource-based policy there lets this caller in), whatever the caller's own policies say."""
        arn = next((req[m] for m in ARN_MEMBERS if isinstance(req.get(m), str)), None)
        parts = arn.split(":", 5) if arn else []
        if self.account_id is None or len(parts) != 6 or (parts[3], parts[4]) == (self.region, self.account_id):
            return
        caller = principal.arn if principal else f"arn:aws:iam::{self.account_id}:root"
        action = f"{service.signing_name}:{operation}"
        raise AccessDeniedException(f"User: {caller} is not authorized to perform: {action} on resource: {arn} "
                                    f"because no resource-based policy allows the {action} action")


def global_conditions(principal: Principal, client_ip: str | None, secure: bool) -> dict[str, list[str]]:
    conditions = {"aws:principalarn": [principal.arn], "aws:username": [principal.name],
                  "aws:principaltype": ["User"], "aws:securetransport": [str(secure).lower()]}
    if client_ip:
        conditions["aws:sourceip"] = [client_ip]
    return conditions
