"""Lambda functions: CreateFunction, GetFunction, GetFunctionConfiguration, ListFunctions,
UpdateFunctionCode, UpdateFunctionConfiguration, DeleteFunction, and their errors."""

from __future__ import annotations

import base64
import hashlib
import shutil

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.api.helpers import unique_name
from tests.api.lambda_functions.helpers import ROLE, error_of, package, python_package

HELLO = "def handler(event, context):\n    return 'hello'\n"


def test_create_function_reports_the_configuration_with_201(lam):
    code = python_package(HELLO)
    name = unique_name("fn")
    response = lam.create_function(FunctionName=name, Runtime="python3.12", Handler="app.handler", Role=ROLE,
                                   Code={"ZipFile": code}, Description="says hello", Timeout=30, MemorySize=256,
                                   Environment={"Variables": {"STAGE": "test"}})
    try:
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 201
        assert response["FunctionName"] == name
        assert response["FunctionArn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
        assert (response["Runtime"], response["Handler"], response["Role"]) == ("python3.12", "app.handler", ROLE)
        assert (response["Description"], response["Timeout"], response["MemorySize"]) == ("says hello", 30, 256)
        assert response["Environment"] == {"Variables": {"STAGE": "test"}}
        assert response["CodeSha256"] == base64.b64encode(hashlib.sha256(code).digest()).decode()
        assert response["CodeSize"] == len(code)
        assert (response["Version"], response["State"], response["PackageType"]) == ("$LATEST", "Active", "Zip")
        assert response["RevisionId"]
    finally:
        lam.delete_function(FunctionName=name)


def test_create_function_defaults_timeout_memory_and_description(lam, make_function):
    name = make_function(HELLO)
    config = lam.get_function_configuration(FunctionName=name)
    assert (config["Timeout"], config["MemorySize"], config["Description"]) == (3, 128, "")
    assert "Environment" not in config


def test_get_function_returns_configuration_code_location_and_tags(lam, make_function):
    code = python_package(HELLO)
    name = make_function(HELLO, Code={"ZipFile": code}, Tags={"team": "data"})
    response = lam.get_function(FunctionName=name)
    assert response["Configuration"]["FunctionName"] == name
    assert response["Tags"] == {"team": "data"}
    assert response["Code"]["RepositoryType"] == "S3"
    downloaded = httpx.get(response["Code"]["Location"])
    assert downloaded.status_code == 200 and downloaded.content == code


def test_code_location_is_a_link_that_only_opens_as_handed_out(lam, make_function):
    """As Lambda's presigned S3 URL: without its signed query, or with the query altered (a later
    expiry), the package is refused with S3's AccessDenied."""
    name = make_function(HELLO)
    location = lam.get_function(FunctionName=name)["Code"]["Location"]
    url, _, query = location.partition("?")
    assert "X-Amz-Expires=600" in query and "X-Amz-Signature=" in query
    for refused in (url, location.replace("X-Amz-Expires=600", "X-Amz-Expires=6000"),
                    location[:-4] + ("0000" if not location.endswith("0000") else "1111")):
        answer = httpx.get(refused)
        assert answer.status_code == 403 and b"<Code>AccessDenied</Code>" in answer.content, refused


def test_get_function_by_arn_partial_arn_and_latest_qualifier(lam, make_function):
    name = make_function(HELLO)
    arn = f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    for reference in (arn, f"000000000000:function:{name}", f"{name}:$LATEST"):
        assert lam.get_function(FunctionName=reference)["Configuration"]["FunctionName"] == name
    assert lam.get_function(FunctionName=name, Qualifier="$LATEST")["Configuration"]["FunctionName"] == name


def test_get_function_unknown_is_resource_not_found_404(lam):
    name = unique_name("missing")
    with pytest.raises(ClientError) as exc:
        lam.get_function(FunctionName=name)
    assert error_of(exc) == ("ResourceNotFoundException", 404,
                             f"Function not found: arn:aws:lambda:us-east-1:000000000000:function:{name}")


def test_get_function_with_a_version_that_does_not_exist_is_not_found(lam, make_function):
    name = make_function(HELLO)
    with pytest.raises(ClientError) as exc:
        lam.get_function(FunctionName=name, Qualifier="7")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_create_function_twice_is_resource_conflict_409(lam, make_function):
    name = make_function(HELLO)
    with pytest.raises(ClientError) as exc:
        lam.create_function(FunctionName=name, Runtime="python3.11", Handler="app.handler", Role=ROLE,
                            Code={"ZipFile": python_package(HELLO)})
    assert error_of(exc) == ("ResourceConflictException", 409, f"Function already exist: {name}")


@pytest.mark.parametrize("runtime", ["java21", "go1.x", "ruby3.3", "provided.al2023", "dotnet8"])
def test_create_function_with_a_runtime_that_cannot_run_here_is_invalid_parameter(lam, runtime):
    with pytest.raises(ClientError) as exc:
        lam.create_function(FunctionName=unique_name("fn"), Runtime=runtime, Handler="app.handler", Role=ROLE,
                            Code={"ZipFile": python_package(HELLO)})
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert f"The runtime parameter of {runtime} is not supported" in message


def test_create_function_with_a_deprecated_runtime_gets_lambdas_message(lam):
    with pytest.raises(ClientError) as exc:
        lam.create_function(FunctionName=unique_name("fn"), Runtime="python3.7", Handler="app.handler", Role=ROLE,
                            Code={"ZipFile": python_package(HELLO)})
    assert error_of(exc)[0] == "InvalidParameterValueException"
    assert "python3.7 is no longer supported for creating or updating AWS Lambda functions" in error_of(exc)[2]


def test_create_function_with_a_runtime_outside_the_model_is_validation_error(lenient_lam):
    with pytest.raises(ClientError) as exc:
        lenient_lam.create_function(FunctionName=unique_name("fn"), Runtime="cobol85", Handler="a.b", Role=ROLE, Code={"ZipFile": python_package(HELLO)})
    code, status, message = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    assert message.startswith("1 validation error detected: Value 'cobol85' at 'runtime' failed to satisfy constraint")


def test_create_function_without_runtime_or_handler_is_invalid_parameter(lam):
    with pytest.raises(ClientError) as exc:
        lam.create_function(FunctionName=unique_name("fn"), Role=ROLE, Handler="app.handler",
                            Code={"ZipFile": python_package(HELLO)})
    assert error_of(exc) == ("InvalidParameterValueException", 400,
                             ("Runtime and Handler are mandatory parameters for functions created with deployment "
                             "packages."))


def test_create_function_with_a_broken_zip_is_invalid_parameter(lam):
    with pytest.raises(ClientError) as exc:
        lam.create_function(FunctionName=unique_name("fn"), Runtime="python3.11", Handler="app.handler", Role=ROLE,
                            Code={"ZipFile": b"PK\x03\x04 not really a zip"})
    assert error_of(exc) == ("InvalidParameterValueException", 400,
                             "Could not unzip uploaded file. Please check your file, then try to upload again.")


def test_create_function_with_a_zip_escaping_its_folder_is_refused(lam):
    with pytest.raises(ClientError) as exc:
        lam.create_function(FunctionName=unique_name("fn"), Runtime="python3.11", Handler="app.handler", Role=ROLE,
                            Code={"ZipFile": package({"../../evil.py": "x = 1"})})
    assert error_of(exc)[0] == "InvalidParameterValueException"


def test_create_function_from_s3_is_refused_with_invalid_parameter(lam):
    with pytest.raises(ClientError) as exc:
        lam.create_function(FunctionName=unique_name("fn"), Runtime="python3.11", Handler="app.handler", Role=ROLE,
                            Code={"S3Bucket": "bucket", "S3Key": "k.zip"})
    assert error_of(exc)[:2] == ("InvalidParameterValueException", 400)


def test_create_function_with_reserved_environment_variables_is_refused(lam):
    with pytest.raises(ClientError) as exc:
        lam.create_function(FunctionName=unique_name("fn"), Runtime="python3.11", Handler="app.handler", Role=ROLE,
                            Code={"ZipFile": python_package(HELLO)},
                            Environment={"Variables": {"AWS_REGION": "eu-west-1", "MINE": "x"}})
    code, _, message = error_of(exc)
    assert code == "InvalidParameterValueException"
    assert message.endswith("Reserved keys used in this request: AWS_REGION")


def test_create_function_with_more_than_4kb_of_environment_is_refused(lam):
    with pytest.raises(ClientError) as exc:
        lam.create_function(FunctionName=unique_name("fn"), Runtime="python3.11", Handler="app.handler", Role=ROLE,
                            Code={"ZipFile": python_package(HELLO)}, Environment={"Variables": {"BIG": "x" * 5000}})
    assert error_of(exc)[0] == "InvalidParameterValueException"
    assert "exceeded the 4KB limit" in error_of(exc)[2]


@pytest.mark.parametrize("field,value,member", [("Timeout", 0, "timeout"), ("MemorySize", 64, "memorySize")])
def test_create_function_out_of_range_settings_are_validation_errors(lenient_lam, field, value, member):
    with pytest.raises(ClientError) as exc:
        lenient_lam.create_function(**{"FunctionName": unique_name("fn"), "Runtime": "python3.11",
                                              "Handler": "a.b", "Role": ROLE, field: value,
                                              "Code": {"ZipFile": python_package(HELLO)}})
    code, status, message = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    assert f"Value '{value}' at '{member}' failed to satisfy constraint" in message


def test_create_function_with_a_bad_role_is_validation_error(lenient_lam):
    with pytest.raises(ClientError) as exc:
        lenient_lam.create_function(FunctionName=unique_name("fn"), Runtime="python3.11", Handler="a.b", Role="not-a-role", Code={"ZipFile": python_package(HELLO)})
    assert error_of(exc)[:2] == ("ValidationException", 400)


def test_request_body_that_is_not_json_is_invalid_request_content(lambda_url):
    response = httpx.post(f"{lambda_url}/2015-03-31/functions", content=b"{not json",
                          headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.headers["x-amzn-ErrorType"] == "InvalidRequestContentException"
    assert response.json()["Type"] == "User"


def test_unknown_lambda_path_is_an_aws_error_not_a_server_error(lambda_url):
    response = httpx.get(f"{lambda_url}/2015-03-31/no-such-thing")
    assert response.status_code == 404
    assert response.headers["x-amzn-ErrorType"] == "UnknownOperationException"


def test_list_functions_pages_with_marker_and_max_items(lam, make_function):
    prefix = unique_name("page")
    names = sorted(make_function(HELLO, name=f"{prefix}-{i}") for i in range(5))
    seen, marker = [], None
    while True:
        page = lam.list_functions(MaxItems=2, **({"Marker": marker} if marker else {}))
        assert len(page["Functions"]) <= 2
        seen += [f["FunctionName"] for f in page["Functions"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert [n for n in seen if n.startswith(prefix)] == names
    paginated = [f["FunctionName"] for p in lam.get_paginator("list_functions").paginate() for f in p["Functions"]]
    assert [n for n in paginated if n.startswith(prefix)] == names


def test_list_functions_with_a_bad_marker_is_invalid_parameter(lam):
    with pytest.raises(ClientError) as exc:
        lam.list_functions(Marker="!!!")
    assert error_of(exc)[0] == "InvalidParameterValueException"


def test_update_function_configuration_changes_what_get_function_reports(lam, make_function):
    name = make_function(HELLO, Environment={"Variables": {"OLD": "1"}})
    before = lam.get_function_configuration(FunctionName=name)
    updated = lam.update_function_configuration(FunctionName=name, Timeout=10, MemorySize=512,
                                                Description="new", Handler="app.other",
                                                Environment={"Variables": {"NEW": "2"}})
    assert (updated["Timeout"], updated["MemorySize"], updated["Description"]) == (10, 512, "new")
    assert updated["Handler"] == "app.other"
    assert updated["Environment"] == {"Variables": {"NEW": "2"}}
    assert updated["RevisionId"] != before["RevisionId"]
    stored = lam.get_function_configuration(FunctionName=name)
    assert {k: v for k, v in stored.items() if k != "ResponseMetadata"} == {
        k: v for k, v in updated.items() if k != "ResponseMetadata"}


def test_update_function_configuration_with_a_stale_revision_id_is_precondition_failed(lam, make_function):
    name = make_function(HELLO)
    with pytest.raises(ClientError) as exc:
        lam.update_function_configuration(FunctionName=name, Timeout=5, RevisionId="not-the-current-one")
    assert error_of(exc)[:2] == ("PreconditionFailedException", 412)


def test_update_function_configuration_to_an_unsupported_runtime_is_refused(lam, make_function):
    name = make_function(HELLO)
    with pytest.raises(ClientError) as exc:
        lam.update_function_configuration(FunctionName=name, Runtime="java17")
    assert error_of(exc)[0] == "InvalidParameterValueException"
    assert lam.get_function_configuration(FunctionName=name)["Runtime"] == "python3.11"


def test_update_function_code_changes_the_sha_and_what_runs(lam, make_function):
    name = make_function(HELLO)
    assert lam.invoke(FunctionName=name)["Payload"].read() == b'"hello"'
    new_code = python_package("def handler(event, context):\n    return 'goodbye'\n")
    updated = lam.update_function_code(FunctionName=name, ZipFile=new_code)
    assert updated["CodeSha256"] == base64.b64encode(hashlib.sha256(new_code).digest()).decode()
    assert updated["CodeSize"] == len(new_code)
    assert lam.invoke(FunctionName=name)["Payload"].read() == b'"goodbye"'


def test_update_function_code_dry_run_changes_nothing(lam, make_function):
    name = make_function(HELLO)
    before = lam.get_function_configuration(FunctionName=name)["CodeSha256"]
    lam.update_function_code(FunctionName=name, ZipFile=python_package("def handler(e, c):\n    return 1\n"),
                             DryRun=True)
    assert lam.get_function_configuration(FunctionName=name)["CodeSha256"] == before
    assert lam.invoke(FunctionName=name)["Payload"].read() == b'"hello"'


def test_update_function_code_of_an_unknown_function_is_not_found(lam):
    with pytest.raises(ClientError) as exc:
        lam.update_function_code(FunctionName=unique_name("missing"), ZipFile=python_package(HELLO))
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_delete_function_answers_204_and_the_function_is_gone(lam, make_function):
    name = make_function(HELLO)
    response = lam.delete_function(FunctionName=name)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        lam.get_function(FunctionName=name)
    assert error_of(exc)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        lam.delete_function(FunctionName=name)
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_a_deleted_function_can_be_created_again(lam, make_function):
    name = make_function(HELLO)
    lam.delete_function(FunctionName=name)
    make_function("def handler(e, c):\n    return 'again'\n", name=name)
    assert lam.invoke(FunctionName=name)["Payload"].read() == b'"again"'


@pytest.mark.skipif(shutil.which("node") is not None, reason="node is on PATH: nodejs runs here")
def test_nodejs_without_node_on_path_is_refused(lam):
    with pytest.raises(ClientError) as exc:
        lam.create_function(FunctionName=unique_name("fn"), Runtime="nodejs20.x", Handler="index.handler", Role=ROLE,
                            Code={"ZipFile": package({"index.js": "exports.handler = async () => 1;"})})
    assert error_of(exc)[0] == "InvalidParameterValueException"


def test_create_function_takes_a_package_larger_than_other_apis_request_limit(lam, make_function):
    """Lambda takes 50 MB zips (base64 in the JSON body); the server's 16 MB body limit is for the others."""
    big = package({"app.py": HELLO, "blob.txt": "x" * (17 * 1024 * 1024)})  # stored: a 17 MB zip, 23 MB base64
    assert len(big) > 16 * 1024 * 1024
    name = make_function(HELLO, Code={"ZipFile": big})
    assert lam.get_function_configuration(FunctionName=name)["CodeSize"] == len(big)
    assert lam.invoke(FunctionName=name)["Payload"].read() == b'"hello"'
