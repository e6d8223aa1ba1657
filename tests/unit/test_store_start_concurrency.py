"""Tests that try_start_account keeps its limits across sessions on PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import Session
from unit_store_helpers import Store, start, statuses, store_batch

from forge_tasks.domain.outcomes import AccountStatus
from forge_tasks.store.batches import StartDecision, get_batch, try_start_account
from forge_tasks.store.engine import session_scope

ACCOUNT_COUNT = 8
CONCURRENCY = 3
BARRIER_TIMEOUT_S = 30.0


def test_try_start_account_holds_batch_lock_until_commit(
    postgres_store: Store,
) -> None:
    store_batch("b1", ["acct-1", "acct-2"], concurrency=1)

    with Session(postgres_store.engine) as holder:
        decision = try_start_account(session=holder, batch_id="b1", account_id="acct-1")
        with Session(postgres_store.engine) as other:
            other.connection().exec_driver_sql("SET LOCAL lock_timeout = '200ms'")
            with pytest.raises(OperationalError, match="lock timeout"):
                try_start_account(session=other, batch_id="b1", account_id="acct-2")
        holder.commit()

    assert decision == StartDecision.STARTED
    assert start("b1", "acct-2") == StartDecision.WAIT_FOR_SLOT


def test_concurrent_starts_never_exceed_concurrency(postgres_store: Store) -> None:
    account_ids = [f"acct-{n}" for n in range(ACCOUNT_COUNT)]
    store_batch("b1", account_ids, concurrency=CONCURRENCY)
    # Every thread calls once per round, and all threads call at the same moment.
    # There are as many rounds as accounts, so each account could start in turn.
    barrier = threading.Barrier(ACCOUNT_COUNT, timeout=BARRIER_TIMEOUT_S)

    def start_repeatedly(account_id: str) -> list[StartDecision]:
        decisions = []
        for _ in range(ACCOUNT_COUNT):
            barrier.wait()
            with session_scope() as session:
                decisions.append(
                    try_start_account(
                        session=session, batch_id="b1", account_id=account_id
                    )
                )
        return decisions

    with ThreadPoolExecutor(max_workers=ACCOUNT_COUNT) as pool:
        results = list(pool.map(start_repeatedly, account_ids))

    decisions = Counter(decision for result in results for decision in result)
    in_flight = [a for a, s in statuses("b1").items() if s == AccountStatus.PRIMARY]
    with session_scope() as session:
        batch = get_batch(session=session, batch_id="b1")
    assert decisions[StartDecision.STARTED] == CONCURRENCY
    assert sorted(in_flight) == account_ids[:CONCURRENCY]
    assert batch.started_count == CONCURRENCY
