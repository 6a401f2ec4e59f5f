"""Which Lambda runtimes run here, and how a worker of each is started.

python3.x runs under the server's own interpreter (whatever 3.x that is: a function created for
python3.12 runs on the 3.11 of the server when that is what it has), so boto3 and everything else
installed beside cdc-bridge is importable. nodejs runs under the `node` on PATH, when there is one.
Any other runtime is refused with Lambda's InvalidParameterValueException, at create and update.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from lambda_api.errors import InvalidParameterValueException

PYTHON = frozenset(f"python3.{minor}" for minor in range(9, 16))
NODE = frozenset({"nodejs20.x", "nodejs22.x", "nodejs24.x"})
# Lambda no longer creates functions on these; it answers with its deprecation message
DEPRECATED = {"python2.7": "python3.13", "python3.6": "python3.13", "python3.7": "python3.13",
              "python3.8": "python3.13", "nodejs": "nodejs22.x", "nodejs4.3": "nodejs22.x",
              "nodejs6.10": "nodejs22.x", "nodejs8.10": "nodejs22.x", "nodejs10.x": "nodejs22.x",
              "nodejs12.x": "nodejs22.x", "nodejs14.x": "nodejs22.x", "nodejs16.x": "nodejs22.x",
              "nodejs18.x": "nodejs22.x"}
HERE = Path(__file__).parent


def check_runnable(runtime: str) -> None:
    if runtime in DEPRECATED:
        raise InvalidParameterValueException(
            f"The runtime parameter of {runtime} is no longer supported for creating or updating AWS Lambda "
            f"functions. We recommend you use the new runtime ({DEPRECATED[runtime]}) while creating or updating "
            "functions.")
    if runtime in PYTHON or (runtime in NODE and shutil.which("node")):
        return
    runnable = sorted(PYTHON, key=lambda r: int(r.split(".")[1])) + (sorted(NODE) if shutil.which("node") else [])
    raise InvalidParameterValueException(
        f"The runtime parameter of {runtime} is not supported by this cdc-bridge: functions run as local processes, "
        f"for the runtimes {', '.join(runnable)}" + ("" if shutil.which("node") else " (nodejs needs `node` on PATH)"))


def worker_command(runtime: str) -> list[str]:
    if runtime in NODE:
        return [shutil.which("node") or "node", str(HERE / "bootstrap.js")]
    return [sys.executable, "-u", str(HERE / "worker.py")]
