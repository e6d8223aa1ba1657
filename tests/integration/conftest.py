"""Fixtures for the integration tests: real Redis, real PostgreSQL, the sandbox, workers."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy
from harness import Workers, free_port

from forge_tasks.runtime import reload_settings
from forge_tasks.store.engine import create_tables

REDIS_URL = "redis://127.0.0.1:6379"
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TIME_SCALE = "240"


def _check_redis() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(
            f"Redis is not answering on {REDIS_URL} ({exc}); start it, "
            "for example with scripts/test, which starts one"
        )


REDIS_DATABASES = range(1, 16)
CLAIM_TTL_S = 1800


@pytest.fixture
def redis_db() -> Iterator[str]:
    """A Redis database of this test's own, flushed before and after it.

    Test runs on one machine may overlap, so a database number is claimed with
    SET NX on a key in database 0 and released at teardown.
    """
    _check_redis()
    claims = redis.Redis.from_url(f"{REDIS_URL}/0")
    token = uuid.uuid4().hex
    number = next(
        (
            n
            for n in REDIS_DATABASES
            if claims.set(f"forge-tests:db:{n}", token, nx=True, ex=CLAIM_TTL_S)
        ),
        None,
    )
    if number is None:
        pytest.fail("every Redis database 1-15 is claimed by another test run")
    url = f"{REDIS_URL}/{number}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    if claims.get(f"forge-tests:db:{number}") == token.encode():
        claims.delete(f"forge-tests:db:{number}")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped after the test."""
    name = f"forge_it_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sqlalchemy.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not answering on 127.0.0.1:5432 ({exc})")
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("postgres_url"))


def make_env(tmp_path: Path, broker_url: str, database_url: str) -> dict[str, str]:
    import os

    from forge_tasks.webhooks import generate_secret

    base = f"http://127.0.0.1:{free_port()}"
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("FORGE_")
    }
    env.update(
        {
            "FORGE_STATE_DIR": str(tmp_path / "state"),
            "FORGE_BROKER_URL": broker_url,
            "FORGE_DATABASE_URL": database_url,
            "FORGE_TIME_SCALE": TIME_SCALE,
            "FORGE_GATEWAYFORGE_URL": base,
            "FORGE_GATEWAYFORGE_API_KEY": "gf_" + secrets.token_urlsafe(16),
            "FORGE_COMPANION_URL": f"{base}/companion/webhooks",
            "FORGE_COMPANION_SECRET": generate_secret(),
            "FORGE_COMMANDER_URL": f"{base}/commander/notifications",
        }
    )
    return env


@pytest.fixture
def forge_env(
    tmp_path: Path, redis_db: str, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """FORGE_* settings for this test, applied to this process and returned for others."""
    env = make_env(tmp_path, redis_db, store_url)
    for key, value in env.items():
        if key.startswith("FORGE_"):
            monkeypatch.setenv(key, value)
    reload_settings()
    create_tables()
    yield env
    monkeypatch.undo()
    reload_settings()


@pytest.fixture
def workers(forge_env: dict[str, str], tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(forge_env, tmp_path)
    yield pool
    pool.stop_all()
