"""Tests of the batch report: counts per outcome, failure rate and durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from forge_tasks.domain.report import AccountSummary, build_report

STARTED_AT = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)


def summary(
    account_id: str,
    status: str,
    *,
    awaiting_reason: str | None = None,
    failure_reason: str | None = None,
    duration_s: float | None = None,
    started: bool = True,
) -> AccountSummary:
    finished_at = None
    if duration_s is not None:
        finished_at = STARTED_AT + timedelta(seconds=duration_s)
    return AccountSummary(
        account_id=account_id,
        status=status,
        awaiting_reason=awaiting_reason,
        failure_reason=failure_reason,
        primary="hetzner/nbg1",
        standby="vultr/ams",
        started_at=STARTED_AT if started else None,
        finished_at=finished_at,
    )


def summaries(*statuses: str) -> list[AccountSummary]:
    return [summary(f"acct-{n}", status) for n, status in enumerate(statuses)]


def test_counts_are_per_outcome_with_awaiting_reason() -> None:
    accounts = [
        *summaries("protected", "protected", "failed", "unprotected", "cancelled"),
        summary("acct-t", "awaiting_commander", awaiting_reason="timed_out"),
        summary("acct-e", "awaiting_commander", awaiting_reason="escalated"),
    ]

    report = build_report("b1", accounts)

    assert report["counts"] == {
        "awaiting_commander (escalated)": 1,
        "awaiting_commander (timed_out)": 1,
        "cancelled": 1,
        "failed": 1,
        "protected": 2,
        "unprotected": 1,
    }
    assert report["size"] == 7


def test_counts_of_a_running_batch_include_unfinished_accounts() -> None:
    report = build_report("b1", summaries("protected", "primary", "pending"))

    assert report["counts"] == {"pending": 1, "primary": 1, "protected": 1}


FAILURE_RATES = {
    "all_protected": (["protected", "protected"], 0.0),
    "protected_and_cancelled_are_not_failures": (["protected", "cancelled"], 0.0),
    "failed_is_a_failure": (["protected", "failed"], 50.0),
    "unprotected_is_a_failure": (["protected", "unprotected"], 50.0),
    "awaiting_commander_is_a_failure": (["protected", "awaiting_commander"], 50.0),
    "unfinished_accounts_are_not_failures_yet": (
        ["failed", "pending", "primary", "standby"],
        25.0,
    ),
    "rounded_to_one_decimal": (["failed", "protected", "protected"], 33.3),
    "empty_batch": ([], 0.0),
}


@pytest.mark.parametrize(
    ("statuses", "expected_percent"),
    FAILURE_RATES.values(),
    ids=FAILURE_RATES.keys(),
)
def test_failure_rate_is_failures_over_batch_size(
    statuses: list[str], expected_percent: float
) -> None:
    report = build_report("b1", summaries(*statuses))

    assert report["failure_rate_percent"] == expected_percent


def test_durations_summarise_finished_accounts_in_ms() -> None:
    accounts = [
        summary("acct-1", "protected", duration_s=1.0),
        summary("acct-2", "failed", duration_s=2.0),
        summary("acct-3", "awaiting_commander", duration_s=6.0),
    ]

    report = build_report("b1", accounts)

    assert report["duration_ms"] == {"min": 1000, "mean": 3000, "max": 6000}


@pytest.mark.parametrize(
    "unfinished",
    [
        summary("acct-x", "primary", duration_s=100.0),
        summary("acct-x", "failed"),
        summary("acct-x", "cancelled", duration_s=100.0, started=False),
    ],
    ids=["in_flight", "no_finished_at", "never_started"],
)
def test_durations_leave_out_accounts_without_both_times(
    unfinished: AccountSummary,
) -> None:
    accounts = [summary("acct-1", "protected", duration_s=2.0), unfinished]

    report = build_report("b1", accounts)

    assert report["duration_ms"] == {"min": 2000, "mean": 2000, "max": 2000}


def test_durations_are_none_when_no_account_finished() -> None:
    report = build_report("b1", summaries("pending", "primary"))

    assert report["duration_ms"] is None


def test_account_lines_show_outcome_and_reason() -> None:
    accounts = [
        summary("acct-1", "failed", failure_reason="quota exhausted"),
        summary("acct-2", "awaiting_commander", awaiting_reason="unhealthy"),
    ]

    lines = build_report("b1", accounts)["accounts"]

    assert lines[0] == {
        "account_id": "acct-1",
        "outcome": "failed",
        "reason": "quota exhausted",
        "primary": "hetzner/nbg1",
        "standby": "vultr/ams",
    }
    assert lines[1]["outcome"] == "awaiting_commander (unhealthy)"


def test_protected_account_shows_no_reason() -> None:
    # An account retried by the Commander keeps the reason it was escalated for.
    accounts = [summary("acct-1", "protected", failure_reason="primary timed out")]

    (line,) = build_report("b1", accounts)["accounts"]

    assert line["reason"] is None
