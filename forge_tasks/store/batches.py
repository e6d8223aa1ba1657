"""Batches and the account runs in them.

``try_start_account`` is the one place that decides whether an account may make
its first provision call: it locks the batch row, so the concurrency limit and
the authorized count hold across every worker process and machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import func
from sqlmodel import Session, col, select

from forge_tasks.domain.outcomes import (
    IN_FLIGHT,
    AccountStatus,
    AwaitingReason,
    BatchStatus,
    check_account_transition,
    check_batch_transition,
)
from forge_tasks.errors import InputError, NotFoundError
from forge_tasks.store.tables import Account, Batch, utc_now


@dataclass(frozen=True)
class PlannedAccount:
    """One account of a new batch, with its planned placement."""

    account_id: str
    tier: str
    pair_name: str
    primary_provider: str
    primary_region: str
    standby_provider: str
    standby_region: str


class StartDecision(StrEnum):
    STARTED = "started"
    ALREADY_STARTED = "already_started"
    WAIT_FOR_SLOT = "wait_for_slot"
    WAIT_WHILE_PAUSED = "wait_while_paused"
    CANCELLED = "cancelled"
    OVER_AUTHORIZED_COUNT = "over_authorized_count"


def find_active_account_ids(
    *, session: Session, account_ids: Sequence[str]
) -> list[str]:
    """Return the ids among ``account_ids`` whose latest run may have live instances.

    That is every run pending, in flight, protected, unprotected (its primary is
    live) or awaiting the Commander (an instance may be live).
    """
    busy = set(IN_FLIGHT) | {
        AccountStatus.PENDING,
        AccountStatus.PROTECTED,
        AccountStatus.UNPROTECTED,
        AccountStatus.AWAITING_COMMANDER,
    }
    statement = select(Account.account_id).where(
        col(Account.account_id).in_(list(account_ids)),
        col(Account.status).in_([str(status) for status in busy]),
    )
    return sorted(set(session.exec(statement).all()))


def create_batch(
    *,
    session: Session,
    batch_id: str,
    accounts: Sequence[PlannedAccount],
    approved_count: int,
    approved_cost_eur: Decimal,
    estimated_cost_eur: Decimal,
    concurrency: int,
    source: str,
) -> Batch:
    """Add a running batch and its pending accounts; the caller commits."""
    busy = find_active_account_ids(
        session=session, account_ids=[a.account_id for a in accounts]
    )
    if busy:
        raise InputError(
            "these accounts already have a pair pending, in flight, protected, "
            "unprotected or awaiting the Commander, so a new batch could create a "
            "second live pair: " + ", ".join(busy)
        )
    batch = Batch(
        id=batch_id,
        status=BatchStatus.RUNNING,
        size=len(accounts),
        approved_count=approved_count,
        approved_cost_eur=approved_cost_eur,
        estimated_cost_eur=estimated_cost_eur,
        concurrency=concurrency,
        source=source,
    )
    session.add(batch)
    session.flush()
    for position, planned in enumerate(accounts):
        session.add(
            Account(
                batch_id=batch_id,
                position=position,
                status=AccountStatus.PENDING,
                **planned.__dict__,
            )
        )
    session.flush()
    return batch


def get_batch(*, session: Session, batch_id: str, lock: bool = False) -> Batch:
    """Return the batch, locked for update when ``lock`` is set (PostgreSQL)."""
    statement = select(Batch).where(Batch.id == batch_id)
    if lock:
        statement = statement.with_for_update()
    batch = session.exec(statement).first()
    if batch is None:
        raise NotFoundError(f"batch {batch_id} not found")
    return batch


def get_account(
    *, session: Session, batch_id: str, account_id: str, lock: bool = False
) -> Account:
    """Return the account run; ``lock`` locks its row until the caller commits.

    Every transaction that reads an account's state to decide a change locks
    it, so two workers running the same step at once take turns.
    """
    statement = select(Account).where(
        Account.batch_id == batch_id, Account.account_id == account_id
    )
    if lock:
        statement = statement.with_for_update()
    account = session.exec(statement).first()
    if account is None:
        raise NotFoundError(f"account {account_id} not found in batch {batch_id}")
    if lock:
        account.touched_at = utc_now()
        session.add(account)
    return account


def find_latest_account(*, session: Session, account_id: str) -> Account:
    """Return the account's run in its most recent batch."""
    account = session.exec(
        select(Account)
        .where(Account.account_id == account_id)
        .order_by(col(Account.id).desc())
    ).first()
    if account is None:
        raise NotFoundError(f"account {account_id} not found in any batch")
    return account


def list_accounts(*, session: Session, batch_id: str) -> list[Account]:
    return list(
        session.exec(
            select(Account)
            .where(Account.batch_id == batch_id)
            .order_by(col(Account.position))
        ).all()
    )


def count_by_status(*, session: Session, batch_id: str) -> dict[str, int]:
    rows = session.exec(
        select(Account.status, func.count())
        .where(Account.batch_id == batch_id)
        .group_by(Account.status)
    ).all()
    return {status: count for status, count in rows}


def set_batch_status(*, session: Session, batch: Batch, status: BatchStatus) -> None:
    check_batch_transition(BatchStatus(batch.status), status)
    batch.status = status
    batch.finished_at = utc_now() if status in _BATCH_ENDS else None
    session.add(batch)


_BATCH_ENDS = frozenset({BatchStatus.COMPLETED, BatchStatus.CANCELLED})


def set_account_status(
    *,
    session: Session,
    account: Account,
    status: AccountStatus,
    failure_reason: str | None = None,
    awaiting_reason: AwaitingReason | None = None,
) -> None:
    """Move the account to ``status`` after checking the transition; the caller commits."""
    check_account_transition(AccountStatus(account.status), status)
    account.status = status
    account.awaiting_reason = awaiting_reason
    if failure_reason is not None:
        account.failure_reason = failure_reason[:1024]
    if status in IN_FLIGHT and account.started_at is None:
        account.started_at = utc_now()
    account.finished_at = None if status in IN_FLIGHT else utc_now()
    session.add(account)


def try_start_account(
    *, session: Session, batch_id: str, account_id: str
) -> StartDecision:
    """Decide whether the account may make its first provision call, and start it if so.

    Locks the batch row for the rest of the caller's transaction. An account
    starts only while the batch is running, fewer than ``concurrency`` accounts
    are in flight, every account before it in file order has started, and the
    batch has started fewer accounts than the approved count. Safe to call again
    for an account already started.
    """
    batch = get_batch(session=session, batch_id=batch_id, lock=True)
    account = get_account(session=session, batch_id=batch_id, account_id=account_id)
    if account.status != AccountStatus.PENDING:
        return StartDecision.ALREADY_STARTED
    if batch.status == BatchStatus.CANCELLED:
        set_account_status(
            session=session, account=account, status=AccountStatus.CANCELLED
        )
        return StartDecision.CANCELLED
    if batch.status == BatchStatus.PAUSED:
        return StartDecision.WAIT_WHILE_PAUSED
    if batch.started_count >= batch.approved_count:
        return StartDecision.OVER_AUTHORIZED_COUNT
    if _in_flight_count(session, batch_id) >= batch.concurrency:
        return StartDecision.WAIT_FOR_SLOT
    if _earlier_pending_exists(session, batch_id, account.position):
        return StartDecision.WAIT_FOR_SLOT
    batch.started_count += 1
    session.add(batch)
    set_account_status(session=session, account=account, status=AccountStatus.PRIMARY)
    return StartDecision.STARTED


def _in_flight_count(session: Session, batch_id: str) -> int:
    statement = select(func.count()).where(
        Account.batch_id == batch_id,
        col(Account.status).in_([str(status) for status in IN_FLIGHT]),
    )
    return int(session.exec(statement).one())


def _earlier_pending_exists(session: Session, batch_id: str, position: int) -> bool:
    statement = select(func.count()).where(
        Account.batch_id == batch_id,
        Account.status == AccountStatus.PENDING,
        col(Account.position) < position,
    )
    return int(session.exec(statement).one()) > 0


def get_batch_ids(*, session: Session) -> list[str]:
    return list(session.exec(select(Batch.id).order_by(col(Batch.created_at))).all())


def ensure_batch_exists(*, session: Session, batch_id: str) -> None:
    get_batch(session=session, batch_id=batch_id)
