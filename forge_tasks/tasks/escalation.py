"""Handing an account to the Commander instead of guessing."""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session

from forge_tasks.domain.outcomes import AccountStatus, AwaitingReason
from forge_tasks.gatewayforge.models import Role
from forge_tasks.store import batches as batch_store
from forge_tasks.store.engine import session_scope
from forge_tasks.tasks.common import AccountRef
from forge_tasks.tasks.notifications import (
    deliver_after_commit,
    notify_commander,
    record_audit,
)

logger = logging.getLogger(__name__)


def await_commander(
    *,
    session: Session,
    ref: AccountRef,
    role: Role,
    reason: str,
    awaiting_reason: AwaitingReason,
    details: dict[str, Any] | None = None,
) -> str:
    """Move the account to awaiting the Commander, audit it and store a notification.

    Returns the notification id; deliver it once the caller has committed.
    """
    account = batch_store.get_account(session=session, lock=True, **ref)
    batch_store.set_account_status(
        session=session,
        account=account,
        status=AccountStatus.AWAITING_COMMANDER,
        failure_reason=reason,
        awaiting_reason=awaiting_reason,
    )
    details = {"role": str(role), "reason": reason, **(details or {})}
    key = _escalation_key(session, ref)
    record_audit(
        session=session,
        action=f"awaiting_commander_{awaiting_reason}",
        key=key,
        details=details,
        **ref,
    )
    return notify_commander(
        session=session,
        kind=str(awaiting_reason),
        message=f"account {ref['account_id']} awaits the Commander: {reason}",
        details=details,
        key=key,
        **ref,
    )


def _escalation_key(session: Session, ref: AccountRef) -> str:
    """Key an escalation by how many audit events the account has, so each is new."""
    from forge_tasks.store.audit import list_audit_events

    count = len(list_audit_events(session=session, **ref))
    return str(count)


def escalate(ref: AccountRef, role: Role, reason: str) -> None:
    """Escalate the account in a transaction of its own, then notify the Commander.

    Does nothing when the account is no longer in flight for this role, so a
    re-run step does not escalate twice.
    """
    with session_scope() as session:
        account = batch_store.get_account(session=session, lock=True, **ref)
        if account.status not in (AccountStatus.PRIMARY, AccountStatus.STANDBY):
            return
        notification_id = await_commander(
            session=session,
            ref=ref,
            role=role,
            reason=reason,
            awaiting_reason=AwaitingReason.ESCALATED,
        )
    deliver_after_commit(notification_id)
    logger.warning(
        "account %s: escalated to the Commander: %s", ref["account_id"], reason
    )
