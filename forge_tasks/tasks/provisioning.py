"""Tasks that drive one role (primary or standby) of a pair through GatewayForge.

provision → poll (re-scheduled with a countdown until ACTIVE, FAILED or the
timeout) → check_health. The role is data: the standby runs the same code as
the primary. The deadline counts from the attempt's ``requested_at`` in the
store, so a redelivered or retried poll cannot extend it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from forge_tasks.celery_app import app
from forge_tasks.domain.outcomes import (
    AccountStatus,
    AwaitingReason,
    InstanceStatus,
    is_instance_transition_allowed,
)
from forge_tasks.errors import PermanentGatewayForgeError, TransientGatewayForgeError
from forge_tasks.gatewayforge.client import get_client
from forge_tasks.gatewayforge.models import PairState, Role
from forge_tasks.settings import get_settings
from forge_tasks.store import batches as batch_store
from forge_tasks.store import instances as instance_store
from forge_tasks.store.engine import session_scope
from forge_tasks.tasks import attempts
from forge_tasks.tasks.common import (
    MAX_BACKOFF_S,
    STEP_OPTIONS,
    AccountRef,
    retry_transient,
    transient_retries_left,
)
from forge_tasks.tasks.escalation import await_commander, escalate
from forge_tasks.tasks.notifications import deliver_after_commit

logger = logging.getLogger(__name__)

ROLE_STATUS = {Role.PRIMARY: AccountStatus.PRIMARY, Role.STANDBY: AccountStatus.STANDBY}


@app.task(name="forge.instance.provision", max_retries=None, **STEP_OPTIONS)
def provision(self: Any, ref: AccountRef, role: str) -> AccountRef:
    """Make the role's next provision call, unless this attempt already made it."""
    try:
        attempts.provision_next_attempt(ref, Role(role), after_failure=False)
    except TransientGatewayForgeError as exc:
        if transient_retries_left(self):
            retry_transient(self, ref, exc)
        escalate(ref, Role(role), f"GatewayForge kept failing: {exc}")
    except PermanentGatewayForgeError as exc:
        escalate(ref, Role(role), f"GatewayForge rejected the provision call: {exc}")
    return ref


@app.task(name="forge.instance.poll", max_retries=None, **STEP_OPTIONS)
def poll(self: Any, ref: AccountRef, role: str) -> AccountRef:
    """Poll ``gf_pair_status`` until the attempt is ACTIVE, FAILED or timed out."""
    try:
        wait_s = poll_once(ref, Role(role))
    except TransientGatewayForgeError as exc:
        wait_s = _wait_after_transient_error(ref, Role(role), exc)
    except PermanentGatewayForgeError as exc:
        escalate(ref, Role(role), f"GatewayForge rejected a call while polling: {exc}")
        wait_s = None
    if wait_s is not None:
        raise self.retry(countdown=wait_s)
    return ref


def poll_once(ref: AccountRef, role: Role) -> float | None:
    """Take the role one step further; return the countdown to the next poll, or None.

    Besides polling, this finishes what an interrupted earlier run left: a
    provision call never confirmed is resent, and a FAILED attempt whose next
    attempt was never started gets it now.
    """
    settings = get_settings()
    with session_scope() as session:
        account = batch_store.get_account(session=session, lock=True, **ref)
        if account.status != ROLE_STATUS[role]:
            return None
        instance = instance_store.latest_instance(session=session, role=role, **ref)
        state = None if instance is None else InstanceStatus(instance.status)
        if instance is not None:
            deadline = instance.requested_at + timedelta(
                seconds=settings.scaled(settings.provision_timeout_s)
            )
            request_id = instance.provision_request_id
            instance_id = instance.instance_id
            attempt = instance.attempt
            config_pushed = instance.config_pushed_at is not None
            failure_reason = instance.failure_reason or "no reason recorded"

    if instance is None or request_id is None:
        attempts.provision_next_attempt(ref, role, after_failure=False)
        return settings.scaled(settings.poll_interval_s)
    if state == InstanceStatus.FAILED:
        return attempts.handle_failed_attempt(ref, role, attempt, failure_reason)
    if state not in _POLLABLE:
        return None

    status = get_client().pair_status(
        account_id=ref["account_id"], provision_request_id=request_id
    )
    if status.status == PairState.ACTIVE:
        _record_state(ref, role, attempt, InstanceStatus.ACTIVE)
        logger.info("account %s: %s %s is ACTIVE", ref["account_id"], role, instance_id)
        return None
    if status.status == PairState.FAILED:
        reason = status.failure.reason if status.failure else "no reason given"
        kind = status.failure.kind if status.failure else "unknown"
        return attempts.handle_failed_attempt(ref, role, attempt, f"{kind}: {reason}")
    if datetime.now(UTC) >= deadline:
        _time_out(ref, role, attempt)
        return None

    waits_for_config = (
        status.status == PairState.BOOTSTRAPPING and status.awaiting_config
    )
    if waits_for_config and not config_pushed and instance_id is not None:
        _push_config(ref, role, attempt, instance_id)
    _record_state(ref, role, attempt, InstanceStatus(status.status.value))
    return _countdown_s(deadline)


def _wait_after_transient_error(
    ref: AccountRef, role: Role, exc: TransientGatewayForgeError
) -> float | None:
    """Poll again after a transient error, or escalate once GatewayForge has failed
    for twice the provision timeout since the latest attempt was requested."""
    settings = get_settings()
    with session_scope() as session:
        instance = instance_store.latest_instance(session=session, role=role, **ref)
        started = instance.requested_at if instance is not None else datetime.now(UTC)
    give_up_at = started + timedelta(
        seconds=2 * settings.scaled(settings.provision_timeout_s)
    )
    if datetime.now(UTC) >= give_up_at:
        escalate(ref, role, f"GatewayForge kept failing while polling: {exc}")
        return None
    logger.info(
        "account %s: %s poll failed transiently (%s); polling again",
        ref["account_id"],
        role,
        exc,
    )
    retry_after_s = min(exc.retry_after_s or 0.0, MAX_BACKOFF_S)
    return max(retry_after_s, settings.scaled(settings.poll_interval_s))


_POLLABLE = frozenset(
    {InstanceStatus.REQUESTED, InstanceStatus.CREATING, InstanceStatus.BOOTSTRAPPING}
)


def _countdown_s(deadline: datetime) -> float:
    """Return the scaled poll interval, shortened so the timeout is seen on time."""
    settings = get_settings()
    interval_s = settings.scaled(settings.poll_interval_s)
    until_deadline_s = (deadline - datetime.now(UTC)).total_seconds()
    return max(0.05, min(interval_s, until_deadline_s + 0.05))


def _push_config(ref: AccountRef, role: Role, attempt: int, instance_id: str) -> None:
    """Fetch the account's OpenClaw config and push it; it never enters a message."""
    client = get_client()
    config = client.account_config(account_id=ref["account_id"]).config
    client.push_config(
        instance_id=instance_id, account_id=ref["account_id"], config=config
    )
    with session_scope() as session:
        instance = instance_store.find_instance(
            session=session, role=role, attempt=attempt, **ref
        )
        if instance is not None and instance.config_pushed_at is None:
            instance.config_pushed_at = datetime.now(UTC)
            session.add(instance)
    logger.info(
        "account %s: config pushed to %s %s", ref["account_id"], role, instance_id
    )


def _record_state(
    ref: AccountRef, role: Role, attempt: int, state: InstanceStatus
) -> None:
    """Record a state GatewayForge reported; a state behind the stored one is ignored.

    Two polls of one attempt may run at once after a redelivery, and the slower
    one must not move the instance back.
    """
    with session_scope() as session:
        batch_store.get_account(session=session, lock=True, **ref)
        instance = instance_store.find_instance(
            session=session, role=role, attempt=attempt, **ref
        )
        if instance is None or instance.status == state:
            return
        if not is_instance_transition_allowed(InstanceStatus(instance.status), state):
            return
        instance_store.set_instance_status(
            session=session, instance=instance, status=state
        )


def _time_out(ref: AccountRef, role: Role, attempt: int) -> None:
    settings = get_settings()
    minutes = settings.provision_timeout_s / 60
    reason = f"TIMEOUT: {role} not ACTIVE after {minutes:g} minutes"
    with session_scope() as session:
        account = batch_store.get_account(session=session, lock=True, **ref)
        instance = instance_store.find_instance(
            session=session, role=role, attempt=attempt, **ref
        )
        assert instance is not None
        if account.status != ROLE_STATUS[role] or instance.status not in _POLLABLE:
            return  # Another run of this step got there first.
        instance_store.set_instance_status(
            session=session,
            instance=instance,
            status=InstanceStatus.TIMED_OUT,
            failure_reason=reason,
        )
        notification_id = await_commander(
            session=session,
            ref=ref,
            role=role,
            reason=reason,
            awaiting_reason=AwaitingReason.TIMED_OUT,
            details={"instance_id": instance.instance_id, "attempt": attempt},
        )
    deliver_after_commit(notification_id)
    logger.warning("account %s: %s", ref["account_id"], reason)


@app.task(name="forge.instance.check_health", max_retries=None, **STEP_OPTIONS)
def check_health(self: Any, ref: AccountRef, role: str) -> AccountRef:
    """Check an ACTIVE instance with ``gf_instance_health(live=true)``."""
    try:
        attempts.check_instance_health(ref, Role(role))
    except TransientGatewayForgeError as exc:
        if transient_retries_left(self):
            retry_transient(self, ref, exc)
        escalate(ref, Role(role), f"health check kept failing: {exc}")
    except PermanentGatewayForgeError as exc:
        escalate(ref, Role(role), f"health check was rejected: {exc}")
    return ref
