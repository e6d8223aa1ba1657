"""Decide, from the active scenario, what happens to one new provision.

The decision is made once, when the instance is created, from the faults that
match it and from a random generator seeded with (seed, idempotency key). So
an instance's duration, health score and bootstrap cause do not depend on the
order in which requests arrive. Only a fault's ``first`` limit counts
provisions in arrival order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from forge_tasks.gatewayforge.models import BootstrapCause, Failure, Provider, Role
from forge_tasks.sandbox.scenario import (
    BootstrapFailure,
    LowHealth,
    ProvisionFailure,
    ProvisionFault,
    Scenario,
    SlowProvision,
)
from forge_tasks.sandbox.timeline import bootstrap_failure, provisioning_failure

# Health scores of instances that no low_health fault matches.
HEALTHY_SCORE_RANGE = (82, 99)


_PROVISION_FAULT_TYPES = (ProvisionFailure, BootstrapFailure, SlowProvision, LowHealth)


@dataclass(frozen=True)
class Target:
    """The provision a fault is matched against."""

    account_id: str
    role: Role
    provider: Provider
    region: str


@dataclass(frozen=True)
class Plan:
    """The sandbox's decisions for one new instance."""

    duration_s: float
    health_score: int
    failure: Failure | None
    applied_faults: tuple[str, ...]


@dataclass
class FaultCounters:
    """How many provisions each fault (by index in the scenario) has matched."""

    matched: dict[int, int] = field(default_factory=dict)


def instance_random(seed: int, idempotency_key: str) -> random.Random:
    # A str seed is hashed with SHA-512, so this is stable across processes.
    return random.Random(f"{seed}:{idempotency_key}")


def plan_provision(
    scenario: Scenario, target: Target, rng: random.Random, counters: FaultCounters
) -> Plan:
    """Draw the instance's figures and apply the first matching fault of each kind."""
    low, high = scenario.provision_time_s
    duration_s = rng.uniform(low, high)
    health_score = rng.randint(*HEALTHY_SCORE_RANGE)
    drawn_cause = rng.choice(list(BootstrapCause))

    failure: Failure | None = None
    applied: list[str] = []
    for index, fault in _matching_faults(scenario, target, counters):
        if isinstance(fault, SlowProvision):
            duration_s = fault.duration_s
        elif isinstance(fault, LowHealth):
            health_score = fault.score
        elif isinstance(fault, ProvisionFailure):
            failure = provisioning_failure(fault.reason)
        elif isinstance(fault, BootstrapFailure) and failure is None:
            failure = bootstrap_failure(fault.cause or drawn_cause)
        applied.append(f"faults[{index}]({fault.kind})")
    return Plan(duration_s, health_score, failure, tuple(applied))


def _matching_faults(
    scenario: Scenario, target: Target, counters: FaultCounters
) -> list[tuple[int, ProvisionFault]]:
    """Return the first matching fault of each kind, counting it against ``first``."""
    chosen: list[tuple[int, ProvisionFault]] = []
    kinds_seen: set[str] = set()
    for index, fault in enumerate(scenario.faults):
        if not isinstance(fault, _PROVISION_FAULT_TYPES):
            continue
        if not _matches(fault, target):
            continue
        used = counters.matched.get(index, 0)
        if fault.first is not None and used >= fault.first:
            continue
        if fault.kind in kinds_seen:
            continue
        counters.matched[index] = used + 1
        kinds_seen.add(fault.kind)
        chosen.append((index, fault))
    return chosen


def _matches(fault: ProvisionFault, target: Target) -> bool:
    if fault.provider is not None and fault.provider is not target.provider:
        return False
    if fault.region is not None and fault.region != target.region:
        return False
    if fault.role is not None and fault.role is not target.role:
        return False
    return fault.account_ids is None or target.account_id in fault.account_ids
