"""Batch bookkeeping each time one of its accounts reaches an outcome.

The Commander gets a progress report every 5 outcomes, and the batch pauses
as soon as its failure rate passes the threshold (an account counts as failed
unless it is protected or cancelled).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from forge_tasks.domain.outcomes import IN_FLIGHT, OUTCOMES, AccountStatus, BatchStatus
from forge_tasks.domain.report import is_failure
from forge_tasks.settings import get_settings
from forge_tasks.store import batches as batch_store
from forge_tasks.store.engine import session_scope
from forge_tasks.store.tables import Account, Batch
from forge_tasks.tasks.notifications import (
    deliver_after_commit,
    notify_commander,
    record_audit,
)

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 5


def progress_figures(batch: Batch, accounts: list[Account]) -> dict[str, Any]:
    """Return done, protected, failed, in flight, waiting, elapsed and estimated time left."""
    done = [a for a in accounts if a.status in OUTCOMES]
    elapsed_s = (datetime.now(UTC) - batch.created_at).total_seconds()
    remaining = len(accounts) - len(done)
    eta_s = elapsed_s / len(done) * remaining if done else None
    return {
        "size": len(accounts),
        "done": len(done),
        "protected": sum(1 for a in done if a.status == AccountStatus.PROTECTED),
        "failed": sum(1 for a in done if is_failure(a.status)),
        "in_flight": sum(1 for a in accounts if a.status in IN_FLIGHT),
        "waiting": sum(1 for a in accounts if a.status == AccountStatus.PENDING),
        "elapsed_s": round(elapsed_s, 1),
        "eta_s": round(eta_s, 1) if eta_s is not None else None,
        "status": batch.status,
    }


def failure_rate_percent(batch: Batch, accounts: list[Account]) -> float:
    """Failed accounts over the batch size, or since the last resume over those left."""
    if batch.resumed_at is None:
        counted = accounts
        denominator = len(accounts)
    else:
        resumed_at = batch.resumed_at
        counted = [
            a
            for a in accounts
            if a.started_at is not None and a.started_at > resumed_at
        ]
        denominator = batch.remaining_at_resume or 0
    if denominator == 0:
        return 0.0
    failed = sum(1 for a in counted if is_failure(a.status))
    return 100.0 * failed / denominator


def after_outcome(batch_id: str) -> None:
    """Report progress every 5 outcomes and pause the batch past the failure threshold.

    NOTE: this loads every account of the batch at each outcome, which is
    quadratic over a batch; very large batches will want stored counters.
    """
    notification_ids: list[str] = []
    with session_scope() as session:
        batch = batch_store.get_batch(session=session, batch_id=batch_id, lock=True)
        accounts = batch_store.list_accounts(session=session, batch_id=batch_id)
        figures = progress_figures(batch, accounts)
        notification_ids += _report_progress(session, batch, figures)
        notification_ids += _pause_if_failing(session, batch, accounts)
    for notification_id in notification_ids:
        deliver_after_commit(notification_id)


def _report_progress(
    session: Session, batch: Batch, figures: dict[str, Any]
) -> list[str]:
    done = figures["done"]
    if done < PROGRESS_EVERY:
        return []
    milestone = done - done % PROGRESS_EVERY
    message = (
        f"batch {batch.id}: {done}/{figures['size']} done, {figures['protected']} "
        f"protected, {figures['failed']} failed, {figures['in_flight']} in flight, "
        f"{figures['waiting']} waiting"
    )
    return [
        notify_commander(
            session=session,
            kind="progress",
            message=message,
            batch_id=batch.id,
            account_id=None,
            details=figures,
            key=str(milestone),
        )
    ]


def _pause_if_failing(
    session: Session, batch: Batch, accounts: list[Account]
) -> list[str]:
    if batch.status != BatchStatus.RUNNING:
        return []
    if not any(a.status == AccountStatus.PENDING for a in accounts):
        # Every account has started, so a pause would hold nothing back.
        return []
    threshold = get_settings().batch_failure_threshold_percent
    rate = failure_rate_percent(batch, accounts)
    if rate <= threshold:
        return []
    batch_store.set_batch_status(
        session=session, batch=batch, status=BatchStatus.PAUSED
    )
    details = {"failure_rate_percent": round(rate, 1), "threshold_percent": threshold}
    record_audit(
        session=session,
        action="batch_paused",
        batch_id=batch.id,
        account_id=None,
        key=str(batch.resume_count),
        details=details,
    )
    logger.warning(
        "batch %s: paused, failure rate %.1f%% is over %.1f%%; resume or cancel it",
        batch.id,
        rate,
        threshold,
    )
    return [
        notify_commander(
            session=session,
            kind="batch_paused",
            message=f"batch {batch.id} paused: failure rate {rate:.1f}% is over "
            f"{threshold:g}%; run `forge-tasks batch resume {batch.id}` or "
            f"`forge-tasks batch cancel {batch.id}`",
            batch_id=batch.id,
            account_id=None,
            details=details,
            key=str(batch.resume_count),
        )
    ]
