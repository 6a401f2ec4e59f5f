"""AWS Signature Version 4, checked as AWS checks it, for requests signed in the Authorization header
or presigned (the same fields as `X-Amz-*` query parameters: a URL valid for `X-Amz-Expires` seconds).

The canonical request is built from what arrived: the method, the path as sent (encoded once more,
as botocore and every SDK do for services other than S3), the query pairs as sent and sorted, the
headers the client listed in SignedHeaders (names lower-cased, runs of spaces folded, repeated
headers joined by commas) and the payload's SHA-256 (or `UNSIGNED-PAYLOAD` when the client said so
in a signed `X-Amz-Content-SHA256`). The string to sign and the signing key follow the
specification; the comparison is constant-time. A signature is valid for 15 minutes either side of
its `X-Amz-Date` (or `Date`), for the service's signing name and the server's region only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import parse_qsl, quote

from aws_json.credentials import Credentials, SigningKey
from aws_json.errors import (
    ExpiredTokenException,
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)

ALGORITHM = "AWS4-HMAC-SHA256"
SKEW_S = 15 * 60
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
MAX_PRESIGNED_S = 7 * 24 * 3600


@dataclass(frozen=True)
class Request:
    method: str
    raw_path: bytes
    query_string: bytes
    headers: list[tuple[bytes, bytes]]  # names lower-cased, as ASGI gives them
    body: bytes

    def header(self, name: bytes) -> str | None:
        values = [v.decode("latin-1") for k, v in self.headers if k == name]
        return ",".join(values) if values else None


@dataclass(frozen=True)
class Authorization:
    access_key_id: str
    scope: list[str]  # date, region, service, terminator
    signed_headers: list[str]
    signature: str


def verify(request: Request, credentials: Credentials, region: str, service: str, now: float) -> SigningKey:
    """The key that signed `request` (in its Authorization header, or presigned in its query
    string), or the AWS error a client gets."""
    header = request.header(b"authorization")
    query = presigned_query(request) if header is None else None
    if header is None and query is None:
        raise MissingAuthenticationTokenException()
    auth = parse_authorization(header, request) if header is not None else parse_presigned(query)
    key = credentials.key(auth.access_key_id)
    if key is None:
        raise UnrecognizedClientException()
    if query is None:
        stamp = check_time(request.header(b"x-amz-date"), request.header(b"date"), now)
        token = request.header(b"x-amz-security-token")
    else:
        stamp = check_presigned_time(query, now)
        token = query.get("X-Amz-Security-Token")
    check_scope(auth.scope, stamp, region, service)
    check_token(key, token, now)
    expected = signature(key.secret_access_key, auth, canonical_request(request, auth.signed_headers), stamp)
    if not hmac.compare_digest(expected, auth.signature):
        raise InvalidSignatureException()
    return key


def presigned_query(request: Request) -> dict[str, str] | None:
    """The query's parameters when it carries a presigned signature (`X-Amz-Algorithm`), else None."""
    if b"X-Amz-Algorithm=" not in request.query_string:
        return None
    return dict(parse_qsl(request.query_string.decode("latin-1"), keep_blank_values=True))


def parse_presigned(query: dict[str, str]) -> Authorization:
    """The signature of a presigned URL: SigV4's query parameters in place of the header's fields."""
    if query.get("X-Amz-Algorithm") != ALGORITHM:
        raise IncompleteSignatureException(f"Unsupported AWS 'algorithm': '{query.get('X-Amz-Algorithm')}'")
    missing = [name for name in ("X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date",
                                 "X-Amz-Expires") if not query.get(name)]
    if missing:
        raise IncompleteSignatureException(
            "AWS query-string parameters must include " + ", ".join(f"'{name}'" for name in missing) + ".")
    return authorization(query["X-Amz-Credential"], query["X-Amz-SignedHeaders"], query["X-Amz-Signature"])


def check_presigned_time(query: dict[str, str], now: float) -> str:
    """A presigned URL holds from its X-Amz-Date (give or take the clock skew) for X-Amz-Expires
    seconds, at most 7 days (604800), as SigV4 allows."""
    stamp = check_time(query["X-Amz-Date"], None, now, within_skew=False)
    expires = query["X-Amz-Expires"]
    if not expires.isdigit() or not 1 <= int(expires) <= MAX_PRESIGNED_S:
        raise IncompleteSignatureException(
            f"X-Amz-Expires must be between 1 and {MAX_PRESIGNED_S} seconds, got '{expires}'")
    signed_at = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC).timestamp()
    if signed_at > now + SKEW_S:
        raise InvalidSignatureException(f"Signature not yet current: {stamp} is still later than "
                                        f"{_stamp(now + SKEW_S)} ({_stamp(now)} + 15 min.)")
    if now > signed_at + int(expires):
        raise InvalidSignatureException(f"Signature expired: {stamp} is now earlier than "
                                        f"{_stamp(now - int(expires))} ({_stamp(now)} - {expires} sec.)")
    return stamp


def parse_authorization(header: str, request: Request) -> Authorization:
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise IncompleteSignatureException(f"Unsupported AWS 'algorithm': '{algorithm}'")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, eq, value = part.strip().partition("=")
        if eq:
            fields[name] = value
    missing = [f"Authorization header requires '{name}' parameter." for name in ("Credential", "Signature", "SignedHeaders")
               if not fields.get(name)]
    if request.header(b"x-amz-date") is None and request.header(b"date") is None:
        missing.append("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    if missing:
        raise IncompleteSignatureException(" ".join(missing) + f" Authorization={header}")
    return authorization(fields["Credential"], fields["SignedHeaders"], fields["Signature"])


def authorization(credential: str, signed_headers: str, signature: str) -> Authorization:
    """The signature's fields (from the header or a presigned query), its credential checked."""
    access_key_id, *scope = credential.split("/")
    if len(scope) != 4 or not access_key_id:
        raise IncompleteSignatureException(
            f"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, "
            f"got '{credential}'")
    return Authorization(access_key_id, scope, signed_headers.split(";"), signature)


def check_time(amz_date: str | None, date: str | None, now: float, within_skew: bool = True) -> str:
    """The request's time (`X-Amz-Date`, else `Date`) as `YYYYMMDDTHHMMSSZ`, within 15 minutes of ours
    unless told not to check (a presigned URL has its own span)."""
    try:
        if amz_date is not None:
            moment = dt.datetime(int(amz_date[0:4]), int(amz_date[4:6]), int(amz_date[6:8]), int(amz_date[9:11]),
                                 int(amz_date[11:13]), int(amz_date[13:15]), tzinfo=dt.UTC)
            if len(amz_date) != 16 or amz_date[8] != "T" or amz_date[15] != "Z":
                raise ValueError(amz_date)
        else:
            moment = parsedate_to_datetime(date or "")
    except (ValueError, TypeError, IndexError):
        raise IncompleteSignatureException(
            f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See "
            "http://en.wikipedia.org/wiki/ISO_8601") from None
    stamp = moment.strftime("%Y%m%dT%H%M%SZ")
    signed_at = moment.timestamp()
    if not within_skew:
        return stamp
    if signed_at < now - SKEW_S:
        raise InvalidSignatureException(f"Signature expired: {stamp} is now earlier than {_stamp(now - SKEW_S)} "
                                        f"({_stamp(now)} - 15 min.)")
    if signed_at > now + SKEW_S:
        raise InvalidSignatureException(f"Signature not yet current: {stamp} is still later than "
                                        f"{_stamp(now + SKEW_S)} ({_stamp(now)} + 15 min.)")
    return stamp


def check_scope(scope: list[str], stamp: str, region: str, service: str) -> None:
    date, scope_region, scope_service, terminator = scope
    if date != stamp[:8]:
        raise InvalidSignatureException(
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{date}' != '{stamp[:8]}', from ISO-8601 string '{stamp}'.")
    if scope_region != region:
        raise InvalidSignatureException(f"Credential should be scoped to a valid region, not '{scope_region}'. ")
    if scope_service != service:
        raise InvalidSignatureException(f"Credential should be scoped to correct service: '{service}'. ")
    if terminator != "aws4_request":
        raise InvalidSignatureException(
            f"Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'. ")


def check_token(key: SigningKey, token: str | None, now: float) -> None:
    """Temporary credentials sign with their session token; long-term keys with none."""
    if key.session_token is None:
        if token is not None:
            raise UnrecognizedClientException()
        return
    if token is None or not hmac.compare_digest(token, key.session_token):
        raise UnrecognizedClientException()
    if key.expires_at is not None and now >= key.expires_at:
        raise ExpiredTokenException()


def canonical_request(request: Request, signed_headers: Iterable[str]) -> str:
    headers = "".join(f"{name}:{_fold(request.header(name.encode('latin-1')) or '')}\n" for name in signed_headers)
    content_hash = request.header(b"x-amz-content-sha256")
    if content_hash == UNSIGNED_PAYLOAD and "x-amz-content-sha256" in signed_headers:
        payload = UNSIGNED_PAYLOAD
    else:
        payload = hashlib.sha256(request.body).hexdigest()
    return "\n".join([request.method, canonical_uri(request.raw_path), canonical_query(request.query_string),
                      headers, ";".join(signed_headers), payload])


def canonical_uri(raw_path: bytes) -> str:
    return quote(raw_path.decode("latin-1") or "/", safe="/~")


def canonical_query(query_string: bytes) -> str:
    if not query_string:
        return ""
    pairs = [pair.partition("=") for pair in query_string.decode("latin-1").split("&")
             if pair and not pair.startswith("X-Amz-Signature=")]  # a presigned URL's signature is not signed
    return "&".join(f"{k}={v}" for k, _, v in sorted((k, eq, v) for k, eq, v in pairs))


def signature(secret: str, auth: Authorization, canonical: str, stamp: str) -> str:
    date, region, service, terminator = auth.scope
    to_sign = "\n".join([ALGORITHM, stamp, "/".join(auth.scope), hashlib.sha256(canonical.encode()).hexdigest()])
    key = signing_key(secret, date, region, service, terminator)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


@lru_cache(maxsize=256)
def signing_key(secret: str, date: str, region: str, service: str, terminator: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, terminator):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _fold(value: str) -> str:
    return " ".join(value.split())


def _stamp(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y%m%dT%H%M%SZ")
