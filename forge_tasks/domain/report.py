"""The batch report: counts per outcome, failure rate and durations, from account rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from forge_tasks.domain.outcomes import OUTCOMES, AccountStatus


@dataclass(frozen=True)
class AccountSummary:
    account_id: str
    status: str
    awaiting_reason: str | None
    failure_reason: str | None
    primary: str
    standby: str
    started_at: datetime | None
    finished_at: datetime | None


def is_failure(status: str) -> bool:
    """Count an outcome as a failure unless it is protected or cancelled."""
    return status in OUTCOMES and status not in (
        AccountStatus.PROTECTED,
        AccountStatus.CANCELLED,
    )


def build_report(batch_id: str, accounts: Sequence[AccountSummary]) -> dict[str, Any]:
    """Summarise a batch; ``failure_rate_percent`` is failed accounts over batch size."""
    counts = Counter(_outcome_label(a) for a in accounts)
    failures = sum(1 for a in accounts if is_failure(a.status))
    durations_ms = [
        (a.finished_at - a.started_at).total_seconds() * 1000
        for a in accounts
        if a.started_at is not None
        and a.finished_at is not None
        and a.status in OUTCOMES
    ]
    size = len(accounts)
    return {
        "batch_id": batch_id,
        "size": size,
        "counts": dict(sorted(counts.items())),
        "failure_rate_percent": round(100.0 * failures / size, 1) if size else 0.0,
        "duration_ms": _duration_summary(durations_ms),
        "accounts": [
            {
                "account_id": a.account_id,
                "outcome": _outcome_label(a),
                "reason": a.failure_reason
                if a.status != AccountStatus.PROTECTED
                else None,
                "primary": a.primary,
                "standby": a.standby,
            }
            for a in accounts
        ],
    }


def _outcome_label(account: AccountSummary) -> str:
    if account.status == AccountStatus.AWAITING_COMMANDER and account.awaiting_reason:
        return f"awaiting_commander ({account.awaiting_reason})"
    return account.status


def _duration_summary(durations_ms: list[float]) -> dict[str, int] | None:
    if not durations_ms:
        return None
    return {
        "min": round(min(durations_ms)),
        "mean": round(sum(durations_ms) / len(durations_ms)),
        "max": round(max(durations_ms)),
    }
