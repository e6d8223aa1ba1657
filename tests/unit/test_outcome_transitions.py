"""Tests of the state model: which batch, account and instance transitions are allowed.

The allowed tables are written out here rather than read from the module, so a
transition added to or dropped from the state model fails a test.
"""

from __future__ import annotations

from itertools import product

import pytest

from forge_tasks.domain.outcomes import (
    AccountStatus,
    BatchStatus,
    InstanceStatus,
    check_account_transition,
    check_batch_transition,
    check_instance_transition,
)
from forge_tasks.errors import InvalidTransitionError

A = AccountStatus
B = BatchStatus
I = InstanceStatus

ACCOUNT_ALLOWED = [
    (A.PENDING, A.PRIMARY),
    (A.PENDING, A.FAILED),
    (A.PENDING, A.CANCELLED),
    (A.PENDING, A.AWAITING_COMMANDER),
    (A.PRIMARY, A.STANDBY),
    (A.PRIMARY, A.FAILED),
    (A.PRIMARY, A.AWAITING_COMMANDER),
    (A.STANDBY, A.PROTECTED),
    (A.STANDBY, A.UNPROTECTED),
    (A.STANDBY, A.AWAITING_COMMANDER),
    (A.AWAITING_COMMANDER, A.PRIMARY),
    (A.AWAITING_COMMANDER, A.STANDBY),
    (A.AWAITING_COMMANDER, A.FAILED),
]
ACCOUNT_FORBIDDEN = {
    "pending_skips_to_standby": (A.PENDING, A.STANDBY),
    "pending_skips_to_protected": (A.PENDING, A.PROTECTED),
    "primary_skips_to_protected": (A.PRIMARY, A.PROTECTED),
    "primary_back_to_pending": (A.PRIMARY, A.PENDING),
    "in_flight_primary_cancelled": (A.PRIMARY, A.CANCELLED),
    "standby_back_to_primary": (A.STANDBY, A.PRIMARY),
    "standby_failed_while_primary_lives": (A.STANDBY, A.FAILED),
    "awaiting_to_protected_without_standby": (A.AWAITING_COMMANDER, A.PROTECTED),
    "awaiting_to_unprotected": (A.AWAITING_COMMANDER, A.UNPROTECTED),
    "awaiting_to_cancelled": (A.AWAITING_COMMANDER, A.CANCELLED),
    "awaiting_to_pending": (A.AWAITING_COMMANDER, A.PENDING),
    "pending_to_itself": (A.PENDING, A.PENDING),
    "primary_to_itself": (A.PRIMARY, A.PRIMARY),
}
ACCOUNT_TERMINAL = [A.PROTECTED, A.UNPROTECTED, A.FAILED, A.CANCELLED]

BATCH_ALLOWED = [
    (B.RUNNING, B.PAUSED),
    (B.RUNNING, B.COMPLETED),
    (B.RUNNING, B.CANCELLED),
    (B.PAUSED, B.RUNNING),
    (B.PAUSED, B.COMPLETED),
    (B.PAUSED, B.CANCELLED),
    (B.COMPLETED, B.RUNNING),
]
BATCH_FORBIDDEN = {
    "cancelled_resumed": (B.CANCELLED, B.RUNNING),
    "cancelled_paused": (B.CANCELLED, B.PAUSED),
    "cancelled_completed": (B.CANCELLED, B.COMPLETED),
    "completed_paused": (B.COMPLETED, B.PAUSED),
    "completed_cancelled": (B.COMPLETED, B.CANCELLED),
    "running_to_itself": (B.RUNNING, B.RUNNING),
}

INSTANCE_ALLOWED = [
    (I.REQUESTED, I.CREATING),
    (I.REQUESTED, I.BOOTSTRAPPING),
    (I.REQUESTED, I.ACTIVE),
    (I.REQUESTED, I.FAILED),
    (I.REQUESTED, I.TIMED_OUT),
    (I.CREATING, I.BOOTSTRAPPING),
    (I.CREATING, I.ACTIVE),
    (I.CREATING, I.FAILED),
    (I.CREATING, I.TIMED_OUT),
    (I.BOOTSTRAPPING, I.ACTIVE),
    (I.BOOTSTRAPPING, I.FAILED),
    (I.BOOTSTRAPPING, I.TIMED_OUT),
    (I.ACTIVE, I.HEALTHY),
    (I.ACTIVE, I.UNHEALTHY),
]
INSTANCE_FORBIDDEN = {
    "requested_skips_to_healthy": (I.REQUESTED, I.HEALTHY),
    "bootstrapping_back_to_creating": (I.BOOTSTRAPPING, I.CREATING),
    "active_back_to_creating": (I.ACTIVE, I.CREATING),
    "active_to_failed": (I.ACTIVE, I.FAILED),
    "active_to_timed_out": (I.ACTIVE, I.TIMED_OUT),
    "failed_to_active": (I.FAILED, I.ACTIVE),
    "healthy_to_unhealthy": (I.HEALTHY, I.UNHEALTHY),
    "timed_out_to_active": (I.TIMED_OUT, I.ACTIVE),
}
INSTANCE_TERMINAL = [I.HEALTHY, I.UNHEALTHY, I.FAILED, I.TIMED_OUT]


def transition_id(pair: tuple[str, str]) -> str:
    return f"{pair[0]}->{pair[1]}"


@pytest.mark.parametrize("transition", ACCOUNT_ALLOWED, ids=transition_id)
def test_allowed_account_transition_passes(
    transition: tuple[AccountStatus, AccountStatus],
) -> None:
    check_account_transition(*transition)


@pytest.mark.parametrize(
    "transition", ACCOUNT_FORBIDDEN.values(), ids=ACCOUNT_FORBIDDEN.keys()
)
def test_forbidden_account_transition_raises(
    transition: tuple[AccountStatus, AccountStatus],
) -> None:
    with pytest.raises(InvalidTransitionError):
        check_account_transition(*transition)


@pytest.mark.parametrize(
    "transition", list(product(ACCOUNT_TERMINAL, AccountStatus)), ids=transition_id
)
def test_final_account_state_has_no_way_out(
    transition: tuple[AccountStatus, AccountStatus],
) -> None:
    with pytest.raises(InvalidTransitionError):
        check_account_transition(*transition)


def test_no_account_transition_outside_the_allowed_table() -> None:
    passing = set()
    for current, new in product(AccountStatus, AccountStatus):
        try:
            check_account_transition(current, new)
        except InvalidTransitionError:
            continue
        passing.add((current, new))

    assert passing == set(ACCOUNT_ALLOWED)


def test_account_transition_error_names_both_states() -> None:
    with pytest.raises(InvalidTransitionError) as raised:
        check_account_transition(A.PROTECTED, A.PRIMARY)

    assert str(raised.value) == "account cannot go from protected to primary"


@pytest.mark.parametrize("transition", BATCH_ALLOWED, ids=transition_id)
def test_allowed_batch_transition_passes(
    transition: tuple[BatchStatus, BatchStatus],
) -> None:
    check_batch_transition(*transition)


@pytest.mark.parametrize(
    "transition", BATCH_FORBIDDEN.values(), ids=BATCH_FORBIDDEN.keys()
)
def test_forbidden_batch_transition_raises(
    transition: tuple[BatchStatus, BatchStatus],
) -> None:
    with pytest.raises(InvalidTransitionError):
        check_batch_transition(*transition)


@pytest.mark.parametrize("transition", INSTANCE_ALLOWED, ids=transition_id)
def test_allowed_instance_transition_passes(
    transition: tuple[InstanceStatus, InstanceStatus],
) -> None:
    check_instance_transition(*transition)


@pytest.mark.parametrize(
    "transition", INSTANCE_FORBIDDEN.values(), ids=INSTANCE_FORBIDDEN.keys()
)
def test_forbidden_instance_transition_raises(
    transition: tuple[InstanceStatus, InstanceStatus],
) -> None:
    with pytest.raises(InvalidTransitionError):
        check_instance_transition(*transition)


@pytest.mark.parametrize(
    "transition",
    [
        (current, new)
        for current, new in product(INSTANCE_TERMINAL, I)
        if current != new
    ],
    ids=transition_id,
)
def test_final_instance_state_has_no_way_out(
    transition: tuple[InstanceStatus, InstanceStatus],
) -> None:
    with pytest.raises(InvalidTransitionError):
        check_instance_transition(*transition)


@pytest.mark.parametrize("status", list(InstanceStatus), ids=str)
def test_instance_status_repeated_is_a_no_op(status: InstanceStatus) -> None:
    # A poll that reads the same provider state again must not fail the task.
    check_instance_transition(status, status)


def test_no_instance_transition_outside_the_allowed_table() -> None:
    passing = set()
    for current, new in product(InstanceStatus, InstanceStatus):
        if current == new:
            continue
        try:
            check_instance_transition(current, new)
        except InvalidTransitionError:
            continue
        passing.add((current, new))

    assert passing == set(INSTANCE_ALLOWED)
