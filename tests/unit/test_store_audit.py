"""Tests of the audit trail and the Commander's notifications in the store."""

from __future__ import annotations

from unit_store_helpers import Store

from forge_tasks.store.audit import (
    add_notification,
    append_audit_event,
    list_audit_events,
    list_notifications,
)
from forge_tasks.store.engine import session_scope
from forge_tasks.store.tables import AuditEvent, Notification

NOTIFICATION_MESSAGE_MAX_CHARS = 2048


def append_event(event_id: str, details: dict[str, str]) -> AuditEvent:
    with session_scope() as session:
        return append_audit_event(
            session=session,
            event_id=event_id,
            actor="worker",
            action="provision_requested",
            batch_id="b1",
            account_id="acct-1",
            details=details,
        )


def add(notification_id: str, message: str) -> tuple[Notification, bool]:
    with session_scope() as session:
        return add_notification(
            session=session,
            notification_id=notification_id,
            kind="escalation",
            message=message,
            batch_id="b1",
            account_id="acct-1",
            details={},
        )


def test_audit_event_with_same_id_is_stored_once(store: Store) -> None:
    first = append_event("evt-1", {"attempt": "1"})
    again = append_event("evt-1", {"attempt": "2"})

    with session_scope() as session:
        events = list_audit_events(session=session, batch_id="b1")

    assert again.id == first.id
    assert again.details == {"attempt": "1"}
    assert len(events) == 1


def test_audit_events_with_different_ids_are_both_stored(store: Store) -> None:
    append_event("evt-1", {})
    append_event("evt-2", {})

    with session_scope() as session:
        events = list_audit_events(session=session, account_id="acct-1")

    assert [event.event_id for event in events] == ["evt-1", "evt-2"]


def test_notification_with_same_id_is_stored_once(store: Store) -> None:
    first, first_is_new = add("note-1", "account acct-1 timed out")
    again, again_is_new = add("note-1", "a different message")

    with session_scope() as session:
        notifications = list_notifications(session=session, batch_id="b1")

    assert first_is_new is True
    assert again_is_new is False
    assert again.id == first.id
    assert again.message == "account acct-1 timed out"
    assert len(notifications) == 1


def test_long_notification_message_is_cut_to_column_size(store: Store) -> None:
    add("note-1", "x" * (NOTIFICATION_MESSAGE_MAX_CHARS + 100))

    with session_scope() as session:
        (stored,) = list_notifications(session=session)

    assert len(stored.message) == NOTIFICATION_MESSAGE_MAX_CHARS
