"""The audit trail and the Commander's notifications, both append-only."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from forge_tasks.store.tables import AuditEvent, Notification, utc_now


def append_audit_event(
    *,
    session: Session,
    event_id: str,
    actor: str,
    action: str,
    batch_id: str | None,
    account_id: str | None,
    details: dict[str, Any],
) -> AuditEvent:
    """Append an event unless one with ``event_id`` exists; return the stored event."""
    existing = session.exec(
        select(AuditEvent).where(AuditEvent.event_id == event_id)
    ).first()
    if existing is not None:
        return existing
    event = AuditEvent(
        event_id=event_id,
        actor=actor,
        action=action,
        batch_id=batch_id,
        account_id=account_id,
        details=details,
    )
    try:
        with session.begin_nested():
            session.add(event)
    except IntegrityError:
        # Another worker ran the same step and wrote the event first.
        winner = session.exec(
            select(AuditEvent).where(AuditEvent.event_id == event_id)
        ).first()
        if winner is None:
            raise
        return winner
    return event


def list_audit_events(
    *, session: Session, account_id: str | None = None, batch_id: str | None = None
) -> list[AuditEvent]:
    statement = select(AuditEvent).order_by(col(AuditEvent.id))
    if account_id is not None:
        statement = statement.where(AuditEvent.account_id == account_id)
    if batch_id is not None:
        statement = statement.where(AuditEvent.batch_id == batch_id)
    return list(session.exec(statement).all())


def add_notification(
    *,
    session: Session,
    notification_id: str,
    kind: str,
    message: str,
    batch_id: str | None,
    account_id: str | None,
    details: dict[str, Any],
) -> tuple[Notification, bool]:
    """Store a notification unless it exists; return it and whether it is new."""
    existing = session.exec(
        select(Notification).where(Notification.notification_id == notification_id)
    ).first()
    if existing is not None:
        return existing, False
    notification = Notification(
        notification_id=notification_id,
        kind=kind,
        message=message[:2048],
        batch_id=batch_id,
        account_id=account_id,
        details=details,
    )
    try:
        with session.begin_nested():
            session.add(notification)
    except IntegrityError:
        # Another worker ran the same step and stored the notification first.
        winner = get_notification(session=session, notification_id=notification_id)
        if winner is None:
            raise
        return winner, False
    return notification, True


def get_notification(*, session: Session, notification_id: str) -> Notification | None:
    return session.exec(
        select(Notification).where(Notification.notification_id == notification_id)
    ).first()


def record_delivery(
    *, session: Session, notification: Notification, delivered: bool
) -> None:
    notification.delivery_attempts += 1
    if delivered:
        notification.delivered_at = utc_now()
    session.add(notification)


def list_notifications(
    *, session: Session, batch_id: str | None = None
) -> list[Notification]:
    statement = select(Notification).order_by(col(Notification.id))
    if batch_id is not None:
        statement = statement.where(Notification.batch_id == batch_id)
    return list(session.exec(statement).all())
