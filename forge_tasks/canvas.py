"""Builds the Celery canvases; the tasks themselves live in ``forge_tasks.tasks``.

- ``account_chain(ref)``: one account's pair, start to outcome. Every link is an
  immutable signature taking the ``AccountRef``, so a link ignores the previous
  result. A link whose account already reached an outcome returns at once. The
  last link returns the outcome dict (batch_id, account_id, outcome,
  awaiting_reason, reason).
- ``batch_chord(batch_id, account_ids)``: every account's chain as the header,
  ``forge.batch.finish`` as the body, which writes the batch report. A failed
  account is a result, not an exception, so the body runs for every batch.
- ``resume_chain(ref, role)``: after a Commander instruction, the steps from
  the role's provision call to the outcome, then a report refresh.
- ``recovery_chain(ref, role)``: the same from the role's poll step, for the
  batch watchdog when an in-flight account's chain was lost.
"""

from __future__ import annotations

from collections.abc import Sequence

from celery import chain, chord
from celery.canvas import Signature

from forge_tasks.gatewayforge.models import Role
from forge_tasks.tasks import accounts, batches, provisioning
from forge_tasks.tasks.common import AccountRef, make_ref


def role_steps(ref: AccountRef, role: Role) -> list[Signature]:
    """Provision, poll and health-check one role; the role is data."""
    steps = [
        provisioning.provision.si(ref, str(role)),
        provisioning.poll.si(ref, str(role)),
        provisioning.check_health.si(ref, str(role)),
    ]
    if role == Role.PRIMARY:
        steps.append(accounts.announce_primary.si(ref))
    return steps


def account_chain(ref: AccountRef) -> Signature:
    return chain(
        accounts.start.si(ref),
        *role_steps(ref, Role.PRIMARY),
        *role_steps(ref, Role.STANDBY),
        accounts.complete.si(ref),
    )


def batch_chord(batch_id: str, account_ids: Sequence[str]) -> Signature:
    header = [
        account_chain(make_ref(batch_id, account_id)) for account_id in account_ids
    ]
    return chord(header, batches.finish.s(batch_id))


def recovery_chain(ref: AccountRef, role: Role) -> Signature:
    """Continue an in-flight account from its poll step, after its chain was lost.

    The poll step resends an unconfirmed provision call or starts the next
    attempt of a failed one, so the chain can pick up from any point.
    """
    steps = role_steps(ref, role)[1:]
    if role == Role.PRIMARY:
        steps += role_steps(ref, Role.STANDBY)
    return chain(
        *steps,
        accounts.complete.si(ref),
        batches.refresh_report.si(ref["batch_id"]),
    )


def resume_chain(ref: AccountRef, role: Role) -> Signature:
    steps = role_steps(ref, role)
    if role == Role.PRIMARY:
        steps += role_steps(ref, Role.STANDBY)
    return chain(
        *steps,
        accounts.complete.si(ref),
        batches.refresh_report.si(ref["batch_id"]),
    )
