"""Helpers shared by the task modules: the account reference and transient retries."""

from __future__ import annotations

import logging
from typing import Any, NoReturn, TypedDict

from celery import Task
from sqlalchemy.exc import DBAPIError

from forge_tasks.errors import InvalidTransitionError, TransientGatewayForgeError
from forge_tasks.settings import get_settings

logger = logging.getLogger(__name__)

# Retries of a step whose GatewayForge call failed with a transient error,
# before the account is escalated to the Commander.
MAX_TRANSIENT_RETRIES = 8
TRANSIENT_BACKOFF_CAP_S = 60.0
# Longest countdown of any task, in runbook seconds: the cap on every backoff,
# including a Retry-After from GatewayForge and the wait between deliveries of
# a COMPANION webhook or a Commander notification. The broker's visibility
# timeout must be longer (see celery_app).
MAX_BACKOFF_S = 300.0


# Options of every step task. A database error (a lost connection, a deadlock
# victim) or a transition that a concurrent run of the same step made first is
# retried: the step then re-reads the store and finds its work done or doable.
STEP_OPTIONS: dict[str, Any] = {
    "bind": True,
    "autoretry_for": (DBAPIError, InvalidTransitionError),
    "retry_backoff": 1,
    "retry_backoff_max": 30,
    "retry_jitter": True,
    "retry_kwargs": {"max_retries": 20},
}


class AccountRef(TypedDict):
    batch_id: str
    account_id: str


def make_ref(batch_id: str, account_id: str) -> AccountRef:
    return {"batch_id": batch_id, "account_id": account_id}


def transient_retries_left(task: Task[Any, Any]) -> bool:
    return int(task.request.retries) < MAX_TRANSIENT_RETRIES


def retry_transient(
    task: Task[Any, Any], ref: AccountRef, exc: TransientGatewayForgeError
) -> NoReturn:
    """Re-schedule the task after a transient GatewayForge error, backing off."""
    retries = int(task.request.retries)
    backoff_s = min(2.0**retries, TRANSIENT_BACKOFF_CAP_S)
    countdown_s = max(
        min(exc.retry_after_s or 0.0, MAX_BACKOFF_S), get_settings().scaled(backoff_s)
    )
    logger.info(
        "account %s: %s failed transiently (%s); retry %d in %.1f s",
        ref["account_id"],
        task.name,
        exc,
        retries + 1,
        countdown_s,
    )
    raise task.retry(countdown=countdown_s, exc=exc, max_retries=MAX_TRANSIENT_RETRIES)
