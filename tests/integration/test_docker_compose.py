"""docker-compose.yml cannot be started here (no Docker engine): check what the README promises."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_apache_kafka_in_kraft_mode():
    kafka = compose()["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = kafka["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "9092:9092" in kafka["ports"]


def test_compose_builds_the_table_service_from_the_repo_dockerfile():
    service = compose()["services"]["table-api"]
    assert service["build"] == "."
    assert (ROOT / "Dockerfile").exists()
    assert service["command"] == ["table-api"]
    assert "8000:8000" in service["ports"]
    assert service["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_compose_points_the_table_service_at_the_kafka_service():
    env = compose()["services"]["table-api"]["environment"]
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:29092"
    listeners = compose()["services"]["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert "INTERNAL://kafka:29092" in listeners
    assert env["CDC_BRIDGE_HOST"] == "0.0.0.0" and env["CDC_BRIDGE_PORT"] == "8000"
    assert env["CDC_BRIDGE_DATA_DIR"] == "/data"


def test_dockerfile_installs_the_package_and_runs_the_cli():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install" in dockerfile
    assert 'ENTRYPOINT ["cdc-bridge"]' in dockerfile
    for package in ("cdc_bridge", "table_api", "connector", "schemas"):
        assert f"COPY {package} {package}" in dockerfile


def test_readme_documents_the_compose_ports():
    readme = (ROOT / "README.md").read_text()
    assert "docker compose up" in readme
    assert "localhost:8000" in readme and "localhost:9092" in readme
