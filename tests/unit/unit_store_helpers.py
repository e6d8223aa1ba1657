"""Helpers of the store tests.

Each helper that writes runs in its own transaction, as separate tasks would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.engine import Engine
from sqlmodel import Session

from forge_tasks.domain.outcomes import AccountStatus
from forge_tasks.store.batches import (
    PlannedAccount,
    StartDecision,
    create_batch,
    get_account,
    list_accounts,
    set_account_status,
    try_start_account,
)
from forge_tasks.store.engine import session_scope
from forge_tasks.store.tables import Batch


@dataclass(frozen=True)
class Store:
    """The database a test runs on; store functions reach it through the settings."""

    backend: str
    url: str
    engine: Engine


def planned(account_id: str) -> PlannedAccount:
    return PlannedAccount(
        account_id=account_id,
        tier="standard",
        pair_name="eu-default",
        primary_provider="hetzner",
        primary_region="nbg1",
        standby_provider="vultr",
        standby_region="ams",
    )


def add_batch(
    session: Session,
    batch_id: str,
    account_ids: Sequence[str],
    *,
    concurrency: int = 5,
    approved_count: int | None = None,
) -> Batch:
    return create_batch(
        session=session,
        batch_id=batch_id,
        accounts=[planned(account_id) for account_id in account_ids],
        approved_count=approved_count or len(account_ids),
        approved_cost_eur=Decimal("100.00"),
        estimated_cost_eur=Decimal("42.50"),
        concurrency=concurrency,
        source="unit test",
    )


def store_batch(
    batch_id: str,
    account_ids: Sequence[str],
    *,
    concurrency: int = 5,
    approved_count: int | None = None,
) -> None:
    with session_scope() as session:
        add_batch(
            session,
            batch_id,
            account_ids,
            concurrency=concurrency,
            approved_count=approved_count,
        )


def start(batch_id: str, account_id: str) -> StartDecision:
    with session_scope() as session:
        return try_start_account(
            session=session, batch_id=batch_id, account_id=account_id
        )


def move(batch_id: str, account_id: str, *statuses: AccountStatus) -> None:
    """Move the account through ``statuses`` in one transaction."""
    with session_scope() as session:
        account = get_account(session=session, batch_id=batch_id, account_id=account_id)
        for status in statuses:
            set_account_status(session=session, account=account, status=status)


def statuses(batch_id: str) -> dict[str, str]:
    with session_scope() as session:
        accounts = list_accounts(session=session, batch_id=batch_id)
        return {account.account_id: account.status for account in accounts}
