"""How the plugin's `cdc_bridge` fixture chooses between Docker and local child processes."""

from __future__ import annotations

import types

import pytest

from cdc_bridge.testing import container, pytest_plugin


def config(option: str | None = None):
    return types.SimpleNamespace(getoption=lambda name, default=None: option)


@pytest.mark.parametrize("has_image, expected", [(True, "docker"), (False, "local")])
def test_auto_runs_docker_only_when_the_engine_has_the_image(monkeypatch, has_image, expected):
    monkeypatch.delenv("CDC_BRIDGE_TESTING", raising=False)
    monkeypatch.setattr(container, "image_available", lambda: has_image)
    assert pytest_plugin.stack_mode(config()) == expected


def test_the_option_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("CDC_BRIDGE_TESTING", "docker")
    assert pytest_plugin.stack_mode(config("local")) == "local"
    assert pytest_plugin.stack_mode(config()) == "docker"


def test_an_unknown_mode_in_the_environment_is_a_usage_error(monkeypatch):
    monkeypatch.setenv("CDC_BRIDGE_TESTING", "podman")
    with pytest.raises(pytest.UsageError, match="expected one of auto, docker, local"):
        pytest_plugin.stack_mode(config())


def test_no_engine_here_means_local(monkeypatch):
    monkeypatch.delenv("CDC_BRIDGE_TESTING", raising=False)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    assert container.image_available() is False
    assert pytest_plugin.stack_mode(config()) == "local"
