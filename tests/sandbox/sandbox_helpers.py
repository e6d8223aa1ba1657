"""Constants and helpers shared by the sandbox tests."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

API_KEY = "sandbox-test-key"
COMPANION_SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class FakeClock:
    """A monotonic clock that moves only when a test advances it."""

    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s

    def advance(self, seconds: float) -> None:
        self.now_s += seconds

    def wall(self) -> datetime:
        return START + timedelta(seconds=self.now_s)


def auth(**headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {API_KEY}", **headers}


def provision_body(
    account_id: str = "acct-1",
    role: str = "primary",
    pair_instance_id: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "accountId": account_id,
        "tier": "standard",
        "primaryProvider": "hetzner",
        "primaryRegion": "nbg1",
        "standbyProvider": "vultr",
        "standbyRegion": "ams",
        "role": role,
        "pair_instance_id": pair_instance_id,
    }
    body.update(overrides)
    return body
