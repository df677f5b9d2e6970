"""Secrets: through the Parameters and Secrets extension's loopback endpoint when it runs beside the
function, else a Secrets Manager client; cached per container; a secret that cannot be read is a 503."""

from __future__ import annotations

import socket

import pytest

from livestream import secrets
from livestream.errors import ApiError
from tests.secrets_extension import SecretsExtension
from tests.support import JWT_SECRET

TOKEN = "session-token"


@pytest.fixture
def extension(aws, monkeypatch):
    ext = SecretsExtension.of_values({"from-extension": "extension-value"}, TOKEN)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", str(ext.port))
    secrets.clear_cache()
    yield ext
    ext.stop()
    secrets.clear_cache()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_extension_answers_once_per_container(extension):
    assert secrets.get_secret_string("from-extension") == "extension-value"
    assert secrets.get_secret_string("from-extension") == "extension-value"
    assert extension.requests == [("/secretsmanager/get?secretId=from-extension", TOKEN)]


def test_an_expired_value_is_fetched_again(extension, monkeypatch):
    monkeypatch.setenv("SECRETS_MAX_AGE_SECONDS", "1")
    from livestream.settings import get_settings

    get_settings.cache_clear()
    secrets.get_secret_string("from-extension")
    name, (fetched, value) = "from-extension", secrets._cache["from-extension"]
    secrets._cache[name] = (fetched - 5, value)  # fetched 5 s ago
    secrets.get_secret_string(name)
    assert len(extension.requests) == 2
    get_settings.cache_clear()


def test_an_extension_error_is_503(extension):
    with pytest.raises(ApiError) as raised:
        secrets.get_secret_string("no-such-secret")
    assert raised.value.status == 503


def test_a_refused_session_token_is_503(extension, monkeypatch):
    monkeypatch.setenv("AWS_SESSION_TOKEN", "another-session")
    with pytest.raises(ApiError) as raised:
        secrets.get_secret_string("from-extension")
    assert raised.value.status == 503
    assert extension.requests == [("/secretsmanager/get?secretId=from-extension", "another-session")]


def test_without_the_extension_the_client_reads_secrets_manager(aws, monkeypatch):
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", str(_closed_port()))
    secrets.clear_cache()
    assert secrets.get_secret_string(aws.names["JwtSecret"]) == JWT_SECRET
    assert secrets._extension_absent  # not asked again in this container


def test_a_secret_secrets_manager_does_not_have_is_503(aws):
    with pytest.raises(ApiError) as raised:
        secrets.get_secret_string("missing-secret")
    assert raised.value.status == 503 and raised.value.errors[0] == "Service unavailable"


def test_json_secrets_are_parsed(aws):
    assert set(secrets.get_secret_json(aws.names["AgoraSecret"])) == {"appId", "appCertificate"}
