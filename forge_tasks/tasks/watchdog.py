"""The batch watchdog: a safety net for messages lost with a killed worker.

kombu's Redis transport takes a message off the queue before it records it as
unacknowledged, so a worker killed with SIGKILL in between loses the message,
and with it the rest of that account's chain. The watchdog re-schedules
itself every 300 runbook seconds for as long as its batch runs. On each run
it restarts the chain of every in-flight account that no step has touched for
``stale_after_s``, and the chain of the first waiting account when the batch
has free slots and has been idle that long. Once every account has an outcome it writes the final
report, in case the chord's callback was lost too. Every step is safe to run
twice, so a restarted chain that meets a live one does no harm.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from forge_tasks.canvas import account_chain, recovery_chain
from forge_tasks.celery_app import DEFAULT_VISIBILITY_TIMEOUT_S, app
from forge_tasks.domain.outcomes import IN_FLIGHT, OUTCOMES, AccountStatus, BatchStatus
from forge_tasks.gatewayforge.models import Role
from forge_tasks.settings import get_settings
from forge_tasks.store import batches as batch_store
from forge_tasks.store.engine import session_scope
from forge_tasks.store.tables import Account, utc_now
from forge_tasks.tasks.batches import write_report
from forge_tasks.tasks.common import MAX_BACKOFF_S, make_ref

logger = logging.getLogger(__name__)

STALE_POLL_INTERVALS = 3


def stale_after_s() -> float:
    """Seconds without a step after which an account's chain counts as lost.

    A message held by a killed worker comes back after the visibility timeout,
    so the watchdog waits that long plus a few poll intervals before acting.
    """
    settings = get_settings()
    visibility_timeout_s = settings.visibility_timeout_s or DEFAULT_VISIBILITY_TIMEOUT_S
    poll_s = settings.scaled(settings.poll_interval_s)
    return STALE_POLL_INTERVALS * poll_s + visibility_timeout_s


def schedule(batch_id: str) -> None:
    """Run the watchdog after the longest backoff; the broker's visibility
    timeout is longer than that, so its own message is not delivered twice."""
    countdown_s = get_settings().scaled(MAX_BACKOFF_S)
    watch_batch.apply_async((batch_id,), countdown=countdown_s)


@app.task(name="forge.batch.watchdog")
def watch_batch(batch_id: str) -> bool:
    """Recover the batch's lost chains; re-schedule until the batch has ended."""
    ended = check_batch(batch_id)
    if not ended:
        schedule(batch_id)
    return ended


def check_batch(batch_id: str) -> bool:
    """Run one watchdog pass over the batch; return True when it has ended."""
    stale_before = datetime.now(UTC) - timedelta(seconds=stale_after_s())
    with session_scope() as session:
        batch = batch_store.get_batch(session=session, batch_id=batch_id, lock=True)
        accounts = batch_store.list_accounts(session=session, batch_id=batch_id)
        if all(a.status in OUTCOMES for a in accounts):
            ended = batch.status in (BatchStatus.COMPLETED, BatchStatus.CANCELLED)
            if ended and batch.report is not None:
                return True
            idle = all(a.touched_at < stale_before for a in accounts)
            if not idle:
                return False
        else:
            idle = False
        lost = [
            a for a in accounts if a.status in IN_FLIGHT and a.touched_at < stale_before
        ]
        waiting = _stuck_waiting_account(
            batch.status, batch.concurrency, accounts, stale_before
        )
        for account in lost + ([waiting] if waiting else []):
            account.touched_at = utc_now()
            session.add(account)

    if idle:
        logger.warning(
            "batch %s: every account has an outcome but no report; writing it", batch_id
        )
        write_report(batch_id, final=True)
        return True
    for account in lost:
        role = Role.PRIMARY if account.status == AccountStatus.PRIMARY else Role.STANDBY
        logger.warning(
            "account %s: no step for %.0f s while in flight; restarting its chain at %s",
            account.account_id,
            stale_after_s(),
            role,
        )
        recovery_chain(make_ref(batch_id, account.account_id), role).apply_async()
    if waiting is not None:
        logger.warning(
            "account %s: batch %s idle with free slots; restarting its start",
            waiting.account_id,
            batch_id,
        )
        account_chain(make_ref(batch_id, waiting.account_id)).apply_async()
    return False


def _stuck_waiting_account(
    status: str, concurrency: int, accounts: list[Account], stale_before: datetime
) -> Account | None:
    """Return the first waiting account if the batch has free slots and is idle."""
    if status != BatchStatus.RUNNING:
        return None
    if sum(1 for a in accounts if a.status in IN_FLIGHT) >= concurrency:
        return None
    if any(a.touched_at >= stale_before for a in accounts):
        return None
    return next((a for a in accounts if a.status == AccountStatus.PENDING), None)
