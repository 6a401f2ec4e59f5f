"""Deployment packages: a zip checked as Lambda checks it, stored once per content hash, and
unpacked next to it, so that a function's code directory never changes under a running worker:

    <data-dir>/lambda/<name>/<sha256 hex>.zip     the package as uploaded (GetFunction's Code.Location)
    <data-dir>/lambda/<name>/<sha256 hex>/        the package unpacked: the workers' task root
"""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lambda_api.errors import InvalidParameterValueException

MAX_UNZIPPED_BYTES = 262_144_000  # Lambda's 250 MB
UNZIP_FAILED = "Could not unzip uploaded file. Please check your file, then try to upload again."


@dataclass(frozen=True)
class Package:
    data: bytes
    sha256_hex: str

    @classmethod
    def of(cls, data: bytes) -> Package:
        check(data)
        return cls(data, hashlib.sha256(data).hexdigest())

    @property
    def code_sha256(self) -> str:
        """Lambda's CodeSha256: the base64 of the package's SHA-256."""
        return base64.b64encode(bytes.fromhex(self.sha256_hex)).decode()


def check(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise InvalidParameterValueException(UNZIP_FAILED) from None
    if any(unsafe(e.filename) for e in entries):
        raise InvalidParameterValueException(UNZIP_FAILED)
    size = sum(e.file_size for e in entries)
    if size > MAX_UNZIPPED_BYTES:
        raise InvalidParameterValueException(f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes")


def unsafe(name: str) -> bool:
    """An entry that would land outside the task root."""
    parts = Path(name).parts
    return name.startswith(("/", "\\")) or ".." in parts


def store(function_dir: Path, package: Package) -> Path:
    """The package's task root, written (zip and unpacked tree) unless it is already there."""
    root = function_dir / package.sha256_hex
    if root.is_dir():
        return root
    function_dir.mkdir(parents=True, exist_ok=True)
    zip_path = function_dir / f"{package.sha256_hex}.zip"
    if not zip_path.exists():
        partial = function_dir / f".{uuid.uuid4().hex}.zip"
        partial.write_bytes(package.data)
        partial.replace(zip_path)
    unpacking = function_dir / f".{uuid.uuid4().hex}"
    try:
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(unpacking)
        unpacking.replace(root)  # whole or not at all: a worker never sees a half-unpacked tree
    except (zipfile.BadZipFile, OSError) as exc:
        shutil.rmtree(unpacking, ignore_errors=True)
        if root.is_dir():  # another request unpacked the same package first
            return root
        raise InvalidParameterValueException(UNZIP_FAILED) from exc
    return root


def remove_unused(function_dir: Path, keep: str) -> None:
    """Drop packages other than `keep` (after an update; a worker still running one has its files open)."""
    for path in function_dir.iterdir():
        stem = path.name.removesuffix(".zip")
        if stem != keep and len(stem) == 64 and not path.name.startswith("."):
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
