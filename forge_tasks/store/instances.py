"""Instances: one row per provision attempt of one role of one account run."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from forge_tasks.domain.outcomes import InstanceStatus, check_instance_transition
from forge_tasks.errors import NotFoundError
from forge_tasks.store.tables import Instance, utc_now


def idempotency_key(*, batch_id: str, account_id: str, role: str, attempt: int) -> str:
    """Return the provision call's idempotency key; a redelivered task sends the same key."""
    return f"{batch_id}:{account_id}:{role}:{attempt}"


def get_or_create_instance(
    *,
    session: Session,
    batch_id: str,
    account_id: str,
    role: str,
    attempt: int,
    provider: str,
    region: str,
    pair_instance_id: str | None,
) -> Instance:
    """Return the attempt's row, inserting it first if no other task has.

    Two workers racing on a duplicated message both end up with the same row:
    the loser's insert hits the unique key and it reads the winner's row.
    """
    existing = find_instance(
        session=session,
        batch_id=batch_id,
        account_id=account_id,
        role=role,
        attempt=attempt,
    )
    if existing is not None:
        return existing
    instance = Instance(
        batch_id=batch_id,
        account_id=account_id,
        role=role,
        attempt=attempt,
        provider=provider,
        region=region,
        pair_instance_id=pair_instance_id,
        idempotency_key=idempotency_key(
            batch_id=batch_id, account_id=account_id, role=role, attempt=attempt
        ),
        status=InstanceStatus.REQUESTED,
    )
    try:
        with session.begin_nested():
            session.add(instance)
    except IntegrityError:
        winner = find_instance(
            session=session,
            batch_id=batch_id,
            account_id=account_id,
            role=role,
            attempt=attempt,
        )
        if winner is None:
            raise
        return winner
    return instance


def find_instance(
    *, session: Session, batch_id: str, account_id: str, role: str, attempt: int
) -> Instance | None:
    return session.exec(
        select(Instance).where(
            Instance.batch_id == batch_id,
            Instance.account_id == account_id,
            Instance.role == role,
            Instance.attempt == attempt,
        )
    ).first()


def latest_instance(
    *, session: Session, batch_id: str, account_id: str, role: str
) -> Instance | None:
    """Return the role's most recent attempt, or None before the first one."""
    return session.exec(
        select(Instance)
        .where(
            Instance.batch_id == batch_id,
            Instance.account_id == account_id,
            Instance.role == role,
        )
        .order_by(col(Instance.attempt).desc())
    ).first()


def list_attempts(
    *, session: Session, batch_id: str, account_id: str, role: str
) -> list[Instance]:
    """Return every attempt of the role, oldest first."""
    return list(
        session.exec(
            select(Instance)
            .where(
                Instance.batch_id == batch_id,
                Instance.account_id == account_id,
                Instance.role == role,
            )
            .order_by(col(Instance.attempt))
        ).all()
    )


def require_latest_instance(
    *, session: Session, batch_id: str, account_id: str, role: str
) -> Instance:
    instance = latest_instance(
        session=session, batch_id=batch_id, account_id=account_id, role=role
    )
    if instance is None:
        raise NotFoundError(
            f"account {account_id}: no {role} instance in batch {batch_id}"
        )
    return instance


def list_instances(*, session: Session, batch_id: str | None = None) -> list[Instance]:
    statement = select(Instance).order_by(col(Instance.id))
    if batch_id is not None:
        statement = statement.where(Instance.batch_id == batch_id)
    return list(session.exec(statement).all())


def set_instance_status(
    *,
    session: Session,
    instance: Instance,
    status: InstanceStatus,
    failure_reason: str | None = None,
) -> None:
    """Move the instance to ``status`` after checking the transition; the caller commits."""
    check_instance_transition(InstanceStatus(instance.status), status)
    instance.status = status
    if failure_reason is not None:
        instance.failure_reason = failure_reason[:1024]
    if status in _INSTANCE_ENDS:
        instance.finished_at = instance.finished_at or utc_now()
    session.add(instance)


_INSTANCE_ENDS = frozenset(
    {
        InstanceStatus.HEALTHY,
        InstanceStatus.UNHEALTHY,
        InstanceStatus.FAILED,
        InstanceStatus.TIMED_OUT,
    }
)
