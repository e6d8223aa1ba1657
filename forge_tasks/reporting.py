"""Read-only views of the store for the CLI: status, progress, failures, audit, inbox."""

from __future__ import annotations

from typing import Any

from forge_tasks.domain.outcomes import OUTCOMES, AccountStatus, BatchStatus
from forge_tasks.store import audit as audit_store
from forge_tasks.store import batches as batch_store
from forge_tasks.store import instances as instance_store
from forge_tasks.store.engine import session_scope
from forge_tasks.tasks.progress import progress_figures

PROGRESS_BAR_WIDTH = 30


def batch_status(batch_id: str) -> dict[str, Any]:
    with session_scope() as session:
        batch = batch_store.get_batch(session=session, batch_id=batch_id)
        accounts = batch_store.list_accounts(session=session, batch_id=batch_id)
        return {
            "batch_id": batch.id,
            "status": batch.status,
            "size": batch.size,
            "approved_count": batch.approved_count,
            "started_count": batch.started_count,
            "concurrency": batch.concurrency,
            "estimated_cost_eur": str(batch.estimated_cost_eur),
            "progress": progress_figures(batch, accounts),
            "report": batch.report,
        }


def batch_progress(batch_id: str) -> dict[str, Any]:
    with session_scope() as session:
        batch = batch_store.get_batch(session=session, batch_id=batch_id)
        accounts = batch_store.list_accounts(session=session, batch_id=batch_id)
        figures = progress_figures(batch, accounts)
        figures["report_written"] = batch.report is not None
        return figures


def is_finished(figures: dict[str, Any]) -> bool:
    """Return whether every account has an outcome and the final report is written."""
    ended = figures["status"] in (BatchStatus.COMPLETED, BatchStatus.CANCELLED)
    return bool(
        ended and figures["done"] == figures["size"] and figures["report_written"]
    )


def render_progress_bar(figures: dict[str, Any]) -> str:
    size = figures["size"] or 1
    filled = round(PROGRESS_BAR_WIDTH * figures["done"] / size)
    bar = "#" * filled + "-" * (PROGRESS_BAR_WIDTH - filled)
    eta = figures["eta_s"]
    eta_text = f"{eta:.0f}s" if eta is not None else "?"
    return (
        f"[{bar}] {figures['done']}/{figures['size']} done  "
        f"protected {figures['protected']}  failed {figures['failed']}  "
        f"in flight {figures['in_flight']}  waiting {figures['waiting']}  "
        f"elapsed {figures['elapsed_s']:.0f}s  left ~{eta_text}  [{figures['status']}]"
    )


RESUBMITTABLE = frozenset({AccountStatus.FAILED, AccountStatus.CANCELLED})


def batch_failures(batch_id: str) -> list[dict[str, Any]]:
    """Return every account of the batch with an outcome other than protected.

    ``resubmittable`` is true for failed and cancelled accounts only: the others
    may have live instances, so a new batch would create a second pair.
    """
    with session_scope() as session:
        batch_store.get_batch(session=session, batch_id=batch_id)
        accounts = batch_store.list_accounts(session=session, batch_id=batch_id)
        return [
            {
                "account_id": a.account_id,
                "tier": a.tier,
                "pair": a.pair_name,
                "outcome": a.status
                + (f" ({a.awaiting_reason})" if a.awaiting_reason else ""),
                "last_error": a.failure_reason,
                "resubmittable": a.status in RESUBMITTABLE,
            }
            for a in accounts
            if a.status in OUTCOMES and a.status != AccountStatus.PROTECTED
        ]


def audit_trail(account_id: str) -> list[dict[str, Any]]:
    with session_scope() as session:
        events = audit_store.list_audit_events(session=session, account_id=account_id)
        return [
            {
                "at": e.at.isoformat(),
                "batch_id": e.batch_id,
                "actor": e.actor,
                "action": e.action,
                "details": e.details,
            }
            for e in events
        ]


def commander_inbox(batch_id: str | None = None) -> list[dict[str, Any]]:
    with session_scope() as session:
        notifications = audit_store.list_notifications(
            session=session, batch_id=batch_id
        )
        return [
            {
                "at": n.at.isoformat(),
                "kind": n.kind,
                "batch_id": n.batch_id,
                "account_id": n.account_id,
                "message": n.message,
                "delivered": n.delivered_at is not None,
            }
            for n in notifications
        ]


def instance_rows(batch_id: str | None = None) -> list[dict[str, Any]]:
    with session_scope() as session:
        return [
            {
                "batch_id": i.batch_id,
                "account_id": i.account_id,
                "role": i.role,
                "attempt": i.attempt,
                "provider": i.provider,
                "region": i.region,
                "instance_id": i.instance_id,
                "status": i.status,
            }
            for i in instance_store.list_instances(session=session, batch_id=batch_id)
        ]
