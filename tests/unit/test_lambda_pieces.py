"""Pure parts of the Lambda API: deployment package checks, function names, the REST rendering of
results and errors from the model, and the log tail of an outcome."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import orjson
import pytest

from lambda_api import code, errors
from lambda_api.context import LambdaContext
from lambda_api.operations import invoke  # noqa: F401  (registers Invoke)
from lambda_api.operations.service import SERVICE, function_name
from lambda_api.runner import Outcome
from lambda_api.settings import Settings


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_package_is_stored_once_per_content_and_unpacked(tmp_path):
    package = code.Package.of(zipped({"app.py": b"x = 1", "lib/util.py": b"y = 2"}))
    root = code.store(tmp_path / "fn", package)
    assert root.name == package.sha256_hex
    assert (root / "lib" / "util.py").read_bytes() == b"y = 2"
    assert code.store(tmp_path / "fn", package) == root
    assert (tmp_path / "fn" / f"{package.sha256_hex}.zip").read_bytes() == package.data


@pytest.mark.parametrize("data", [b"", b"PK\x03\x04junk", zipped({"../escape.py": b""}), zipped({"/abs.py": b""})])
def test_broken_or_escaping_packages_are_invalid_parameter(data):
    with pytest.raises(errors.InvalidParameterValueException, match="Could not unzip uploaded file"):
        code.Package.of(data)


def test_remove_unused_keeps_only_the_current_package(tmp_path):
    old, new = (code.Package.of(zipped({"app.py": body})) for body in (b"1", b"2"))
    for package in (old, new):
        code.store(tmp_path, package)
    code.remove_unused(tmp_path, keep=new.sha256_hex)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([new.sha256_hex, f"{new.sha256_hex}.zip"])


CTX = LambdaContext(Settings(Path("/nowhere"), "us-east-1", "123456789012"), None, None)


@pytest.mark.parametrize("text,qualifier,expected", [
    ("fn", None, ("fn", None)),
    ("fn:$LATEST", None, ("fn", "$LATEST")),
    ("fn", "$LATEST", ("fn", "$LATEST")),
    ("arn:aws:lambda:us-east-1:123456789012:function:fn", None, ("fn", None)),
    ("arn:aws:lambda:us-east-1:123456789012:function:fn:prod", None, ("fn", "prod")),
    ("123456789012:function:fn", None, ("fn", None)),
])
def test_function_names_in_every_form_lambda_accepts(text, qualifier, expected):
    assert function_name(CTX, text, qualifier) == expected


def test_a_function_of_another_account_or_region_is_not_found():
    for text in ("arn:aws:lambda:eu-west-1:123456789012:function:fn", "999999999999:function:fn"):
        with pytest.raises(errors.ResourceNotFoundException):
            function_name(CTX, text)


def test_qualifiers_that_disagree_are_invalid_parameter():
    with pytest.raises(errors.InvalidParameterValueException):
        function_name(CTX, "fn:one", "two")


def test_errors_render_the_message_member_the_model_spells():
    status, headers, body = errors.ResourceNotFoundException("gone").render()
    assert (status, headers, orjson.loads(body)) == (404, {"x-amzn-ErrorType": "ResourceNotFoundException"},
                                                     {"Type": "User", "Message": "gone"})
    status, _, body = errors.ResourceConflictException("exists").render()
    assert (status, orjson.loads(body)) == (409, {"Type": "User", "message": "exists"})


def test_invoke_results_render_headers_status_and_raw_payload():
    operation = next(op for op in SERVICE.operations if op.name == "Invoke")
    status, headers, body = SERVICE.render(operation, {"StatusCode": 200, "Payload": b'{"a":1}', "FunctionError":
                                                    "Unhandled", "ExecutedVersion": "$LATEST", "LogResult": "U1RB"})
    assert (status, body) == (200, b'{"a":1}')
    assert headers == {"X-Amz-Function-Error": "Unhandled", "X-Amz-Executed-Version": "$LATEST",
                       "X-Amz-Log-Result": "U1RB"}


def test_request_members_are_gathered_from_path_query_and_headers():
    req = SERVICE.bind("Invoke", {"FunctionName": "fn"}, {"Qualifier": "$LATEST"},
                       {"X-Amz-Invocation-Type": "Event", "X-Amz-Log-Type": "Tail"}, b'{"x": 1}')
    assert req == {"FunctionName": "fn", "Qualifier": "$LATEST", "InvocationType": "Event", "LogType": "Tail",
                   "Payload": b'{"x": 1}'}
    with pytest.raises(errors.ValidationException, match="invocationType"):
        SERVICE.bind("Invoke", {"FunctionName": "fn"}, {}, {"X-Amz-Invocation-Type": "Later"}, b"")
    with pytest.raises(errors.InvalidParameterValueException):
        SERVICE.bind("ListFunctions", {}, {"MaxItems": "many"}, {}, b"")


def test_the_log_tail_is_the_last_4096_bytes():
    outcome = Outcome("id", b"null", None, "x" * 5000 + "end\n")
    assert len(outcome.log_tail) == 4096 and outcome.log_tail.endswith(b"end\n")
