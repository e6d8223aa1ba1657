"""Tasks and helpers that tell others: the Commander, COMPANION and gf-audit.

``notify_commander`` stores a notification in the same transaction as the
state change it reports, then a delivery task POSTs it to the Commander URL
with retries, so a notification is never lost because the Commander was down.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

import requests
from sqlmodel import Session

from forge_tasks.celery_app import app
from forge_tasks.gatewayforge.client import get_client
from forge_tasks.gatewayforge.models import AuditEventIn
from forge_tasks.settings import get_settings
from forge_tasks.store import audit as audit_store
from forge_tasks.store.engine import session_scope
from forge_tasks.tasks.common import MAX_BACKOFF_S
from forge_tasks.webhooks import signed_headers

logger = logging.getLogger(__name__)

DELIVERY_TIMEOUT_S = 15.0
MAX_DELIVERY_ATTEMPTS = 10


def stable_id(prefix: str, *parts: str) -> str:
    """Return an id that is the same every time for the same parts."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]
    return f"{prefix}_{digest}"


def record_audit(
    *,
    session: Session,
    action: str,
    batch_id: str | None,
    account_id: str | None,
    details: dict[str, Any],
    actor: str = "forge-tasks",
    key: str = "",
) -> str:
    """Append an audit event in the caller's transaction; return its event id.

    The id is derived from the action, batch, account and ``key``, so a re-run
    step records nothing new. Pass a ``key`` (an attempt number, say) when the
    same action repeats for one account.
    """
    event_id = stable_id("aud", action, batch_id or "", account_id or "", key)
    audit_store.append_audit_event(
        session=session,
        event_id=event_id,
        actor=actor,
        action=action,
        batch_id=batch_id,
        account_id=account_id,
        details=details,
    )
    return event_id


def send_gf_audit(
    *,
    event_id: str,
    action: str,
    batch_id: str | None,
    account_id: str | None,
    details: dict[str, Any],
) -> None:
    """Send an audit event to gf-audit; a resend with the same id is a no-op there."""
    get_client().audit_event(
        AuditEventIn(
            event_id=event_id,
            action=action,
            batch_id=batch_id,
            account_id=account_id,
            details=details,
        )
    )


def notify_commander(
    *,
    session: Session,
    kind: str,
    message: str,
    batch_id: str | None,
    account_id: str | None,
    details: dict[str, Any],
    key: str = "",
) -> str:
    """Store a Commander notification in the caller's transaction.

    Call ``deliver_after_commit`` with the returned id once the transaction has
    committed. The id is derived from kind, batch, account and ``key``, so a
    re-run step stores and sends it once.
    """
    notification_id = stable_id("ntf", kind, batch_id or "", account_id or "", key)
    audit_store.add_notification(
        session=session,
        notification_id=notification_id,
        kind=kind,
        message=message,
        batch_id=batch_id,
        account_id=account_id,
        details=details,
    )
    logger.warning("commander notified (%s): %s", kind, message)
    return notification_id


def deliver_after_commit(notification_id: str) -> None:
    deliver_notification.delay(notification_id)


@app.task(name="forge.commander.deliver_notification", bind=True, max_retries=None)
def deliver_notification(self: Any, notification_id: str) -> bool:
    """POST a stored notification to the Commander URL, retrying with backoff."""
    with session_scope() as session:
        notification = audit_store.get_notification(
            session=session, notification_id=notification_id
        )
        if notification is None or notification.delivered_at is not None:
            return True
        body = {
            "notification_id": notification.notification_id,
            "kind": notification.kind,
            "batch_id": notification.batch_id,
            "account_id": notification.account_id,
            "message": notification.message,
            "details": notification.details,
            "at": notification.at.isoformat(),
        }
    delivered = _post_json(get_settings().commander_url, body)
    with session_scope() as session:
        stored = audit_store.get_notification(
            session=session, notification_id=notification_id
        )
        assert stored is not None
        audit_store.record_delivery(
            session=session, notification=stored, delivered=delivered
        )
        attempts = stored.delivery_attempts
    if delivered:
        return True
    if attempts >= MAX_DELIVERY_ATTEMPTS:
        logger.error(
            "notification %s: not delivered after %d attempts; it stays in the inbox",
            notification_id,
            attempts,
        )
        return False
    countdown_s = get_settings().scaled(min(5.0 * 2**attempts, MAX_BACKOFF_S))
    raise self.retry(countdown=countdown_s)


def _post_json(url: str, body: dict[str, Any]) -> bool:
    try:
        response = requests.post(url, json=body, timeout=DELIVERY_TIMEOUT_S)
    except requests.RequestException as exc:
        logger.warning("POST %s failed: %s; will retry", url, type(exc).__name__)
        return False
    if 200 <= response.status_code < 300:
        return True
    logger.warning("POST %s returned HTTP %s; will retry", url, response.status_code)
    return False


def send_companion_webhook(
    *, event_type: str, event_id: str, data: dict[str, Any]
) -> bool:
    """POST a signed Standard Webhooks event to COMPANION; return whether it got a 2xx.

    The ``webhook-id`` header is the stable ``event_id``, so COMPANION can drop
    a repeated delivery.
    """
    settings = get_settings()
    payload = {
        "type": event_type,
        "timestamp": datetime.now(UTC).isoformat(),
        "data": data,
    }
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = signed_headers(
        settings.companion_secret.get_secret_value(), event_id, body
    )
    try:
        response = requests.post(
            settings.companion_url,
            data=body,
            headers=headers,
            timeout=DELIVERY_TIMEOUT_S,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        logger.warning(
            "COMPANION webhook %s (%s) failed: %s",
            event_id,
            event_type,
            type(exc).__name__,
        )
        return False
    if 200 <= response.status_code < 300:
        logger.info("COMPANION webhook %s (%s) delivered", event_id, event_type)
        return True
    logger.warning(
        "COMPANION webhook %s (%s) returned HTTP %s",
        event_id,
        event_type,
        response.status_code,
    )
    return False
