"""Measuring a batch from the sandbox's request log."""

from __future__ import annotations

from typing import Any


def in_flight_intervals(log: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """Return, per account, the request sequence numbers that bound its time in flight.

    An account is in flight from its first provision request to its last request
    other than a gf-audit event: the completion audit is sent after the outcome.
    """
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for request in log:
        account = request.get("account_id")
        if not account or request["path"] == "/v1/audit/events":
            continue
        seq = int(request["seq"])
        if request["method"] == "POST" and request["path"] == "/v1/provisions":
            first.setdefault(account, seq)
        if account in first:
            last[account] = seq
    return {account: (first[account], last[account]) for account in first}


def max_in_flight(log: list[dict[str, Any]]) -> int:
    """Return the largest number of accounts in flight at one request."""
    events: list[tuple[int, int]] = []
    for start, end in in_flight_intervals(log).values():
        events.append((start, 1))
        events.append((end + 1, -1))
    current = highest = 0
    for _, change in sorted(events):
        current += change
        highest = max(highest, current)
    return highest
