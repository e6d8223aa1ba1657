"""One SQLAlchemy engine per process, and sessions on it.

A prefork worker forks after importing this module, and a pooled connection
must never cross a fork, so the engine is created lazily and re-created when
the process id changes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

from forge_tasks.settings import get_settings
from forge_tasks.store import tables  # noqa: F401  (registers the tables)

logger = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000

_engine: Engine | None = None
_engine_pid: int | None = None
_engine_url: str | None = None


def _configure_sqlite(engine: Engine) -> None:
    """Use WAL and take the write lock at BEGIN, so concurrent workers queue up.

    pysqlite starts transactions lazily and in DEFERRED mode; a read-then-write
    transaction could then fail with "database is locked" instead of waiting.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    """Create an engine for ``url``; SQLite files get their folder created."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def get_engine() -> Engine:
    """Return this process's engine, creating it after a fork or a settings change."""
    global _engine, _engine_pid, _engine_url
    url = get_settings().resolved_database_url
    if _engine is None or _engine_pid != os.getpid() or _engine_url != url:
        _engine = make_engine(url)
        _engine_pid = os.getpid()
        _engine_url = url
    return _engine


def create_tables(engine: Engine | None = None) -> None:
    """Create any missing table; existing tables and rows are left as they are."""
    SQLModel.metadata.create_all(engine or get_engine())


def reset_engine() -> None:
    """Forget this process's engine, for example after the settings changed."""
    global _engine, _engine_pid, _engine_url
    if _engine is not None and _engine_pid == os.getpid():
        _engine.dispose()
    _engine = None
    _engine_pid = None
    _engine_url = None


@contextmanager
def session_scope() -> Iterator[Session]:
    """Open a session, commit when the block succeeds and roll back when it raises."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
