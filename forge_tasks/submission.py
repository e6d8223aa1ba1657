"""Submitting a batch: validate, run the preflight checklist, store, enqueue.

No batch reaches the store or the broker unless the whole batch is valid and
passes preflight. A rejection leaves only an audit event with its reasons. If
enqueueing fails after the batch was stored, the stored batch is removed again,
so a batch is either fully submitted or absent.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache

from sqlmodel import col, delete

from forge_tasks.canvas import batch_chord
from forge_tasks.domain.batch_file import BatchRow
from forge_tasks.domain.pairs import PairConfig, load_pairs
from forge_tasks.domain.preflight import AccountRequest, evaluate_preflight
from forge_tasks.domain.pricing import PriceTable, load_prices
from forge_tasks.errors import ForgeError
from forge_tasks.settings import get_settings
from forge_tasks.store import batches as batch_store
from forge_tasks.store.engine import session_scope
from forge_tasks.store.tables import Account, Batch
from forge_tasks.tasks import watchdog
from forge_tasks.tasks.notifications import (
    deliver_after_commit,
    notify_commander,
    record_audit,
)
from forge_tasks.tasks.placing import fetch_conditions, reference_data

logger = logging.getLogger(__name__)


class PreflightRejectedError(ForgeError):
    """Raised when a batch fails the pre-provision checklist; lists every reason."""

    def __init__(
        self, message: str, batch_id: str = "", reasons: Sequence[str] = ()
    ) -> None:
        # ``args`` is the message alone, so Celery can rebuild the error for a
        # caller that submitted by task name.
        super().__init__(message)
        self.batch_id = batch_id
        self.reasons = list(reasons)

    @classmethod
    def from_reasons(
        cls, batch_id: str, reasons: Sequence[str]
    ) -> PreflightRejectedError:
        lines = "\n  ".join(reasons)
        message = f"batch {batch_id} rejected by preflight:\n  {lines}"
        return cls(message, batch_id, reasons)


@dataclass(frozen=True)
class SubmittedBatch:
    batch_id: str
    size: int
    estimated_cost_eur: Decimal
    notes: list[str]


@lru_cache(maxsize=1)
def _pairs_and_prices() -> tuple[dict[str, PairConfig], PriceTable]:
    return load_pairs(reference_data().catalogue), load_prices()


def pair_names() -> list[str]:
    return sorted(_pairs_and_prices()[0])


def new_batch_id() -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"b-{stamp}-{secrets.token_hex(3)}"


def submit_batch(
    rows: Sequence[BatchRow],
    *,
    approved_count: int,
    approved_cost_eur: Decimal,
    concurrency: int | None = None,
    source: str = "",
    batch_id: str | None = None,
) -> SubmittedBatch:
    """Preflight, store and enqueue a validated batch; return its id and estimate.

    Raises PreflightRejectedError with every reason when the checklist fails.
    """
    batch_id = batch_id or new_batch_id()
    pairs, prices = _pairs_and_prices()
    catalogue = reference_data().catalogue
    requests = [AccountRequest(r.account_id, r.tier, r.pair) for r in rows]
    conditions = fetch_conditions()
    result = evaluate_preflight(
        requests,
        conditions,
        catalogue,
        pairs,
        prices,
        approved_count=approved_count,
        approved_cost_eur=approved_cost_eur,
    )
    if not result.accepted:
        with session_scope() as session:
            record_audit(
                session=session,
                action="preflight_refused",
                batch_id=batch_id,
                account_id=None,
                details={"reasons": result.reasons},
            )
        raise PreflightRejectedError.from_reasons(batch_id, result.reasons)

    planned = []
    notes: list[str] = []
    for row in rows:
        plan = result.plans[row.account_id]
        assert plan.primary is not None and plan.standby is not None
        planned.append(
            batch_store.PlannedAccount(
                account_id=row.account_id,
                tier=row.tier.value,
                pair_name=row.pair,
                primary_provider=plan.primary.provider,
                primary_region=plan.primary.id,
                standby_provider=plan.standby.provider,
                standby_region=plan.standby.id,
            )
        )
        notes += [f"{row.account_id}: {note}" for note in plan.notes]

    notification_ids = _store_batch(
        batch_id,
        planned,
        notes,
        approved_count=approved_count,
        approved_cost_eur=approved_cost_eur,
        estimated_cost_eur=result.estimated_cost_eur,
        concurrency=concurrency or get_settings().batch_concurrency,
        source=source,
    )
    _enqueue(batch_id, [row.account_id for row in rows])
    watchdog.schedule(batch_id)
    for notification_id in notification_ids:
        deliver_after_commit(notification_id)
    logger.info("batch %s: submitted %d accounts", batch_id, len(rows))
    return SubmittedBatch(batch_id, len(rows), result.estimated_cost_eur, notes)


def _store_batch(
    batch_id: str,
    planned: list[batch_store.PlannedAccount],
    notes: list[str],
    *,
    approved_count: int,
    approved_cost_eur: Decimal,
    estimated_cost_eur: Decimal,
    concurrency: int,
    source: str,
) -> list[str]:
    """Store the batch, its accounts and audit events; return notification ids."""
    notification_ids: list[str] = []
    with session_scope() as session:
        batch_store.create_batch(
            session=session,
            batch_id=batch_id,
            accounts=planned,
            approved_count=approved_count,
            approved_cost_eur=approved_cost_eur,
            estimated_cost_eur=estimated_cost_eur,
            concurrency=concurrency,
            source=source,
        )
        record_audit(
            session=session,
            action="preflight_passed",
            batch_id=batch_id,
            account_id=None,
            details={
                "size": len(planned),
                "approved_count": approved_count,
                "approved_cost_eur": str(approved_cost_eur),
                "estimated_cost_eur": str(estimated_cost_eur),
                "moves": notes,
            },
        )
        for note in notes:
            if "next-best provider" in note:
                account_id = note.split(":", 1)[0]
                notification_ids.append(
                    notify_commander(
                        session=session,
                        kind="provider_switched",
                        message=f"batch {batch_id}, account {note}",
                        batch_id=batch_id,
                        account_id=account_id,
                        details={"note": note},
                        key=f"preflight:{note}",
                    )
                )
        for account in planned:
            record_audit(
                session=session,
                action="placement_planned",
                batch_id=batch_id,
                account_id=account.account_id,
                details={
                    "pair": account.pair_name,
                    "primary": f"{account.primary_provider}/{account.primary_region}",
                    "standby": f"{account.standby_provider}/{account.standby_region}",
                    "moves": [
                        n for n in notes if n.startswith(account.account_id + ":")
                    ],
                },
            )
    return notification_ids


def _enqueue(batch_id: str, account_ids: list[str]) -> None:
    try:
        batch_chord(batch_id, account_ids).apply_async()
    except Exception:
        logger.error("batch %s: enqueue failed; removing the stored batch", batch_id)
        with session_scope() as session:
            session.execute(delete(Account).where(col(Account.batch_id) == batch_id))
            session.execute(delete(Batch).where(col(Batch.id) == batch_id))
        raise
