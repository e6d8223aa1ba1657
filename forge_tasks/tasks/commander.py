"""Commander instructions for an account awaiting the Commander: retry or abandon.

Both are Celery tasks callable by name (``forge.commander.retry_account`` and
``forge.commander.abandon_account``) for a Commander service, and plain
functions for the CLI. An instruction for an account that is not awaiting the
Commander, or a placement that breaks a rule, raises CommanderInstructionError.
"""

from __future__ import annotations

import logging
from typing import Any

from forge_tasks.canvas import resume_chain
from forge_tasks.celery_app import app
from forge_tasks.domain.catalogue import Region, may_share_city
from forge_tasks.domain.outcomes import AccountStatus, InstanceStatus
from forge_tasks.domain.rules import role_rejections
from forge_tasks.errors import CommanderInstructionError, ConfigurationError
from forge_tasks.gatewayforge.models import Role, Tier
from forge_tasks.store import batches as batch_store
from forge_tasks.store import instances as instance_store
from forge_tasks.store.engine import session_scope
from forge_tasks.store.tables import Account
from forge_tasks.tasks.batches import refresh_report
from forge_tasks.tasks.common import make_ref
from forge_tasks.tasks.notifications import record_audit
from forge_tasks.tasks.placing import fetch_conditions, reference_data

logger = logging.getLogger(__name__)


def _awaiting_account(account_id: str, batch_id: str | None) -> Account:
    with session_scope() as session:
        if batch_id:
            account = batch_store.get_account(
                session=session, batch_id=batch_id, account_id=account_id
            )
        else:
            account = batch_store.find_latest_account(
                session=session, account_id=account_id
            )
        latest = batch_store.find_latest_account(session=session, account_id=account_id)
    if latest.batch_id != account.batch_id:
        raise CommanderInstructionError(
            f"account {account_id} has a newer run in batch {latest.batch_id}; "
            f"instructions apply to that run, not to batch {account.batch_id}"
        )
    if account.status != AccountStatus.AWAITING_COMMANDER:
        raise CommanderInstructionError(
            f"account {account_id} in batch {account.batch_id} is {account.status}, "
            "not awaiting the Commander; only such an account takes an instruction"
        )
    return account


def _waiting_role(account: Account) -> Role:
    """Return the standby when the primary is already healthy, else the primary."""
    with session_scope() as session:
        primary = instance_store.latest_instance(
            session=session,
            batch_id=account.batch_id,
            account_id=account.account_id,
            role=Role.PRIMARY,
        )
    if primary is not None and primary.status == InstanceStatus.HEALTHY:
        return Role.STANDBY
    return Role.PRIMARY


def retry_account(
    account_id: str,
    *,
    provider: str | None = None,
    region: str | None = None,
    batch_id: str | None = None,
    actor: str = "commander",
) -> dict[str, Any]:
    """Retry the waiting role, optionally in another provider or region."""
    account = _awaiting_account(account_id, batch_id)
    role = _waiting_role(account)
    catalogue = reference_data().catalogue
    current = (
        (account.primary_provider, account.primary_region)
        if role == Role.PRIMARY
        else (account.standby_provider, account.standby_region)
    )
    if region is None and provider is not None:
        raise CommanderInstructionError(
            "--provider needs --region: name the region too"
        )
    try:
        target = catalogue.get(provider or current[0], region or current[1])
    except ConfigurationError as exc:
        raise CommanderInstructionError(str(exc)) from exc
    primary = catalogue.get(account.primary_provider, account.primary_region)
    reasons = role_rejections(
        role,
        target,
        Tier(account.tier),
        fetch_conditions(),
        primary if role == Role.STANDBY else None,
    )
    if role == Role.PRIMARY:
        standby = catalogue.get(account.standby_provider, account.standby_region)
        reasons += _pair_conflicts(target, standby)
    if reasons:
        raise CommanderInstructionError(
            f"{role} in {target.key} breaks a placement rule: " + "; ".join(reasons)
        )
    _restart(account, role, target, actor)
    ref = make_ref(account.batch_id, account_id)
    resume_chain(ref, role).apply_async()
    logger.info(
        "account %s: %s retry in %s ordered by %s", account_id, role, target.key, actor
    )
    return {**ref, "role": str(role), "region": target.key}


def _pair_conflicts(primary: Region, standby: Region) -> list[str]:
    """Return why a moved primary would break the rules for the planned standby."""
    conflicts = []
    if primary.provider == standby.provider:
        conflicts.append(
            f"the planned standby {standby.key} is on the same provider; "
            "retry the standby elsewhere first or pick another provider"
        )
    if may_share_city(primary, standby):
        conflicts.append(
            f"the planned standby {standby.key} may be in the same city "
            f"({standby.describe_city()})"
        )
    return conflicts


def _restart(account: Account, role: Role, target: Region, actor: str) -> None:
    with session_scope() as session:
        stored = batch_store.get_account(
            session=session,
            lock=True,
            batch_id=account.batch_id,
            account_id=account.account_id,
        )
        if stored.status != AccountStatus.AWAITING_COMMANDER:
            raise CommanderInstructionError(
                f"account {account.account_id} is {stored.status} now, "
                "not awaiting the Commander"
            )
        previous = stored.awaiting_reason
        if role == Role.PRIMARY:
            stored.primary_provider, stored.primary_region = target.provider, target.id
        else:
            stored.standby_provider, stored.standby_region = target.provider, target.id
        batch_store.set_account_status(
            session=session,
            account=stored,
            status=AccountStatus.PRIMARY
            if role == Role.PRIMARY
            else AccountStatus.STANDBY,
        )
        attempts = instance_store.list_attempts(
            session=session,
            batch_id=account.batch_id,
            account_id=account.account_id,
            role=role,
        )
        record_audit(
            session=session,
            action="commander_retry",
            actor=actor,
            batch_id=account.batch_id,
            account_id=account.account_id,
            key=f"{role}:{len(attempts)}",
            details={"role": str(role), "region": target.key, "was_awaiting": previous},
        )


def abandon_account(
    account_id: str, *, batch_id: str | None = None, actor: str = "commander"
) -> dict[str, Any]:
    """End the waiting account as failed, then refresh its batch report."""
    account = _awaiting_account(account_id, batch_id)
    with session_scope() as session:
        stored = batch_store.get_account(
            session=session, lock=True, batch_id=account.batch_id, account_id=account_id
        )
        reason = f"abandoned by the Commander (was {stored.awaiting_reason})"
        batch_store.set_account_status(
            session=session,
            account=stored,
            status=AccountStatus.FAILED,
            failure_reason=reason,
        )
        record_audit(
            session=session,
            action="commander_abandon",
            actor=actor,
            batch_id=account.batch_id,
            account_id=account_id,
            details={"reason": reason},
        )
    refresh_report.delay(account.batch_id)
    logger.info("account %s: abandoned by %s", account_id, actor)
    return {**make_ref(account.batch_id, account_id), "outcome": AccountStatus.FAILED}


@app.task(name="forge.commander.retry_account")
def retry_account_task(
    account_id: str,
    provider: str | None = None,
    region: str | None = None,
    batch_id: str | None = None,
) -> dict[str, Any]:
    return retry_account(
        account_id, provider=provider, region=region, batch_id=batch_id
    )


@app.task(name="forge.commander.abandon_account")
def abandon_account_task(
    account_id: str, batch_id: str | None = None
) -> dict[str, Any]:
    return abandon_account(account_id, batch_id=batch_id)
