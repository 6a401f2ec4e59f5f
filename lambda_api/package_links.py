"""GetFunction's Code.Location: a link to the function's deployment package that expires, as the
presigned S3 URL Lambda answers does (valid for 10 minutes).

The link carries when it was made and for how long it holds (`X-Amz-Date`, `X-Amz-Expires`, named as
in S3's presigned URLs) and an HMAC-SHA256 of the path and both under a key this process draws at
start. So only a link this server handed out opens a package, only until it expires, and anyone who
reaches the port but may not call GetFunction cannot fetch code by guessing its name and hash. A
restart of the server draws a new key: older links stop working, as an expired one does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from urllib.parse import urlencode

VALID_SECONDS = 600
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"


class PackageLinks:
    def __init__(self, key: bytes | None = None):
        self.key = key or secrets.token_bytes(32)

    def sign(self, url: str, path: str, now: float) -> str:
        """`url` (the package's address, whose path is `path`) with the query that opens it until
        `now` + VALID_SECONDS."""
        stamp = dt.datetime.fromtimestamp(int(now), dt.UTC).strftime(STAMP_FORMAT)
        query = {"X-Amz-Date": stamp, "X-Amz-Expires": str(VALID_SECONDS),
                 "X-Amz-Signature": self._signature(path, stamp, str(VALID_SECONDS))}
        return f"{url}?{urlencode(query)}"

    def refusal(self, path: str, query: dict[str, str], now: float) -> str | None:
        """Why a request for `path` with this query may not have the package (S3's words), or None."""
        stamp, expires, signature = (query.get(k) for k in ("X-Amz-Date", "X-Amz-Expires", "X-Amz-Signature"))
        if not (stamp and expires and signature):
            return "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters"
        if not hmac.compare_digest(self._signature(path, stamp, expires), signature):
            return "The request signature we calculated does not match the signature you provided."
        try:
            made = dt.datetime.strptime(stamp, STAMP_FORMAT).replace(tzinfo=dt.UTC).timestamp()
            valid = int(expires)
        except ValueError:
            return "Invalid date or expiry in the query string"
        if now > made + valid:
            return "Request has expired"
        return None

    def _signature(self, path: str, stamp: str, expires: str) -> str:
        message = f"{path}\n{stamp}\n{expires}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()
