"""One role's provision attempts: placement, audit intent, the call, failures, health.

Every function here is safe to run twice: it reads the store first and skips
what an earlier run already did, and the provision call carries an
idempotency key derived from batch, account, role and attempt number.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlmodel import Session

from forge_tasks.domain.catalogue import Region
from forge_tasks.domain.outcomes import AccountStatus, AwaitingReason, InstanceStatus
from forge_tasks.gatewayforge.client import get_client
from forge_tasks.gatewayforge.models import Provider, ProvisionRequest, Role, Tier
from forge_tasks.settings import get_settings
from forge_tasks.store import batches as batch_store
from forge_tasks.store import instances as instance_store
from forge_tasks.store.engine import session_scope
from forge_tasks.store.tables import Account, Instance
from forge_tasks.tasks.common import AccountRef
from forge_tasks.tasks.escalation import await_commander, escalate
from forge_tasks.tasks.notifications import (
    deliver_after_commit,
    notify_commander,
    record_audit,
    send_gf_audit,
)
from forge_tasks.tasks.placing import (
    AttemptPlacement,
    fetch_conditions,
    place_attempt,
    reference_data,
)

logger = logging.getLogger(__name__)

# Attempts GatewayForge may make on its own for one role: the planned region,
# then one replacement region. Later attempts come only from the Commander.
MAX_AUTOMATIC_ATTEMPTS = 2
_ROLE_STATUS = {
    Role.PRIMARY: AccountStatus.PRIMARY,
    Role.STANDBY: AccountStatus.STANDBY,
}
_ATTEMPT_ENDED = frozenset(
    {InstanceStatus.FAILED, InstanceStatus.TIMED_OUT, InstanceStatus.UNHEALTHY}
)


@dataclass(frozen=True)
class _PendingCall:
    attempt: int
    region: Region
    pair_instance_id: str | None
    needs_placement: bool


def provision_next_attempt(ref: AccountRef, role: Role, *, after_failure: bool) -> None:
    """Place, audit and make the provision call of the role's next attempt."""
    pending = _next_call(ref, role)
    if pending is None:
        return
    region = pending.region
    if pending.needs_placement:
        placed = _place(ref, role, pending, after_failure=after_failure)
        if placed is None:
            return
        region = placed
    instance = _write_intent(
        ref, role, pending.attempt, region, pending.pair_instance_id
    )
    if instance is None:
        return
    _call_provision(ref, role, instance)


def _next_call(ref: AccountRef, role: Role) -> _PendingCall | None:
    """Return the attempt to call for, or None when nothing is left to call."""
    catalogue = reference_data().catalogue
    with session_scope() as session:
        account = batch_store.get_account(session=session, lock=True, **ref)
        if account.status != _ROLE_STATUS[role]:
            return None
        latest = instance_store.latest_instance(session=session, role=role, **ref)
        if latest is not None and latest.status not in _ATTEMPT_ENDED:
            if latest.provision_request_id is not None:
                return None
            # The row exists but the call was never confirmed: resend it with the
            # same idempotency key, so GatewayForge creates nothing twice.
            region = catalogue.get(latest.provider, latest.region)
            return _PendingCall(latest.attempt, region, latest.pair_instance_id, False)
        attempt = 1 if latest is None else latest.attempt + 1
        pair_instance_id = _pair_instance_id(session, account, role)
        provider, region_id = _planned(account, role)
    return _PendingCall(
        attempt, catalogue.get(provider, region_id), pair_instance_id, True
    )


def _planned(account: Account, role: Role) -> tuple[str, str]:
    if role == Role.PRIMARY:
        return account.primary_provider, account.primary_region
    return account.standby_provider, account.standby_region


def _pair_instance_id(session: Session, account: Account, role: Role) -> str | None:
    if role == Role.PRIMARY:
        return None
    primary = instance_store.latest_instance(
        session=session,
        batch_id=account.batch_id,
        account_id=account.account_id,
        role=Role.PRIMARY,
    )
    return primary.instance_id if primary is not None else None


def _place(
    ref: AccountRef, role: Role, pending: _PendingCall, *, after_failure: bool
) -> Region | None:
    """Check the placement just before the call; move, switch or escalate."""
    conditions = fetch_conditions()
    catalogue = reference_data().catalogue
    with session_scope() as session:
        account = batch_store.get_account(session=session, lock=True, **ref)
        tier = Tier(account.tier)
        primary = catalogue.get(account.primary_provider, account.primary_region)
        standby_provider = Provider(account.standby_provider)
        failed_keys = _failed_region_keys(session, ref, role)
    # A primary that switches provider must not land on the standby's provider,
    # or the standby placed after it would break the different-provider rule.
    avoid = frozenset({standby_provider}) if role == Role.PRIMARY else frozenset()
    placed = place_attempt(
        role=role,
        tier=tier,
        planned=pending.region,
        primary=primary if role == Role.STANDBY else None,
        conditions=conditions,
        after_failure=after_failure,
        failed_keys=failed_keys,
        avoid_providers=avoid,
    )
    if placed.region is None:
        _no_placement(ref, role, pending, placed)
        return None
    if placed.region != pending.region:
        _record_move(ref, role, pending, placed)
    else:
        with session_scope() as session:
            record_audit(
                session=session,
                action="placement_checked",
                key=f"{role}:{pending.attempt}",
                details={
                    "role": str(role),
                    "attempt": pending.attempt,
                    "region": placed.region.key,
                },
                **ref,
            )
    return placed.region


def _failed_region_keys(
    session: Session, ref: AccountRef, role: Role
) -> frozenset[str]:
    rows = instance_store.list_attempts(session=session, role=role, **ref)
    return frozenset(
        f"{row.provider}/{row.region}" for row in rows if row.status in _ATTEMPT_ENDED
    )


def _no_placement(
    ref: AccountRef, role: Role, pending: _PendingCall, placed: AttemptPlacement
) -> None:
    reason = f"no {role} placement meets the rules: " + "; ".join(placed.reasons)
    if role == Role.STANDBY and pending.attempt == 1:
        _end_unprotected(ref, reason)
        return
    escalate(ref, role, reason)


def _end_unprotected(ref: AccountRef, reason: str) -> None:
    with session_scope() as session:
        account = batch_store.get_account(session=session, lock=True, **ref)
        if account.status != AccountStatus.STANDBY:
            return
        batch_store.set_account_status(
            session=session,
            account=account,
            status=AccountStatus.UNPROTECTED,
            failure_reason=reason,
        )
        record_audit(
            session=session,
            action="standby_not_made",
            details={"reason": reason},
            **ref,
        )
    logger.warning("account %s: ends unprotected: %s", ref["account_id"], reason)


def _record_move(
    ref: AccountRef, role: Role, pending: _PendingCall, placed: AttemptPlacement
) -> None:
    assert placed.region is not None
    details = {
        "role": str(role),
        "attempt": pending.attempt,
        "from": pending.region.key,
        "to": placed.region.key,
        "why": placed.note,
        "rejected": list(placed.reasons),
    }
    notification_id = None
    with session_scope() as session:
        account = batch_store.get_account(session=session, lock=True, **ref)
        _set_planned(account, role, placed.region)
        session.add(account)
        action = "provider_switched" if placed.switched_provider else "region_moved"
        if placed.switched_provider:
            details["evidence"] = placed.evidence
        record_audit(
            session=session,
            action=action,
            key=f"{role}:{pending.attempt}",
            details=details,
            **ref,
        )
        if placed.switched_provider:
            notification_id = notify_commander(
                session=session,
                kind="provider_switched",
                message=f"account {ref['account_id']}: {role} {placed.note}",
                details=details,
                key=f"{role}:{pending.attempt}",
                **ref,
            )
    if notification_id is not None:
        deliver_after_commit(notification_id)
    logger.warning("account %s: %s %s", ref["account_id"], role, placed.note)


def _set_planned(account: Account, role: Role, region: Region) -> None:
    if role == Role.PRIMARY:
        account.primary_provider = region.provider
        account.primary_region = region.id
    else:
        account.standby_provider = region.provider
        account.standby_region = region.id


def _write_intent(
    ref: AccountRef,
    role: Role,
    attempt: int,
    region: Region,
    pair_instance_id: str | None,
) -> Instance | None:
    """Write the attempt's row and its audit intent, then send the intent to gf-audit.

    Both happen before the provision call, so the audit trail records the intent
    before GatewayForge receives the call.
    """
    with session_scope() as session:
        account = batch_store.get_account(session=session, lock=True, **ref)
        if account.status != _ROLE_STATUS[role]:
            return None
        instance = instance_store.get_or_create_instance(
            session=session,
            role=role,
            attempt=attempt,
            provider=region.provider,
            region=region.id,
            pair_instance_id=pair_instance_id,
            **ref,
        )
        details = {
            "tier": account.tier,
            "provider": instance.provider,
            "region": instance.region,
            "attempt": attempt,
            "pair_instance_id": pair_instance_id,
        }
        action = f"provision_{role}"
        event_id = record_audit(
            session=session, action=action, key=str(attempt), details=details, **ref
        )
    send_gf_audit(event_id=event_id, action=action, details=details, **ref)
    return instance


def _call_provision(ref: AccountRef, role: Role, instance: Instance) -> None:
    with session_scope() as session:
        account = batch_store.get_account(session=session, lock=True, **ref)
        request = ProvisionRequest(
            account_id=account.account_id,
            tier=Tier(account.tier),
            primary_provider=Provider(account.primary_provider),
            primary_region=account.primary_region,
            standby_provider=Provider(account.standby_provider),
            standby_region=account.standby_region,
            role=role,
            pair_instance_id=instance.pair_instance_id,
        )
    response = get_client().provision(request, idempotency_key=instance.idempotency_key)
    with session_scope() as session:
        stored = instance_store.find_instance(
            session=session, role=role, attempt=instance.attempt, **ref
        )
        assert stored is not None
        stored.provision_request_id = response.provision_request_id
        stored.instance_id = response.instance_id
        session.add(stored)
        if stored.status == InstanceStatus.REQUESTED:
            instance_store.set_instance_status(
                session=session, instance=stored, status=InstanceStatus.CREATING
            )
    logger.info(
        "account %s: %s attempt %d requested in %s/%s as %s",
        ref["account_id"],
        role,
        instance.attempt,
        instance.provider,
        instance.region,
        response.provision_request_id,
    )


def handle_failed_attempt(
    ref: AccountRef, role: Role, attempt: int, reason: str
) -> float | None:
    """Record a FAILED attempt and start the next automatic one, or escalate.

    Returns the countdown to the next poll when a new attempt was made, else None.
    """
    with session_scope() as session:
        batch_store.get_account(session=session, lock=True, **ref)
        instance = instance_store.find_instance(
            session=session, role=role, attempt=attempt, **ref
        )
        assert instance is not None
        if instance.status != InstanceStatus.FAILED:
            instance_store.set_instance_status(
                session=session,
                instance=instance,
                status=InstanceStatus.FAILED,
                failure_reason=reason,
            )
        record_audit(
            session=session,
            action="attempt_failed",
            key=f"{role}:{attempt}",
            details={
                "role": str(role),
                "attempt": attempt,
                "reason": reason,
                "provider": instance.provider,
                "region": instance.region,
            },
            **ref,
        )
    logger.warning(
        "account %s: %s attempt %d failed: %s", ref["account_id"], role, attempt, reason
    )
    if attempt >= MAX_AUTOMATIC_ATTEMPTS:
        escalate(ref, role, f"attempt {attempt} failed too: {reason}")
        return None
    provision_next_attempt(ref, role, after_failure=True)
    settings = get_settings()
    return settings.scaled(settings.poll_interval_s)


def check_instance_health(ref: AccountRef, role: Role) -> None:
    """Check the ACTIVE instance live; below the threshold the Commander decides."""
    threshold = get_settings().instance_health_threshold
    with session_scope() as session:
        account = batch_store.get_account(session=session, lock=True, **ref)
        if account.status != _ROLE_STATUS[role]:
            return
        instance = instance_store.latest_instance(session=session, role=role, **ref)
        if instance is None or instance.status != InstanceStatus.ACTIVE:
            return
        instance_id = instance.instance_id
        attempt = instance.attempt
    assert instance_id is not None
    health = get_client().instance_health(instance_id=instance_id)

    notification_id = None
    with session_scope() as session:
        account = batch_store.get_account(session=session, lock=True, **ref)
        instance = instance_store.find_instance(
            session=session, role=role, attempt=attempt, **ref
        )
        assert instance is not None
        if instance.status != InstanceStatus.ACTIVE:
            return  # Another run of this step recorded the result first.
        instance.health_score = health.score
        healthy = health.score >= threshold
        instance_store.set_instance_status(
            session=session,
            instance=instance,
            status=InstanceStatus.HEALTHY if healthy else InstanceStatus.UNHEALTHY,
        )
        details = {
            "role": str(role),
            "instance_id": instance_id,
            "score": health.score,
            "threshold": threshold,
        }
        record_audit(
            session=session,
            action="health_checked",
            key=f"{role}:{attempt}",
            details=details,
            **ref,
        )
        if not healthy:
            notification_id = await_commander(
                session=session,
                ref=ref,
                role=role,
                reason=f"{role} {instance_id} health score {health.score} is below "
                f"{threshold}",
                awaiting_reason=AwaitingReason.UNHEALTHY,
                details=details,
            )
        elif role == Role.PRIMARY:
            batch_store.set_account_status(
                session=session, account=account, status=AccountStatus.STANDBY
            )
    if notification_id is not None:
        deliver_after_commit(notification_id)
    logger.info(
        "account %s: %s %s health %d (threshold %d)",
        ref["account_id"],
        role,
        instance_id,
        health.score,
        threshold,
    )
