"""Batch-level tasks: the chord's callback, the report, resume and cancel."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from forge_tasks.celery_app import app
from forge_tasks.domain.outcomes import AccountStatus, BatchStatus
from forge_tasks.domain.report import AccountSummary, build_report
from forge_tasks.errors import InvalidTransitionError
from forge_tasks.store import batches as batch_store
from forge_tasks.store.engine import session_scope
from forge_tasks.tasks.notifications import (
    deliver_after_commit,
    notify_commander,
    record_audit,
)

logger = logging.getLogger(__name__)


@app.task(name="forge.batch.finish")
def finish(results: list[dict[str, Any]], batch_id: str) -> dict[str, Any]:
    """Chord callback: write the final report once every account has an outcome."""
    report = write_report(batch_id, final=True)
    logger.info(
        "batch %s: finished with %d results, counts %s",
        batch_id,
        len(results),
        report["counts"],
    )
    return report


@app.task(name="forge.batch.refresh_report")
def refresh_report(batch_id: str) -> dict[str, Any]:
    """Rewrite the report after a Commander instruction moved an account on."""
    return write_report(batch_id, final=False)


def write_report(batch_id: str, *, final: bool) -> dict[str, Any]:
    """Build the report from the store, save it on the batch, and tell the Commander."""
    with session_scope() as session:
        batch = batch_store.get_batch(session=session, batch_id=batch_id, lock=True)
        accounts = batch_store.list_accounts(session=session, batch_id=batch_id)
        report = build_report(batch_id, [_summary(a) for a in accounts])
        report["status"] = batch.status
        if final and batch.status in (BatchStatus.RUNNING, BatchStatus.PAUSED):
            batch_store.set_batch_status(
                session=session, batch=batch, status=BatchStatus.COMPLETED
            )
            report["status"] = BatchStatus.COMPLETED
        report["generated_at"] = datetime.now(UTC).isoformat()
        batch.report = report
        session.add(batch)
        record_audit(
            session=session,
            action="batch_report",
            batch_id=batch_id,
            account_id=None,
            key=report["generated_at"],
            details=report["counts"],
        )
        notification_id = notify_commander(
            session=session,
            kind="batch_report",
            message=f"batch {batch_id}: report {report['counts']}",
            batch_id=batch_id,
            account_id=None,
            details=report,
            key=report["generated_at"],
        )
    deliver_after_commit(notification_id)
    return report


def _summary(account: Any) -> AccountSummary:
    return AccountSummary(
        account_id=account.account_id,
        status=account.status,
        awaiting_reason=account.awaiting_reason,
        failure_reason=account.failure_reason,
        primary=f"{account.primary_provider}/{account.primary_region}",
        standby=f"{account.standby_provider}/{account.standby_region}",
        started_at=account.started_at,
        finished_at=account.finished_at,
    )


@app.task(name="forge.batch.resume")
def resume(batch_id: str, actor: str = "commander") -> str:
    """Resume a paused batch; the failure-rate check then restarts its count."""
    with session_scope() as session:
        batch = batch_store.get_batch(session=session, batch_id=batch_id, lock=True)
        if batch.status != BatchStatus.PAUSED:
            raise InvalidTransitionError(
                f"batch {batch_id} is {batch.status}, not paused: nothing to resume"
            )
        accounts = batch_store.list_accounts(session=session, batch_id=batch_id)
        batch_store.set_batch_status(
            session=session, batch=batch, status=BatchStatus.RUNNING
        )
        batch.resumed_at = datetime.now(UTC)
        batch.remaining_at_resume = sum(
            1 for a in accounts if a.status == AccountStatus.PENDING
        )
        batch.resume_count += 1
        record_audit(
            session=session,
            action="batch_resumed",
            batch_id=batch_id,
            account_id=None,
            actor=actor,
            key=str(batch.resume_count),
            details={"remaining": batch.remaining_at_resume},
        )
    logger.info("batch %s: resumed by %s", batch_id, actor)
    return BatchStatus.RUNNING


@app.task(name="forge.batch.cancel")
def cancel(batch_id: str, actor: str = "commander") -> str:
    """Cancel a batch: accounts not started end cancelled, in-flight ones finish."""
    with session_scope() as session:
        batch = batch_store.get_batch(session=session, batch_id=batch_id, lock=True)
        if batch.status not in (BatchStatus.RUNNING, BatchStatus.PAUSED):
            raise InvalidTransitionError(
                f"batch {batch_id} is {batch.status}; only a running or paused "
                "batch can be cancelled"
            )
        batch_store.set_batch_status(
            session=session, batch=batch, status=BatchStatus.CANCELLED
        )
        for account in batch_store.list_accounts(session=session, batch_id=batch_id):
            if account.status == AccountStatus.PENDING:
                batch_store.set_account_status(
                    session=session, account=account, status=AccountStatus.CANCELLED
                )
        record_audit(
            session=session,
            action="batch_cancelled",
            batch_id=batch_id,
            account_id=None,
            actor=actor,
            details={},
        )
    logger.info("batch %s: cancelled by %s", batch_id, actor)
    return BatchStatus.CANCELLED
