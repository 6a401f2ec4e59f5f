"""Where objects go: a folder per bucket under the archive directory, or a real S3-compatible
endpoint. Either way an object appears under its final name only whole: a file is written under a
temporary name, fsynced, renamed into place (and its folder fsynced); an S3 object is one PUT,
which S3 makes visible only complete (Content-MD5 lets S3 refuse a body damaged on the way)."""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

import urllib3
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

TEMPORARY_SUFFIX = ".tmp"


class Sink(Protocol):
    def put(self, bucket: str, key: str, data: bytes) -> None: ...


def bucket_of(bucket_arn: str) -> str:
    return bucket_arn.split(":::", 1)[1]


class LocalArchive:
    """`<root>/<bucket>/<key>`. A crash mid-write leaves only a hidden `.<name>.<uuid>.tmp` file,
    which readers of the archive must skip (a restart removes none: it cannot know a writer of
    another process is not at work on it)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, bucket: str, key: str) -> Path:
        path = (self.root / bucket / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"object key {key!r} leaves the bucket's folder")
        return path

    def put(self, bucket: str, key: str, data: bytes) -> None:
        final = self.path(bucket, key)
        final.parent.mkdir(parents=True, exist_ok=True)
        temporary = final.with_name(f".{final.name}.{uuid.uuid4().hex}{TEMPORARY_SUFFIX}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(temporary, final)
        directory = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a power cut
        finally:
            os.close(directory)


class S3Bucket:
    """Plain HTTP PUT, path-style (`<endpoint>/<bucket>/<key>`), signed with SigV4 by botocore's signer."""

    def __init__(self, endpoint_url: str, access_key_id: str, secret_access_key: str, region: str):
        self.endpoint_url = endpoint_url.rstrip("/")
        self.credentials = Credentials(access_key_id, secret_access_key)
        self.region = region
        self.http = urllib3.PoolManager(retries=urllib3.Retry(total=3, backoff_factor=0.2))

    def put(self, bucket: str, key: str, data: bytes) -> None:
        url = f"{self.endpoint_url}/{bucket}/{quote(key, safe='/')}"
        headers = {"Content-MD5": base64.b64encode(hashlib.md5(data).digest()).decode(),
                   "Content-Length": str(len(data))}
        request = AWSRequest(method="PUT", url=url, data=data, headers=headers)
        S3SigV4Auth(self.credentials, "s3", self.region).add_auth(request)
        response = self.http.request("PUT", url, body=data, headers=dict(request.headers.items()))
        if response.status != 200:
            raise OSError(f"S3 PUT {bucket}/{key} answered {response.status}: {response.data[:300]!r}")
