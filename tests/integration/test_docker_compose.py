"""docker-compose.yml and the Dockerfile cannot be run here (no Docker engine): check what the README
promises by reading them. The compose services' commands are parsed by the real `cdc-bridge` command
line, so a flag that does not exist fails here too; the Dockerfile's instructions are linted."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml

from cdc_bridge.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
SERVED_PORTS = {"cdc-bridge": "8000", "connector-2": "8001"}


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def services() -> dict:
    return compose()["services"]


def parsed_command(service: str):
    """The service's command as `cdc-bridge` would parse it, with the service's environment applied
    the way the container gets it (options read their environment variables)."""
    env = {name: str(value) for name, value in services()[service]["environment"].items()}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        return build_parser().parse_args(services()[service]["command"])


# -- docker-compose.yml ---------------------------------------------------------------------------


def test_compose_runs_apache_kafka_in_kraft_mode():
    kafka = services()["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = kafka["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "9092:9092" in kafka["ports"]
    assert "INTERNAL://kafka:29092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert "kafka-data:/var/lib/kafka/data" in kafka["volumes"]


def test_compose_serves_every_api_with_up_against_the_kafka_service():
    service = services()["cdc-bridge"]
    assert service["build"] == "." and (ROOT / "Dockerfile").exists()
    args = parsed_command("cdc-bridge")
    assert args.command == "up"
    assert args.kafka_bootstrap_servers == "kafka:29092"  # so `up` starts no broker of its own
    assert (args.host, int(args.port)) == ("0.0.0.0", 8000)
    assert "8000:8000" in service["ports"]
    assert service["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert args.data_dir == "/data" and "cdc-bridge-data:/data" in service["volumes"]


def test_compose_runs_a_second_connector_that_shares_the_iterator_secret():
    first, second = parsed_command("cdc-bridge"), parsed_command("connector-2")
    assert second.command == "connector"
    assert second.kafka_bootstrap_servers == first.kafka_bootstrap_servers == "kafka:29092"
    assert second.iterator_secret and second.iterator_secret == first.iterator_secret
    assert (second.host, int(second.port)) == ("0.0.0.0", 8001)
    assert "8001:8001" in services()["connector-2"]["ports"]
    assert "connector-2-data:/data" in services()["connector-2"]["volumes"]  # its own iterator key, stream file


@pytest.mark.parametrize("service", SERVED_PORTS)
def test_compose_services_bind_all_interfaces_with_an_explicit_access_choice(service):
    args = parsed_command(service)
    assert args.allow_anonymous or args.credentials_file, "a non-loopback --host without either is refused"
    assert "user" not in services()[service] or services()[service]["user"] not in ("root", "0", "0:0")


@pytest.mark.parametrize("service", SERVED_PORTS)
def test_compose_health_checks_ask_health_on_the_service_port(service):
    check = services()[service]["healthcheck"]
    command = " ".join(check["test"])
    assert f"127.0.0.1:{SERVED_PORTS[service]}/health" in command
    assert check["retries"] >= 5
    assert "healthcheck" in services()["kafka"]


def test_compose_schema_registry_is_optional_behind_a_profile():
    registry = services()["schema-registry"]
    assert registry["profiles"] == ["schema-registry"]
    assert registry["environment"]["SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS"].endswith("kafka:29092")
    dependency = services()["cdc-bridge"]["depends_on"]["schema-registry"]
    assert dependency["required"] is False
    assert services()["cdc-bridge"]["environment"]["SCHEMA_REGISTRY_URL"] == "${SCHEMA_REGISTRY_URL:-}"
    assert "schema-registry" not in services()["connector-2"].get("depends_on", {})


def test_compose_declares_every_named_volume():
    declared = set(compose()["volumes"])
    used = {mount.split(":")[0] for service in services().values() for mount in service.get("volumes", [])}
    assert used == declared


# -- Dockerfile -----------------------------------------------------------------------------------


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs: comments dropped, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
            for line in joined.splitlines() if line.strip()]


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for instruction, args in instructions((ROOT / "Dockerfile").read_text()):
        if instruction == "FROM":
            found.append([])
        found[-1].append((instruction, args))
    return found


def final_stage() -> list[tuple[str, str]]:
    return stages()[-1]


def values(stage, name: str) -> list[str]:
    return [args for instruction, args in stage if instruction == name]


def test_dockerfile_is_multi_stage_on_a_slim_base():
    all_stages = stages()
    assert len(all_stages) >= 2
    for stage in all_stages:
        assert values(stage, "FROM")[0].split()[0].endswith("-slim")
    assert any(args.startswith("--from=") for args in values(final_stage(), "COPY"))


def test_dockerfile_final_stage_installs_no_compiler():
    runs = " ".join(values(final_stage(), "RUN"))
    for tool in ("build-essential", "gcc", "g++", "clang", "make "):
        assert tool not in runs
    assert not values(final_stage(), "ADD")


def test_dockerfile_runs_as_a_non_root_user():
    [user] = values(final_stage(), "USER")
    assert user not in ("root", "0") and not user.startswith("0:")
    assert "useradd" in " ".join(values(final_stage(), "RUN")) and user in " ".join(values(final_stage(), "RUN"))


def test_dockerfile_health_check_asks_health():
    [check] = values(final_stage(), "HEALTHCHECK")
    assert "/health" in check and "CMD" in check


def test_dockerfile_default_command_is_up_on_all_interfaces_with_allow_anonymous():
    [entrypoint] = values(final_stage(), "ENTRYPOINT")
    [command] = values(final_stage(), "CMD")
    assert entrypoint == '["cdc-bridge"]'
    args = build_parser().parse_args(json.loads(command))  # the exec form: a JSON array
    assert args.command == "up" and args.host == "0.0.0.0" and args.allow_anonymous


def test_dockerfile_image_uses_the_embedded_broker_without_kafka():
    assert "tansu_binary()" in " ".join(values(stages()[0], "RUN"))  # made executable while still root
    env = " ".join(values(final_stage(), "ENV"))
    assert "CDC_BRIDGE_BROKER=memory" in env  # no Java in the image; KAFKA_BOOTSTRAP_SERVERS still wins
    assert "CDC_BRIDGE_DATA_DIR=/data" in env and values(final_stage(), "VOLUME") == ["/data"]
    assert values(final_stage(), "EXPOSE") == ["8000"]


def test_dockerfile_copies_every_package_the_project_installs():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {pattern.rstrip("*") for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = {shlex.split(args)[0] for args in values(stages()[0], "COPY")}
    assert packages <= copied
    assert "pip install" in " ".join(values(stages()[0], "RUN"))


def test_dockerignore_keeps_the_local_venv_and_data_out_of_the_build():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".git", "data"} <= set(ignored)


# -- README ---------------------------------------------------------------------------------------


def test_readme_documents_the_compose_services_and_their_commands():
    readme = (ROOT / "README.md").read_text()
    assert "docker compose up" in readme
    assert "localhost:8000" in readme and "localhost:9092" in readme and "localhost:8001" in readme
    assert "--profile schema-registry" in readme
    for service in ("cdc-bridge", "connector-2", "kafka", "schema-registry"):
        assert f"`{service}`" in readme
    assert "--allow-anonymous" in readme and "--credentials-file" in readme
