"""Tests of settings: placeholder secrets, broker and backend defaults, time scale."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from forge_tasks.errors import ConfigurationError
from forge_tasks.settings import Settings

API_KEY_VARIABLE = "FORGE_GATEWAYFORGE_API_KEY"
COMPANION_SECRET_VARIABLE = "FORGE_COMPANION_SECRET"
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Remove every FORGE_ variable and work in a temporary folder."""
    for name in list(os.environ):
        if name.startswith("FORGE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path.resolve()


def settings_from(monkeypatch: pytest.MonkeyPatch, **variables: str) -> Settings:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return Settings()


def secrets_error(settings: Settings) -> str:
    with pytest.raises(ConfigurationError) as raised:
        settings.require_real_secrets()
    return str(raised.value)


def test_both_placeholder_secrets_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    message = secrets_error(settings_from(monkeypatch))

    assert API_KEY_VARIABLE in message
    assert COMPANION_SECRET_VARIABLE in message


@pytest.mark.parametrize(
    ("real_variable", "placeholder_variable"),
    [
        (API_KEY_VARIABLE, COMPANION_SECRET_VARIABLE),
        (COMPANION_SECRET_VARIABLE, API_KEY_VARIABLE),
    ],
    ids=["companion_secret_left", "api_key_left"],
)
def test_only_the_placeholder_secret_is_named(
    monkeypatch: pytest.MonkeyPatch, real_variable: str, placeholder_variable: str
) -> None:
    settings = settings_from(monkeypatch, **{real_variable: "a-real-secret"})

    message = secrets_error(settings)

    assert placeholder_variable in message
    assert real_variable not in message


def test_real_secrets_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_from(
        monkeypatch,
        **{API_KEY_VARIABLE: "key-1", COMPANION_SECRET_VARIABLE: "secret-1"},
    )

    settings.require_real_secrets()


def test_embedded_demo_accepts_placeholder_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = settings_from(monkeypatch, FORGE_EMBEDDED_DEMO="true")

    settings.require_real_secrets()


def test_default_broker_is_embedded_sqlite_in_state_dir(
    monkeypatch: pytest.MonkeyPatch, clean_environment: Path
) -> None:
    settings = settings_from(monkeypatch)

    expected = f"forge-sqla+sqlite:///{clean_environment / '.forge' / 'broker.db'}"
    assert settings.resolved_broker_url == expected
    assert settings.is_embedded is True


def test_default_result_backend_is_sqlite_in_state_dir(
    monkeypatch: pytest.MonkeyPatch, clean_environment: Path
) -> None:
    settings = settings_from(monkeypatch)

    expected = f"db+sqlite:///{clean_environment / '.forge' / 'results.db'}"
    assert settings.resolved_result_backend == expected


def test_default_store_is_sqlite_in_state_dir(
    monkeypatch: pytest.MonkeyPatch, clean_environment: Path
) -> None:
    settings = settings_from(monkeypatch)

    expected = f"sqlite:///{clean_environment / '.forge' / 'store.db'}"
    assert settings.resolved_database_url == expected


def test_state_dir_moves_the_default_files(
    monkeypatch: pytest.MonkeyPatch, clean_environment: Path
) -> None:
    settings = settings_from(monkeypatch, FORGE_STATE_DIR="state")

    assert settings.resolved_broker_url.endswith(
        str(clean_environment / "state" / "broker.db")
    )


@pytest.mark.parametrize(
    "broker_url",
    [REDIS_URL, "rediss://127.0.0.1:6380/0"],
    ids=["redis", "rediss"],
)
def test_redis_broker_is_also_the_result_backend(
    monkeypatch: pytest.MonkeyPatch, broker_url: str
) -> None:
    settings = settings_from(monkeypatch, FORGE_BROKER_URL=broker_url)

    assert settings.resolved_broker_url == broker_url
    assert settings.resolved_result_backend == broker_url
    assert settings.is_embedded is False


def test_explicit_result_backend_wins_over_redis_broker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backend = "db+postgresql://postgres@127.0.0.1:5432/test"
    settings = settings_from(
        monkeypatch, FORGE_BROKER_URL=REDIS_URL, FORGE_RESULT_BACKEND=backend
    )

    assert settings.resolved_result_backend == backend


def test_explicit_database_url_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    settings = settings_from(monkeypatch, FORGE_DATABASE_URL=url)

    assert settings.resolved_database_url == url


@pytest.mark.parametrize(
    ("time_scale", "seconds", "expected_s"),
    [("1", 900.0, 900.0), ("60", 900.0, 15.0), ("0.5", 10.0, 20.0)],
    ids=["real_time", "sixty_times_faster", "half_speed"],
)
def test_scaled_divides_runbook_seconds_by_time_scale(
    monkeypatch: pytest.MonkeyPatch, time_scale: str, seconds: float, expected_s: float
) -> None:
    settings = settings_from(monkeypatch, FORGE_TIME_SCALE=time_scale)

    assert settings.scaled(seconds) == expected_s


@pytest.mark.parametrize("time_scale", ["0", "-2"], ids=["zero", "negative"])
def test_time_scale_must_be_positive(
    monkeypatch: pytest.MonkeyPatch, time_scale: str
) -> None:
    with pytest.raises(ValidationError, match="time_scale"):
        settings_from(monkeypatch, FORGE_TIME_SCALE=time_scale)


def test_service_urls_lose_their_trailing_slash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = settings_from(monkeypatch, FORGE_GATEWAYFORGE_URL="http://127.0.0.1:9/")

    assert settings.gatewayforge_url == "http://127.0.0.1:9"
