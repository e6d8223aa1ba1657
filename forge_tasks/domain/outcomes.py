"""The state model: batch, account and instance states and their allowed transitions.

States change only through ``check_*_transition``; the store calls these before
every write, so an illegal change raises ``InvalidTransitionError`` instead of
being written.

An account's run in a batch ends in one of these outcomes:

- ``protected``: primary and standby ACTIVE and healthy;
- ``unprotected``: primary ACTIVE and healthy, the standby not made;
- ``failed``: the reason is recorded;
- ``awaiting_commander``: with a reason (``timed_out``, ``unhealthy`` or
  ``escalated``); never retried automatically, because a live instance may
  exist. A Commander instruction moves it on;
- ``cancelled``: the batch was cancelled before the account started.
"""

from __future__ import annotations

from enum import StrEnum

from forge_tasks.errors import InvalidTransitionError


class BatchStatus(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class AccountStatus(StrEnum):
    PENDING = "pending"  # queued, no provision call made yet
    PRIMARY = "primary"  # in flight: the primary is being provisioned
    STANDBY = "standby"  # in flight: the standby is being provisioned
    PROTECTED = "protected"
    UNPROTECTED = "unprotected"
    FAILED = "failed"
    AWAITING_COMMANDER = "awaiting_commander"
    CANCELLED = "cancelled"


class AwaitingReason(StrEnum):
    TIMED_OUT = "timed_out"
    UNHEALTHY = "unhealthy"
    ESCALATED = "escalated"


class InstanceStatus(StrEnum):
    REQUESTED = "requested"  # row written, provision call not yet confirmed
    CREATING = "CREATING"
    BOOTSTRAPPING = "BOOTSTRAPPING"
    ACTIVE = "ACTIVE"
    HEALTHY = "healthy"  # ACTIVE and the live health score met the threshold
    UNHEALTHY = "unhealthy"
    FAILED = "FAILED"
    TIMED_OUT = "timed_out"


IN_FLIGHT = frozenset({AccountStatus.PRIMARY, AccountStatus.STANDBY})
FINAL = frozenset(
    {
        AccountStatus.PROTECTED,
        AccountStatus.UNPROTECTED,
        AccountStatus.FAILED,
        AccountStatus.CANCELLED,
    }
)
# Outcomes for the batch report: final states plus awaiting the Commander.
OUTCOMES = FINAL | {AccountStatus.AWAITING_COMMANDER}

_BATCH_TRANSITIONS: dict[BatchStatus, frozenset[BatchStatus]] = {
    BatchStatus.RUNNING: frozenset(
        {BatchStatus.PAUSED, BatchStatus.COMPLETED, BatchStatus.CANCELLED}
    ),
    BatchStatus.PAUSED: frozenset(
        {BatchStatus.RUNNING, BatchStatus.CANCELLED, BatchStatus.COMPLETED}
    ),
    # A Commander instruction may move an account of a finished batch on.
    BatchStatus.COMPLETED: frozenset({BatchStatus.RUNNING}),
    BatchStatus.CANCELLED: frozenset(),
}

_ACCOUNT_TRANSITIONS: dict[AccountStatus, frozenset[AccountStatus]] = {
    AccountStatus.PENDING: frozenset(
        {
            AccountStatus.PRIMARY,
            AccountStatus.FAILED,
            AccountStatus.CANCELLED,
            AccountStatus.AWAITING_COMMANDER,
        }
    ),
    AccountStatus.PRIMARY: frozenset(
        {AccountStatus.STANDBY, AccountStatus.FAILED, AccountStatus.AWAITING_COMMANDER}
    ),
    AccountStatus.STANDBY: frozenset(
        {
            AccountStatus.PROTECTED,
            AccountStatus.UNPROTECTED,
            AccountStatus.AWAITING_COMMANDER,
        }
    ),
    AccountStatus.AWAITING_COMMANDER: frozenset(
        {AccountStatus.PRIMARY, AccountStatus.STANDBY, AccountStatus.FAILED}
    ),
    AccountStatus.PROTECTED: frozenset(),
    AccountStatus.UNPROTECTED: frozenset(),
    AccountStatus.FAILED: frozenset(),
    AccountStatus.CANCELLED: frozenset(),
}

_INSTANCE_TRANSITIONS: dict[InstanceStatus, frozenset[InstanceStatus]] = {
    InstanceStatus.REQUESTED: frozenset(
        {
            InstanceStatus.CREATING,
            InstanceStatus.BOOTSTRAPPING,
            InstanceStatus.ACTIVE,
            InstanceStatus.FAILED,
            InstanceStatus.TIMED_OUT,
        }
    ),
    InstanceStatus.CREATING: frozenset(
        {
            InstanceStatus.BOOTSTRAPPING,
            InstanceStatus.ACTIVE,
            InstanceStatus.FAILED,
            InstanceStatus.TIMED_OUT,
        }
    ),
    InstanceStatus.BOOTSTRAPPING: frozenset(
        {InstanceStatus.ACTIVE, InstanceStatus.FAILED, InstanceStatus.TIMED_OUT}
    ),
    InstanceStatus.ACTIVE: frozenset(
        {InstanceStatus.HEALTHY, InstanceStatus.UNHEALTHY}
    ),
    InstanceStatus.HEALTHY: frozenset(),
    InstanceStatus.UNHEALTHY: frozenset(),
    InstanceStatus.FAILED: frozenset(),
    InstanceStatus.TIMED_OUT: frozenset(),
}


def check_batch_transition(current: BatchStatus, new: BatchStatus) -> None:
    """Raise InvalidTransitionError unless a batch may go from ``current`` to ``new``."""
    if new not in _BATCH_TRANSITIONS[current]:
        raise InvalidTransitionError(f"batch cannot go from {current} to {new}")


def check_account_transition(current: AccountStatus, new: AccountStatus) -> None:
    """Raise InvalidTransitionError unless an account may go from ``current`` to ``new``."""
    if new not in _ACCOUNT_TRANSITIONS[current]:
        raise InvalidTransitionError(f"account cannot go from {current} to {new}")


def is_instance_transition_allowed(
    current: InstanceStatus, new: InstanceStatus
) -> bool:
    return current == new or new in _INSTANCE_TRANSITIONS[current]


def check_instance_transition(current: InstanceStatus, new: InstanceStatus) -> None:
    """Raise InvalidTransitionError unless an instance may go from ``current`` to ``new``."""
    if current == new:
        return
    if new not in _INSTANCE_TRANSITIONS[current]:
        raise InvalidTransitionError(f"instance cannot go from {current} to {new}")
