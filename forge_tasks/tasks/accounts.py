"""Tasks at the two ends of an account's chain, and its COMPANION webhooks."""

from __future__ import annotations

import logging
from typing import Any

from forge_tasks.celery_app import app
from forge_tasks.domain.outcomes import OUTCOMES, AccountStatus, InstanceStatus
from forge_tasks.errors import (
    GatewayForgeError,
    PermanentGatewayForgeError,
    TransientGatewayForgeError,
)
from forge_tasks.gatewayforge.models import Role
from forge_tasks.settings import get_settings
from forge_tasks.store import audit as audit_store
from forge_tasks.store import batches as batch_store
from forge_tasks.store import instances as instance_store
from forge_tasks.store.batches import StartDecision
from forge_tasks.store.engine import session_scope
from forge_tasks.store.tables import Instance
from forge_tasks.tasks.common import (
    MAX_BACKOFF_S,
    STEP_OPTIONS,
    AccountRef,
    retry_transient,
    transient_retries_left,
)
from forge_tasks.tasks.notifications import (
    deliver_after_commit,
    notify_commander,
    record_audit,
    send_companion_webhook,
    send_gf_audit,
    stable_id,
)
from forge_tasks.tasks.progress import after_outcome

logger = logging.getLogger(__name__)

MAX_WEBHOOK_RETRIES = 10
_WAIT = frozenset({StartDecision.WAIT_FOR_SLOT, StartDecision.WAIT_WHILE_PAUSED})


@app.task(name="forge.account.start", max_retries=None, **STEP_OPTIONS)
def start(self: Any, ref: AccountRef) -> AccountRef:
    """Take one of the batch's in-flight slots, waiting with a countdown for one.

    A waiting account costs one broker message per poll interval, and no worker
    process sleeps while it waits.
    """
    with session_scope() as session:
        decision = batch_store.try_start_account(session=session, **ref)
        if decision == StartDecision.OVER_AUTHORIZED_COUNT:
            account = batch_store.get_account(session=session, lock=True, **ref)
            batch_store.set_account_status(
                session=session,
                account=account,
                status=AccountStatus.FAILED,
                failure_reason="start rejected: the batch has already started its approved count",
            )
            record_audit(
                session=session,
                action="start_refused",
                details={"reason": "approved count used up"},
                **ref,
            )
    if decision in _WAIT:
        settings = get_settings()
        logger.debug("account %s: %s", ref["account_id"], decision)
        raise self.retry(countdown=settings.scaled(settings.poll_interval_s))
    if decision == StartDecision.STARTED:
        logger.info(
            "account %s: started in batch %s", ref["account_id"], ref["batch_id"]
        )
    elif decision == StartDecision.OVER_AUTHORIZED_COUNT:
        logger.warning(
            "account %s: start rejected, batch %s has already started its approved count",
            ref["account_id"],
            ref["batch_id"],
        )
    return ref


@app.task(name="forge.account.announce_primary", max_retries=None, **STEP_OPTIONS)
def announce_primary(self: Any, ref: AccountRef) -> AccountRef:
    """Send COMPANION the ``pair.primary_ready`` event once the primary is healthy."""
    with session_scope() as session:
        account = batch_store.get_account(session=session, lock=True, **ref)
        primary = instance_store.latest_instance(
            session=session, role=Role.PRIMARY, **ref
        )
        if primary is None or primary.status != InstanceStatus.HEALTHY:
            return ref
        data = _pair_data(account.tier, primary, None, **ref)
    _deliver_webhook(self, ref, "pair.primary_ready", data)
    return ref


@app.task(name="forge.account.complete", max_retries=None, **STEP_OPTIONS)
def complete(self: Any, ref: AccountRef) -> dict[str, Any]:
    """Settle the account's outcome, tell COMPANION and gf-audit; return the outcome."""
    with session_scope() as session:
        account = batch_store.get_account(session=session, lock=True, **ref)
        primary = instance_store.latest_instance(
            session=session, role=Role.PRIMARY, **ref
        )
        standby = instance_store.latest_instance(
            session=session, role=Role.STANDBY, **ref
        )
        standby_healthy = (
            standby is not None and standby.status == InstanceStatus.HEALTHY
        )
        if account.status == AccountStatus.STANDBY and standby_healthy:
            batch_store.set_account_status(
                session=session, account=account, status=AccountStatus.PROTECTED
            )
        status = AccountStatus(account.status)
        data = _pair_data(account.tier, primary, standby, **ref)
        result = {
            **ref,
            "outcome": str(status),
            "awaiting_reason": account.awaiting_reason,
            "reason": account.failure_reason,
        }
        duration_ms = None
        if account.started_at is not None and account.finished_at is not None:
            delta = account.finished_at - account.started_at
            duration_ms = round(delta.total_seconds() * 1000)

    if status in (AccountStatus.PROTECTED, AccountStatus.UNPROTECTED):
        event = (
            "pair.protected"
            if status == AccountStatus.PROTECTED
            else ("pair.unprotected")
        )
        _deliver_webhook(self, ref, event, data)
        try:
            _audit_complete(ref, data, duration_ms)
        except TransientGatewayForgeError as exc:
            if transient_retries_left(self):
                retry_transient(self, ref, exc)
            _log_audit_failure(ref, exc)
        except PermanentGatewayForgeError as exc:
            _log_audit_failure(ref, exc)
    if status in OUTCOMES:
        after_outcome(ref["batch_id"])
    logger.info("account %s: outcome %s", ref["account_id"], status)
    return result


def _log_audit_failure(ref: AccountRef, exc: GatewayForgeError) -> None:
    # The outcome is already stored. A lost gf-audit copy of the completion
    # must not stop the batch from finishing, so it is logged and left.
    logger.error(
        "account %s: provision_complete not sent to gf-audit (%s); it is in the "
        "store's audit trail",
        ref["account_id"],
        exc,
    )


def _audit_complete(
    ref: AccountRef, data: dict[str, Any], duration_ms: int | None
) -> None:
    instance_ids = [
        role["instance_id"] for role in (data["primary"], data["standby"]) if role
    ]
    details = {"instance_ids": instance_ids, "duration_ms": duration_ms}
    with session_scope() as session:
        event_id = record_audit(
            session=session, action="provision_complete", details=details, **ref
        )
    send_gf_audit(
        event_id=event_id, action="provision_complete", details=details, **ref
    )


def _pair_data(
    tier: str,
    primary: Instance | None,
    standby: Instance | None,
    *,
    batch_id: str,
    account_id: str,
) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "batch_id": batch_id,
        "tier": tier,
        "primary": _instance_data(primary),
        "standby": _instance_data(standby)
        if standby is not None and (standby.status == InstanceStatus.HEALTHY)
        else None,
    }


def _instance_data(instance: Instance | None) -> dict[str, Any] | None:
    if instance is None:
        return None
    return {
        "instance_id": instance.instance_id,
        "provider": instance.provider,
        "region": instance.region,
        "health_score": instance.health_score,
    }


def _report_undelivered_webhook(
    ref: AccountRef, event_type: str, event_id: str, retries: int
) -> None:
    """Record a webhook COMPANION never accepted and tell the Commander."""
    message = (
        f"account {ref['account_id']}: COMPANION webhook {event_type} ({event_id}) "
        f"not delivered after {retries} retries; check FORGE_COMPANION_URL and "
        "FORGE_COMPANION_SECRET, then tell COMPANION by hand"
    )
    details = {"event": event_type, "webhook_id": event_id, "retries": retries}
    with session_scope() as session:
        record_audit(
            session=session,
            action="companion_not_notified",
            key=event_type,
            details=details,
            **ref,
        )
        notification_id = notify_commander(
            session=session,
            kind="webhook_failed",
            message=message,
            details=details,
            key=event_type,
            **ref,
        )
    deliver_after_commit(notification_id)
    logger.error("%s", message)


def _deliver_webhook(
    task: Any, ref: AccountRef, event_type: str, data: dict[str, Any]
) -> None:
    """Send the event once; retry the task until COMPANION returns a 2xx status."""
    event_id = stable_id("evt", event_type, ref["batch_id"], ref["account_id"])
    with session_scope() as session:
        sent = audit_store.list_audit_events(session=session, **ref)
        if any(e.details.get("webhook_id") == event_id for e in sent):
            return
    if send_companion_webhook(event_type=event_type, event_id=event_id, data=data):
        with session_scope() as session:
            record_audit(
                session=session,
                action="companion_notified",
                key=event_type,
                details={"event": event_type, "webhook_id": event_id},
                **ref,
            )
        return
    retries = int(task.request.retries)
    if retries >= MAX_WEBHOOK_RETRIES:
        _report_undelivered_webhook(ref, event_type, event_id, retries)
        return
    countdown_s = get_settings().scaled(min(5.0 * 2**retries, MAX_BACKOFF_S))
    raise task.retry(countdown=countdown_s)
