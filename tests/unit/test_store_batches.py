"""Tests of batches and account runs in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlmodel import Session
from unit_store_helpers import (
    Store,
    add_batch,
    move,
    start,
    statuses,
    store_batch,
)

from forge_tasks.domain.outcomes import AccountStatus, BatchStatus
from forge_tasks.errors import InputError, InvalidTransitionError, NotFoundError
from forge_tasks.store.batches import (
    StartDecision,
    get_account,
    get_batch,
    list_accounts,
    set_account_status,
    set_batch_status,
)
from forge_tasks.store.engine import session_scope

PENDING = AccountStatus.PENDING
PRIMARY = AccountStatus.PRIMARY
STANDBY = AccountStatus.STANDBY


def set_batch(batch_id: str, status: BatchStatus) -> None:
    with session_scope() as session:
        batch = get_batch(session=session, batch_id=batch_id)
        set_batch_status(session=session, batch=batch, status=status)


def started_count(batch_id: str) -> int:
    with session_scope() as session:
        return get_batch(session=session, batch_id=batch_id).started_count


def test_create_batch_stores_pending_accounts_in_file_order(store: Store) -> None:
    store_batch("b1", ["acct-c", "acct-a", "acct-b"])

    with session_scope() as session:
        batch = get_batch(session=session, batch_id="b1")
        accounts = list_accounts(session=session, batch_id="b1")

    assert batch.status == BatchStatus.RUNNING
    assert batch.size == 3
    assert [a.account_id for a in accounts] == ["acct-c", "acct-a", "acct-b"]
    assert {a.status for a in accounts} == {PENDING}


def test_first_account_in_file_order_starts(store: Store) -> None:
    store_batch("b1", ["acct-1", "acct-2"])

    assert start("b1", "acct-1") == StartDecision.STARTED
    assert statuses("b1") == {"acct-1": PRIMARY, "acct-2": PENDING}


def test_account_waits_until_earlier_accounts_start(store: Store) -> None:
    store_batch("b1", ["acct-1", "acct-2"])

    assert start("b1", "acct-2") == StartDecision.WAIT_FOR_SLOT
    assert statuses("b1")["acct-2"] == PENDING
    assert start("b1", "acct-1") == StartDecision.STARTED
    assert start("b1", "acct-2") == StartDecision.STARTED


def test_in_flight_accounts_never_exceed_concurrency(store: Store) -> None:
    store_batch("b1", ["acct-1", "acct-2", "acct-3"], concurrency=2)

    decisions = [
        start("b1", account_id) for account_id in ("acct-1", "acct-2", "acct-3")
    ]

    assert decisions == [
        StartDecision.STARTED,
        StartDecision.STARTED,
        StartDecision.WAIT_FOR_SLOT,
    ]
    assert statuses("b1")["acct-3"] == PENDING


def test_standby_phase_still_holds_a_slot(store: Store) -> None:
    store_batch("b1", ["acct-1", "acct-2"], concurrency=1)
    start("b1", "acct-1")
    move("b1", "acct-1", STANDBY)

    assert start("b1", "acct-2") == StartDecision.WAIT_FOR_SLOT


@pytest.mark.parametrize(
    "outcome",
    [
        (AccountStatus.FAILED,),
        (AccountStatus.AWAITING_COMMANDER,),
        (STANDBY, AccountStatus.PROTECTED),
    ],
    ids=["failed", "awaiting_commander", "protected"],
)
def test_account_leaving_flight_frees_its_slot(
    store: Store, outcome: tuple[AccountStatus, ...]
) -> None:
    store_batch("b1", ["acct-1", "acct-2"], concurrency=1)
    start("b1", "acct-1")
    move("b1", "acct-1", *outcome)

    assert start("b1", "acct-2") == StartDecision.STARTED


def test_starts_stop_at_approved_count(store: Store) -> None:
    store_batch("b1", ["acct-1", "acct-2", "acct-3"], approved_count=2)
    start("b1", "acct-1")
    start("b1", "acct-2")

    assert start("b1", "acct-3") == StartDecision.OVER_AUTHORIZED_COUNT
    assert statuses("b1")["acct-3"] == PENDING


def test_approved_count_counts_finished_starts_too(store: Store) -> None:
    store_batch("b1", ["acct-1", "acct-2"], approved_count=1)
    start("b1", "acct-1")
    move("b1", "acct-1", AccountStatus.FAILED)

    assert start("b1", "acct-2") == StartDecision.OVER_AUTHORIZED_COUNT


def test_paused_batch_makes_account_wait(store: Store) -> None:
    store_batch("b1", ["acct-1"])
    set_batch("b1", BatchStatus.PAUSED)

    assert start("b1", "acct-1") == StartDecision.WAIT_WHILE_PAUSED
    assert statuses("b1")["acct-1"] == PENDING


def test_resumed_batch_starts_waiting_account(store: Store) -> None:
    store_batch("b1", ["acct-1"])
    set_batch("b1", BatchStatus.PAUSED)
    start("b1", "acct-1")
    set_batch("b1", BatchStatus.RUNNING)

    assert start("b1", "acct-1") == StartDecision.STARTED


def test_cancelled_batch_cancels_pending_account(store: Store) -> None:
    store_batch("b1", ["acct-1"])
    set_batch("b1", BatchStatus.CANCELLED)

    assert start("b1", "acct-1") == StartDecision.CANCELLED
    assert statuses("b1")["acct-1"] == AccountStatus.CANCELLED
    assert started_count("b1") == 0


def test_second_start_reports_already_started(store: Store) -> None:
    store_batch("b1", ["acct-1"])
    start("b1", "acct-1")

    assert start("b1", "acct-1") == StartDecision.ALREADY_STARTED
    assert started_count("b1") == 1


def test_start_sets_started_at_once(store: Store) -> None:
    store_batch("b1", ["acct-1"])
    start("b1", "acct-1")
    with session_scope() as session:
        first = get_account(session=session, batch_id="b1", account_id="acct-1")
    move("b1", "acct-1", STANDBY)

    with session_scope() as session:
        later = get_account(session=session, batch_id="b1", account_id="acct-1")

    assert first.started_at is not None
    assert later.started_at == first.started_at


@pytest.mark.parametrize(
    ("batch_id", "account_id"),
    [("missing", "acct-1"), ("b1", "missing")],
    ids=["unknown_batch", "unknown_account"],
)
def test_start_of_unknown_id_raises_not_found(
    store: Store, batch_id: str, account_id: str
) -> None:
    store_batch("b1", ["acct-1"])

    with pytest.raises(NotFoundError, match="missing"):
        start(batch_id, account_id)


@pytest.mark.parametrize(
    "path",
    [
        (),
        (PRIMARY,),
        (PRIMARY, STANDBY),
        (PRIMARY, STANDBY, AccountStatus.PROTECTED),
        (PRIMARY, STANDBY, AccountStatus.UNPROTECTED),
        (PRIMARY, AccountStatus.AWAITING_COMMANDER),
    ],
    ids=["pending", "primary", "standby", "protected", "unprotected", "awaiting"],
)
def test_create_batch_rejects_account_busy_in_another_batch(
    store: Store, path: tuple[AccountStatus, ...]
) -> None:
    store_batch("b1", ["acct-1"])
    move("b1", "acct-1", *path)

    with pytest.raises(InputError) as raised, session_scope() as session:
        add_batch(session, "b2", ["acct-new", "acct-1"])

    assert "acct-1" in str(raised.value)
    assert "acct-new" not in str(raised.value)
    with session_scope() as session, pytest.raises(NotFoundError):
        get_batch(session=session, batch_id="b2")


@pytest.mark.parametrize(
    "path",
    [
        (AccountStatus.CANCELLED,),
        (AccountStatus.FAILED,),
        (PRIMARY, AccountStatus.AWAITING_COMMANDER, AccountStatus.FAILED),
    ],
    ids=["cancelled", "failed", "abandoned"],
)
def test_create_batch_accepts_account_whose_earlier_run_ended(
    store: Store, path: tuple[AccountStatus, ...]
) -> None:
    store_batch("b1", ["acct-1"])
    move("b1", "acct-1", *path)

    store_batch("b2", ["acct-1"])

    assert statuses("b2") == {"acct-1": PENDING}


def test_illegal_account_transition_writes_nothing(store: Store) -> None:
    store_batch("b1", ["acct-1"])

    with Session(store.engine) as session:
        account = get_account(session=session, batch_id="b1", account_id="acct-1")
        with pytest.raises(InvalidTransitionError, match="pending to protected"):
            set_account_status(
                session=session,
                account=account,
                status=AccountStatus.PROTECTED,
                failure_reason="should not be stored",
            )
        session.commit()

    with session_scope() as session:
        stored = get_account(session=session, batch_id="b1", account_id="acct-1")
    assert stored.status == PENDING
    assert stored.failure_reason is None
    assert stored.finished_at is None


def test_illegal_batch_transition_writes_nothing(store: Store) -> None:
    store_batch("b1", ["acct-1"])
    set_batch("b1", BatchStatus.CANCELLED)
    with Session(store.engine) as session:
        batch = get_batch(session=session, batch_id="b1")
        with pytest.raises(InvalidTransitionError, match="cancelled to running"):
            set_batch_status(session=session, batch=batch, status=BatchStatus.RUNNING)
        session.commit()

    with session_scope() as session:
        stored = get_batch(session=session, batch_id="b1")
    assert stored.status == BatchStatus.CANCELLED
    assert stored.finished_at is not None
