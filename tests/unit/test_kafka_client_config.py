"""Operators' librdkafka settings: the properties-file syntax, and how they reach every client."""

from __future__ import annotations

import pytest

from kafka_io import client
from kafka_io.properties import BadSetting, load, parse_pair, parse_properties

PROPERTIES = [
    "# a comment", "! another", "",
    "security.protocol=SASL_SSL",
    "sasl.mechanisms : PLAIN",
    "   sasl.username   alice",
    "sasl.password=p\\=w:d \\",  # ends in one backslash: continued
    "      continued",
    r"key\ with\ space=v",
    "empty=",
    r"escapes=a\tb\u00e9",
    "security.protocol=SSL",
]


def test_properties_file_syntax_as_java_reads_it():
    assert parse_properties("\n".join(PROPERTIES)) == {
        "security.protocol": "SSL",  # the last one wins
        "sasl.mechanisms": "PLAIN",
        "sasl.username": "alice",
        "sasl.password": "p=w:d continued",
        "key with space": "v",
        "empty": "",
        "escapes": "a\tb\u00e9",
    }


def test_a_command_line_pair_keeps_equals_signs_in_its_value():
    assert parse_pair("sasl.password=a=b") == ("sasl.password", "a=b")
    with pytest.raises(BadSetting, match="expected KEY=VALUE"):
        parse_pair("no-equals-sign")


def test_command_line_pairs_win_over_the_file(tmp_path):
    path = tmp_path / "client.properties"
    path.write_text("client.id=from-file\nsocket.timeout.ms=1000\n")
    assert load(["client.id=from-flag"], str(path)) == {"client.id": "from-flag", "socket.timeout.ms": "1000"}


@pytest.fixture
def connection():
    yield client.use_connection_config
    client.use_connection_config({})


def test_connection_settings_reach_every_client_config(connection):
    connection({"client.id": "bridge-7", "socket.timeout.ms": "1234"})
    config = client.with_connection({"bootstrap.servers": "x:1", "linger.ms": 0})
    assert config == {"bootstrap.servers": "x:1", "linger.ms": 0, "client.id": "bridge-7", "socket.timeout.ms": "1234"}


def test_an_unknown_setting_is_refused_with_librdkafkas_reason(connection):
    with pytest.raises(ValueError, match="No such configuration property.*no.such.thing"):
        connection({"no.such.thing": "1"})
    assert client.with_connection({}) == {}


def test_a_missing_certificate_file_is_refused_at_start(connection, tmp_path):
    with pytest.raises(ValueError, match="ssl.ca.location"):
        connection({"security.protocol": "SSL", "ssl.ca.location": str(tmp_path / "missing.pem")})


def test_settings_the_guarantees_rest_on_cannot_be_overridden(connection):
    with pytest.raises(ValueError, match="enable.idempotence.*set by cdc-bridge itself"):
        connection({"enable.idempotence": "false"})
