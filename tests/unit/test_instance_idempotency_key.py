"""Tests of the idempotency key sent with each provision call."""

from __future__ import annotations

from typing import Any

import pytest

from forge_tasks.store.instances import idempotency_key

ATTEMPT: dict[str, Any] = {
    "batch_id": "b-1",
    "account_id": "acct-1",
    "role": "primary",
    "attempt": 1,
}


def test_key_is_stable_for_the_same_attempt() -> None:
    assert idempotency_key(**ATTEMPT) == idempotency_key(**dict(ATTEMPT))


def test_key_names_batch_account_role_and_attempt() -> None:
    assert idempotency_key(**ATTEMPT) == "b-1:acct-1:primary:1"


@pytest.mark.parametrize(
    "change",
    [
        {"batch_id": "b-2"},
        {"account_id": "acct-2"},
        {"role": "standby"},
        {"attempt": 2},
    ],
    ids=["batch", "account", "role", "attempt"],
)
def test_key_changes_with_each_part(change: dict[str, Any]) -> None:
    other = {**ATTEMPT, **change}

    assert idempotency_key(**other) != idempotency_key(**ATTEMPT)
