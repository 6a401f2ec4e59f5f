"""`cdc_bridge.testing.endpoint`: what it derives from a running stack's /health (served here by a
stand-in HTTP server)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from cdc_bridge.testing import endpoint


@pytest.fixture
def health_server():
    """Answers GET /health with whatever `document` holds."""
    document: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # http.server calls it by this name
            body = json.dumps(document).encode()
            self.send_response(200 if self.path == "/health" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", document
    server.shutdown()
    server.server_close()


def table_api(**part) -> dict:
    return {"status": "ready", "parts": {"table_api": part}}


def test_a_server_bound_to_all_interfaces_serves_its_registry_where_it_is_reached(health_server):
    url, document = health_server
    document.update(table_api(kafka_bootstrap_servers="kafka:29092", schema_registry_url="http://0.0.0.0:8000"))
    stack = endpoint(url)
    assert stack.get_schema_registry_url() == url
    assert stack.get_kafka_bootstrap_servers() == "kafka:29092"


def test_a_registry_elsewhere_and_a_kafka_address_given_are_kept(health_server):
    url, document = health_server
    document.update(table_api(kafka_bootstrap_servers="kafka:29092", schema_registry_url="http://registry:8081"))
    stack = endpoint(url, kafka_bootstrap_servers="localhost:9092")
    assert stack.get_schema_registry_url() == "http://registry:8081"
    assert stack.get_kafka_bootstrap_servers() == "localhost:9092"


def test_a_connector_alone_has_no_kafka_address_to_offer(health_server):
    url, document = health_server
    document.update({"status": "ready", "parts": {"connector": {}}})
    with pytest.raises(RuntimeError, match="publishes no change events"):
        endpoint(url).get_kafka_bootstrap_servers()
