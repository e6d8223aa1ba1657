"""Tests of instance rows in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session
from unit_store_helpers import Store, store_batch

from forge_tasks.domain.outcomes import InstanceStatus
from forge_tasks.errors import InvalidTransitionError
from forge_tasks.store import instances as instance_store
from forge_tasks.store.engine import session_scope
from forge_tasks.store.instances import (
    find_instance,
    get_or_create_instance,
    list_instances,
    set_instance_status,
)
from forge_tasks.store.tables import Instance

ATTEMPT_1_PRIMARY: dict[str, Any] = {
    "batch_id": "b1",
    "account_id": "acct-1",
    "role": "primary",
    "attempt": 1,
}


def get_or_create(**overrides: Any) -> Instance:
    """Call get_or_create_instance in its own transaction, as one task would."""
    arguments = {
        **ATTEMPT_1_PRIMARY,
        "provider": "hetzner",
        "region": "nbg1",
        "pair_instance_id": None,
        **overrides,
    }
    with session_scope() as session:
        return get_or_create_instance(session=session, **arguments)


def instance_count() -> int:
    with session_scope() as session:
        return len(list_instances(session=session))


def stored_instance() -> Instance:
    with session_scope() as session:
        instance = find_instance(session=session, **ATTEMPT_1_PRIMARY)
    assert instance is not None
    return instance


@pytest.fixture
def batch(store: Store) -> Store:
    store_batch("b1", ["acct-1"])
    return store


def test_new_instance_is_requested_with_its_idempotency_key(batch: Store) -> None:
    instance = get_or_create()

    assert instance.status == InstanceStatus.REQUESTED
    assert instance.idempotency_key == "b1:acct-1:primary:1"


def test_get_or_create_instance_returns_same_row_twice(batch: Store) -> None:
    first = get_or_create()
    second = get_or_create(provider="vultr", region="ams")

    assert second.id == first.id
    assert second.provider == "hetzner"
    assert instance_count() == 1


@pytest.mark.parametrize(
    "other",
    [{"attempt": 2}, {"role": "standby"}],
    ids=["next_attempt", "other_role"],
)
def test_get_or_create_instance_keeps_attempts_apart(
    batch: Store, other: dict[str, Any]
) -> None:
    first = get_or_create()
    second = get_or_create(**other)

    assert second.id != first.id
    assert instance_count() == 2


def test_losing_an_insert_race_returns_the_winners_row(
    batch: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    winner = get_or_create()
    real_find = instance_store.find_instance
    calls = []

    def find_missing_first(**arguments: Any) -> Instance | None:
        # The first lookup runs before the other worker's insert is visible.
        calls.append(arguments)
        return None if len(calls) == 1 else real_find(**arguments)

    monkeypatch.setattr(instance_store, "find_instance", find_missing_first)
    loser = get_or_create()

    assert len(calls) == 2
    assert loser.id == winner.id
    assert instance_count() == 1


def test_illegal_instance_transition_writes_nothing(batch: Store) -> None:
    get_or_create()

    with Session(batch.engine) as session:
        instance = find_instance(session=session, **ATTEMPT_1_PRIMARY)
        assert instance is not None
        with pytest.raises(InvalidTransitionError, match="requested to healthy"):
            set_instance_status(
                session=session,
                instance=instance,
                status=InstanceStatus.HEALTHY,
                failure_reason="should not be stored",
            )
        session.commit()

    stored = stored_instance()
    assert stored.status == InstanceStatus.REQUESTED
    assert stored.failure_reason is None
    assert stored.finished_at is None


def test_final_instance_status_sets_finished_at(batch: Store) -> None:
    get_or_create()

    with session_scope() as session:
        instance = find_instance(session=session, **ATTEMPT_1_PRIMARY)
        assert instance is not None
        set_instance_status(
            session=session, instance=instance, status=InstanceStatus.ACTIVE
        )
        active_finished_at = instance.finished_at
        set_instance_status(
            session=session, instance=instance, status=InstanceStatus.HEALTHY
        )

    stored = stored_instance()
    assert active_finished_at is None
    assert stored.status == InstanceStatus.HEALTHY
    assert stored.finished_at is not None
