"""The life of one simulated instance, as a pure function of time.

Times here are runbook seconds: the sandbox multiplies its clock by the time
scale before asking, so a 6-minute provision is 360 here at any scale.

An instance spends the first 40 % of its drawn duration CREATING. It then
waits in BOOTSTRAPPING with ``awaiting_config`` until the config push, and
stays BOOTSTRAPPING for the remaining 60 % counted from the push before it
turns ACTIVE. A planned provisioning failure turns it FAILED when CREATING
ends; a planned bootstrap failure when BOOTSTRAPPING would have ended.
"""

from __future__ import annotations

from dataclasses import dataclass

from forge_tasks.gatewayforge.models import (
    BootstrapCause,
    Failure,
    FailureKind,
    PairState,
)

CREATING_SHARE = 0.4

BOOTSTRAP_CAUSE_REASONS = {
    BootstrapCause.CLOUD_INIT: "Cloud-init failed to install Docker or Tailscale",
    BootstrapCause.IMAGE_PULL_NETWORK: "Network issue during image pull",
    BootstrapCause.GATEWAYFORGE_UNREACHABLE: (
        "GatewayForge API unreachable (check Tailscale)"
    ),
}


def bootstrap_failure(cause: BootstrapCause) -> Failure:
    return Failure(
        kind=FailureKind.BOOTSTRAP, reason=BOOTSTRAP_CAUSE_REASONS[cause], cause=cause
    )


def provisioning_failure(reason: str) -> Failure:
    return Failure(kind=FailureKind.PROVISIONING, reason=reason)


@dataclass
class Timeline:
    """When an instance was created, how long it takes, and how it will end."""

    created_at_s: float
    duration_s: float
    planned_failure: Failure | None = None
    config_pushed_at_s: float | None = None

    @property
    def creating_ends_at_s(self) -> float:
        return self.created_at_s + CREATING_SHARE * self.duration_s


@dataclass(frozen=True)
class Snapshot:
    """An instance's state at one moment and when that state began."""

    status: PairState
    since_s: float
    awaiting_config: bool = False
    failure: Failure | None = None


def snapshot_at(timeline: Timeline, now_s: float) -> Snapshot:
    """Return the state of ``timeline`` at runbook time ``now_s``."""
    failure = timeline.planned_failure
    creating_end = timeline.creating_ends_at_s
    if now_s < creating_end:
        return Snapshot(PairState.CREATING, timeline.created_at_s)
    if failure is not None and failure.kind is FailureKind.PROVISIONING:
        return Snapshot(PairState.FAILED, creating_end, failure=failure)

    pushed_at = timeline.config_pushed_at_s
    if pushed_at is None:
        return Snapshot(PairState.BOOTSTRAPPING, creating_end, awaiting_config=True)
    bootstrap_end = pushed_at + (1 - CREATING_SHARE) * timeline.duration_s
    if now_s < bootstrap_end:
        return Snapshot(PairState.BOOTSTRAPPING, pushed_at)
    if failure is not None:
        return Snapshot(PairState.FAILED, bootstrap_end, failure=failure)
    return Snapshot(PairState.ACTIVE, bootstrap_end)
