"""Who may call: the credentials file (`--credentials-file`, default `<data-dir>/credentials.json`).

Its shape is a stable, documented contract (users' tools and tests write it)::

    {"users": [{"name": "alice", "arn": "arn:aws:iam::000000000000:user/alice",
                "access_key_id": "AKIA...", "secret_access_key": "...",
                "policies": [{"Version": "2012-10-17", "Statement": [...]}],
                "temporary_credentials": [{"access_key_id": "ASIA...", "secret_access_key": "...",
                                           "session_token": "...", "expiration": "2026-12-31T00:00:00Z"}]}]}

`arn` defaults to `arn:aws:iam::<account>:user/<name>`; `policies` to none (every call denied);
`temporary_credentials` are optional, each signs as its user and needs its `X-Amz-Security-Token`.
An optional `"roles": [{"arn": "arn:aws:iam::<account>:role/<name>", "policies": [...]}]` gives
Lambda functions whose Role is one of them credentials of their own: a session of that role
(`arn:aws:sts::<account>:assumed-role/<role>/<function>`) with the role's policies, minted in memory.
The file is read once at start; a mistake in it stops the start with a message naming the entry.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+")


class CredentialsFileError(ValueError):
    pass


@dataclass(frozen=True)
class Principal:
    name: str
    arn: str
    policies: tuple[dict, ...] = ()


@dataclass(frozen=True)
class SigningKey:
    access_key_id: str
    secret_access_key: str
    principal: Principal
    session_token: str | None = None
    expires_at: float | None = None  # epoch seconds; temporary credentials only


SESSION_SECONDS = 24 * 3600
SESSION_RENEW_SECONDS = 3600  # a session with less left than this is replaced by a new one


@dataclass
class Credentials:
    keys: dict[str, SigningKey] = field(default_factory=dict)
    roles: dict[str, tuple[dict, ...]] = field(default_factory=dict)  # role ARN -> its policies
    sessions: dict[tuple[str, str], SigningKey] = field(default_factory=dict)

    def key(self, access_key_id: str) -> SigningKey | None:
        return self.keys.get(access_key_id)

    def role_session(self, role_arn: str, session_name: str) -> SigningKey | None:
        """Temporary credentials of a session of `role_arn` (None: no such role in the file), the
        same ones while they have more than an hour left."""
        if role_arn not in self.roles:
            return None
        session = self.sessions.get((role_arn, session_name))
        if session is None or session.expires_at - time.time() < SESSION_RENEW_SECONDS:
            account, role_name = role_arn.split(":")[4], role_arn.rsplit("/", 1)[-1]
            principal = Principal(session_name, f"arn:aws:sts::{account}:assumed-role/{role_name}/{session_name}",
                                  self.roles[role_arn])
            session = SigningKey("ASIA" + secrets.token_hex(8).upper(), secrets.token_urlsafe(30), principal,
                                 secrets.token_urlsafe(48), time.time() + SESSION_SECONDS)
            self.keys[session.access_key_id] = session
            self.sessions[(role_arn, session_name)] = session
        return session

    @property
    def principals(self) -> list[Principal]:
        return list({k.principal.arn: k.principal for k in self.keys.values()}.values())


def load(path: Path, account_id: str) -> Credentials:
    try:
        document = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise CredentialsFileError(f"{path}: cannot read it: {exc.strerror}") from None
    except orjson.JSONDecodeError as exc:
        raise CredentialsFileError(f"{path}: not JSON: {exc}") from None
    try:
        return parse(document, account_id)
    except CredentialsFileError as exc:
        raise CredentialsFileError(f"{path}: {exc}") from None


def parse(document: Any, account_id: str) -> Credentials:
    if not isinstance(document, dict) or not isinstance(document.get("users"), list):
        raise CredentialsFileError('expected {"users": [...]}')
    credentials = Credentials()
    for i, user in enumerate(document["users"]):
        where = f"users[{i}]"
        if not isinstance(user, dict):
            raise CredentialsFileError(f"{where}: expected an object")
        name = _text(user, "name", where)
        principal = Principal(name, user.get("arn") or f"arn:aws:iam::{account_id}:user/{name}",
                              tuple(_policies(user.get("policies", []), where)))
        _add(credentials, SigningKey(_text(user, "access_key_id", where), _text(user, "secret_access_key", where),
                                     principal), where)
        for j, temporary in enumerate(user.get("temporary_credentials", [])):
            there = f"{where}.temporary_credentials[{j}]"
            if not isinstance(temporary, dict):
                raise CredentialsFileError(f"{there}: expected an object")
            _add(credentials, SigningKey(_text(temporary, "access_key_id", there),
                                         _text(temporary, "secret_access_key", there), principal,
                                         _text(temporary, "session_token", there),
                                         _expiration(temporary.get("expiration"), there)), there)
    for i, role in enumerate(document.get("roles", [])):
        where = f"roles[{i}]"
        if not isinstance(role, dict) or not ROLE_ARN.fullmatch(str(role.get("arn", ""))):
            raise CredentialsFileError(f"{where}: expected an object with an 'arn' like "
                                       f"arn:aws:iam::{account_id}:role/<name>")
        credentials.roles[role["arn"]] = tuple(_policies(role.get("policies", []), where))
    return credentials


def _add(credentials: Credentials, key: SigningKey, where: str) -> None:
    if key.access_key_id in credentials.keys:
        raise CredentialsFileError(f"{where}: access key id {key.access_key_id} is given twice")
    credentials.keys[key.access_key_id] = key


def _text(entry: dict, name: str, where: str) -> str:
    value = entry.get(name)
    if not isinstance(value, str) or not value:
        raise CredentialsFileError(f"{where}: {name!r} must be a non-empty string")
    return value


def _policies(policies: Any, where: str) -> list[dict]:
    if not isinstance(policies, list) or not all(isinstance(p, dict) and "Statement" in p for p in policies):
        raise CredentialsFileError(f"{where}: 'policies' must be a list of IAM policy documents (with a Statement)")
    from aws_json.iam import PolicyError, check_policy  # the policy grammar lives with its evaluation

    for k, policy in enumerate(policies):
        try:
            check_policy(policy)
        except PolicyError as exc:
            raise CredentialsFileError(f"{where}.policies[{k}]: {exc}") from None
    return policies


def _expiration(value: Any, where: str) -> float:
    if not isinstance(value, str):
        raise CredentialsFileError(f"{where}: 'expiration' must be an ISO 8601 time, e.g. 2026-12-31T00:00:00Z")
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CredentialsFileError(f"{where}: 'expiration' {value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()
