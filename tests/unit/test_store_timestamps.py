"""Tests that the store returns timezone-aware UTC timestamps on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import StatementError
from unit_store_helpers import Store, move, start, store_batch

from forge_tasks.domain.outcomes import AccountStatus
from forge_tasks.store.audit import (
    add_notification,
    append_audit_event,
    list_audit_events,
    list_notifications,
)
from forge_tasks.store.batches import get_account, get_batch
from forge_tasks.store.engine import session_scope
from forge_tasks.store.instances import get_or_create_instance, list_instances

CEST = timezone(timedelta(hours=2))


def stored_timestamps() -> dict[str, datetime | None]:
    """Read one timestamp of each table in a new session, so it comes from the store."""
    with session_scope() as session:
        batch = get_batch(session=session, batch_id="b1")
        account = get_account(session=session, batch_id="b1", account_id="acct-1")
        (instance,) = list_instances(session=session)
        (event,) = list_audit_events(session=session)
        (notification,) = list_notifications(session=session)
    return {
        "batch.created_at": batch.created_at,
        "account.started_at": account.started_at,
        "account.finished_at": account.finished_at,
        "instance.requested_at": instance.requested_at,
        "audit_event.at": event.at,
        "notification.at": notification.at,
    }


@pytest.fixture
def rows(store: Store) -> Store:
    """One row in every table that has a timestamp."""
    store_batch("b1", ["acct-1"])
    start("b1", "acct-1")
    move("b1", "acct-1", AccountStatus.FAILED)
    with session_scope() as session:
        get_or_create_instance(
            session=session,
            batch_id="b1",
            account_id="acct-1",
            role="primary",
            attempt=1,
            provider="hetzner",
            region="nbg1",
            pair_instance_id=None,
        )
        append_audit_event(
            session=session,
            event_id="evt-1",
            actor="worker",
            action="account_failed",
            batch_id="b1",
            account_id="acct-1",
            details={},
        )
        add_notification(
            session=session,
            notification_id="note-1",
            kind="failure",
            message="account acct-1 failed",
            batch_id="b1",
            account_id="acct-1",
            details={},
        )
    return store


@pytest.mark.parametrize(
    "column",
    [
        "batch.created_at",
        "account.started_at",
        "account.finished_at",
        "instance.requested_at",
        "audit_event.at",
        "notification.at",
    ],
)
def test_timestamp_comes_back_in_utc(rows: Store, column: str) -> None:
    value = stored_timestamps()[column]

    assert value is not None
    assert value.tzinfo is not None
    assert value.utcoffset() == timedelta(0)


def test_offset_timestamp_returns_same_instant_in_utc(rows: Store) -> None:
    with session_scope() as session:
        batch = get_batch(session=session, batch_id="b1")
        batch.resumed_at = datetime(2025, 6, 1, 12, 30, tzinfo=CEST)
        session.add(batch)

    with session_scope() as session:
        stored = get_batch(session=session, batch_id="b1").resumed_at

    assert stored is not None
    assert stored == datetime(2025, 6, 1, 10, 30, tzinfo=UTC)
    assert stored.utcoffset() == timedelta(0)


def test_naive_timestamp_is_rejected(rows: Store) -> None:
    with pytest.raises(StatementError, match="naive datetime"), session_scope() as s:
        batch = get_batch(session=s, batch_id="b1")
        batch.resumed_at = datetime(2025, 6, 1, 12, 30)
        s.add(batch)
        s.flush()
