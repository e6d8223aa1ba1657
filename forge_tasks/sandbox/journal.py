"""Records of received requests: /v1 calls, COMPANION webhooks, Commander notes.

Tests and operators read these through the /sandbox inspection endpoints to
check what a run actually sent, in order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

REQUEST_LOG_FIELDS = (
    "account_id",
    "role",
    "idempotency_key",
    "pair_instance_id",
    "instance_id",
    "provision_request_id",
)


class Journal:
    """Append-only records of received requests; every method is thread-safe."""

    def __init__(self, wall_clock: Callable[[], datetime]) -> None:
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._webhooks: list[dict[str, Any]] = []
        self._webhook_ids: dict[str, dict[str, Any]] = {}
        self._notifications: list[dict[str, Any]] = []

    def record_request(
        self, method: str, path: str, status_code: int, fields: dict[str, Any]
    ) -> None:
        with self._lock:
            entry: dict[str, Any] = {
                "seq": len(self._requests) + 1,
                "at": self._wall_clock().isoformat(),
                "method": method,
                "path": path,
                "status_code": status_code,
            }
            entry.update({name: fields.get(name) for name in REQUEST_LOG_FIELDS})
            self._requests.append(entry)

    def requests(self, account_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            entries = list(self._requests)
        if account_id is None:
            return entries
        return [entry for entry in entries if entry["account_id"] == account_id]

    def record_webhook(
        self, webhook_id: str, headers: dict[str, str], body: Any
    ) -> bool:
        """Store a verified delivery; returns False when its webhook-id was seen."""
        with self._lock:
            seen = self._webhook_ids.get(webhook_id)
            if seen is not None:
                seen["deliveries"] += 1
                return False
            entry = {
                "webhook_id": webhook_id,
                "verified": True,
                "received_at": self._wall_clock().isoformat(),
                "deliveries": 1,
                "headers": headers,
                "body": body,
            }
            self._webhook_ids[webhook_id] = entry
            self._webhooks.append(entry)
            return True

    def record_rejected_webhook(
        self, webhook_id: str | None, headers: dict[str, str], reason: str
    ) -> None:
        with self._lock:
            self._webhooks.append(
                {
                    "webhook_id": webhook_id,
                    "verified": False,
                    "rejection_reason": reason,
                    "received_at": self._wall_clock().isoformat(),
                    "headers": headers,
                }
            )

    def webhooks(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._webhooks]

    def record_notification(self, body: Any) -> None:
        with self._lock:
            self._notifications.append(
                {"received_at": self._wall_clock().isoformat(), "body": body}
            )

    def notifications(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._notifications)
