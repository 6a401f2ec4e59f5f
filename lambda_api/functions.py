"""Function definitions: kept in memory, each written whole to its own file on every change, so a
restart of `up` finds every function as it was:

    <data-dir>/lambda/<name>/function.json   {"Format": 1, "Configuration": {...}, "Tags": {...}}

`Configuration` is Lambda's FunctionConfiguration in wire form, exactly what GetFunction answers;
`Format` is this file's own version (the data directory's FORMAT does not change for it: older
cdc-bridges ignore `lambda/`, and a directory without it simply has no functions).
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from lambda_api import code
from lambda_api.settings import Settings

FUNCTION_FILE = "function.json"
FILE_FORMAT = 1


@dataclass
class Function:
    configuration: dict
    tags: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.configuration["FunctionName"]

    @property
    def code_hex(self) -> str:
        return self.configuration["_CodeHex"]

    def wire(self) -> dict:
        """The configuration as Lambda answers it (without our own `_` fields)."""
        return {k: v for k, v in self.configuration.items() if not k.startswith("_")}


class FunctionStore:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.root = settings.root
        self.functions: dict[str, Function] = {}
        self.lock = threading.RLock()  # create, update and delete of one name never interleave

    def load(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for path in sorted(self.root.glob(f"*/{FUNCTION_FILE}")):
            stored = orjson.loads(path.read_bytes())
            function = Function(stored["Configuration"], stored.get("Tags", {}))
            self.functions[function.name] = function
            code.remove_unused(path.parent, keep=function.code_hex)  # no worker runs yet: old packages can go

    def get(self, name: str) -> Function | None:
        return self.functions.get(name)

    def names(self) -> list[str]:
        return sorted(self.functions)

    def directory(self, name: str) -> Path:
        return self.root / name

    def task_root(self, function: Function) -> Path:
        return self.directory(function.name) / function.code_hex

    def save(self, function: Function) -> None:
        """Write a new or changed function (its package is already stored); a new RevisionId."""
        function.configuration["RevisionId"] = str(uuid.uuid4())
        function.configuration["LastModified"] = last_modified()
        body = orjson.dumps({"Format": FILE_FORMAT, "Configuration": function.configuration, "Tags": function.tags})
        write_atomically(self.directory(function.name) / FUNCTION_FILE, body)
        self.functions[function.name] = function

    def delete(self, name: str) -> None:
        self.functions.pop(name, None)
        shutil.rmtree(self.directory(name), ignore_errors=True)


def last_modified() -> str:
    """Lambda's LastModified: `2026-12-07T12:00:00.000+0000`."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}+0000"


def write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
    with open(partial, "wb") as f:
        f.write(data)
        f.flush()
    partial.replace(target)
