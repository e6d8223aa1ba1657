"""Submitting a batch from a test and waiting for its report."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from harness import wait_until

from forge_tasks.domain.batch_file import parse_batch_file
from forge_tasks.reporting import batch_progress, batch_status, is_finished
from forge_tasks.submission import pair_names, submit_batch

APPROVED_COST_EUR = Decimal(5000)


def csv_text(rows: list[tuple[str, str, str]]) -> str:
    return "account_id,tier,pair\n" + "".join(f"{a},{t},{p}\n" for a, t, p in rows)


def submit(rows: list[tuple[str, str, str]], **options: Any) -> str:
    parsed = parse_batch_file(
        csv_text(rows), pair_names=pair_names(), approved_count=len(rows)
    )
    options.setdefault("approved_count", len(rows))
    options.setdefault("approved_cost_eur", APPROVED_COST_EUR)
    return submit_batch(parsed, **options).batch_id


def wait_for_report(batch_id: str, timeout_s: float = 120) -> dict[str, Any]:
    wait_until(
        lambda: is_finished(batch_progress(batch_id)),
        timeout_s=timeout_s,
        what=f"batch {batch_id} to finish",
    )
    report: dict[str, Any] = batch_status(batch_id)["report"]
    return report


def outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {row["account_id"]: row["outcome"] for row in report["accounts"]}
