"""Fixtures of the unit tests: a fresh, empty store on SQLite or PostgreSQL.

The PostgreSQL cases create a database ``forge_unit_<random>`` on the server at
127.0.0.1:5432 (user ``postgres``, trust auth) and drop it afterwards. When that
server is not reachable they fail with a message saying so; they never skip.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError
from unit_store_helpers import Store

from forge_tasks.settings import get_settings
from forge_tasks.store.engine import create_tables, get_engine, reset_engine

POSTGRES_SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432"
POSTGRES_ADMIN_DATABASE = "test"


@contextmanager
def _postgres_database() -> Iterator[str]:
    admin = create_engine(
        f"{POSTGRES_SERVER_URL}/{POSTGRES_ADMIN_DATABASE}", isolation_level="AUTOCOMMIT"
    )
    name = f"forge_unit_{secrets.token_hex(6)}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except OperationalError as exc:
        admin.dispose()
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_SERVER_URL}/"
            f"{POSTGRES_ADMIN_DATABASE} ({exc.orig}). Start it, or deselect the "
            "PostgreSQL cases with -k 'not postgresql'.",
            pytrace=False,
        )
    try:
        yield f"{POSTGRES_SERVER_URL}/{name}"
    finally:
        # The engine's pooled connections would block DROP DATABASE.
        reset_engine()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def _store_on(
    backend: str, url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Store]:
    monkeypatch.setenv("FORGE_DATABASE_URL", url)
    get_settings.cache_clear()
    reset_engine()
    try:
        create_tables()
        yield Store(backend=backend, url=url, engine=get_engine())
    finally:
        reset_engine()
        get_settings.cache_clear()


@contextmanager
def _fresh_store(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Store]:
    if backend == "sqlite":
        with _store_on(backend, f"sqlite:///{tmp_path / 'store.db'}", monkeypatch) as s:
            yield s
        return
    with _postgres_database() as url, _store_on(backend, url, monkeypatch) as s:
        yield s


@pytest.fixture(params=["sqlite", "postgresql"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Store]:
    """An empty store with every table, once on a SQLite file and once on PostgreSQL."""
    with _fresh_store(request.param, tmp_path, monkeypatch) as fresh:
        yield fresh


@pytest.fixture
def postgres_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """An empty store on PostgreSQL, for tests of row locks between sessions."""
    with _fresh_store("postgresql", tmp_path, monkeypatch) as fresh:
        yield fresh
