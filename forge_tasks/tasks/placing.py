"""Placement at provision time: read the providers' conditions, apply the rules.

The rules themselves are pure functions in ``forge_tasks.domain``; this module
only fetches ``gf_provider_health`` and picks which rule applies to an attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from forge_tasks.domain.catalogue import Catalogue, Region, load_catalogue
from forge_tasks.domain.feeds import load_component_map
from forge_tasks.domain.placement import (
    choose_next_best_provider,
    choose_replacement_region,
)
from forge_tasks.domain.rules import Conditions, provider_rejections, role_rejections
from forge_tasks.gatewayforge.client import get_client
from forge_tasks.gatewayforge.models import Provider, Role, Tier


@dataclass(frozen=True)
class ReferenceData:
    catalogue: Catalogue
    component_map: dict[Provider, dict[str, str]]


@lru_cache(maxsize=1)
def reference_data() -> ReferenceData:
    catalogue = load_catalogue()
    return ReferenceData(catalogue, load_component_map(catalogue))


def fetch_conditions() -> Conditions:
    """Call ``gf_provider_health`` and read every provider's status feed."""
    data = reference_data()
    response = get_client().provider_health()
    return Conditions.from_health(
        response, data.component_map, catalogue=data.catalogue
    )


@dataclass(frozen=True)
class AttemptPlacement:
    """The region of one provision attempt, or None with the reasons nothing fits.

    ``switched_provider`` is set when a confirmed provider incident moved the
    attempt to the next-best provider; the Commander is then notified.
    """

    region: Region | None
    reasons: tuple[str, ...]
    note: str = ""
    switched_provider: bool = False
    evidence: str = ""


def place_attempt(
    *,
    role: Role,
    tier: Tier,
    planned: Region,
    primary: Region | None,
    conditions: Conditions,
    after_failure: bool,
    failed_keys: frozenset[str] = frozenset(),
    avoid_providers: frozenset[Provider] = frozenset(),
) -> AttemptPlacement:
    """Choose the region of a new attempt.

    The planned region is kept when it meets every rule, unless an attempt just
    failed there. A confirmed provider incident switches to the next-best
    provider. A failed attempt or a region-level problem moves to a replacement
    region of the same provider. A provider below the health thresholds without
    an incident gets no placement: only the Commander may switch providers then.
    A provider switch never picks one of ``avoid_providers``; for a primary, that
    is the standby's planned provider, which the standby must not share.
    """
    catalogue = reference_data().catalogue
    state = conditions.get(planned.provider)
    incident = None
    if state is not None and state.feed.readable:
        incident = state.feed.provider_incident()
    if incident is not None:
        decision = choose_next_best_provider(
            role,
            planned,
            tier,
            conditions,
            catalogue,
            primary=primary,
            exclude_providers=avoid_providers,
        )
        note = f"{planned.provider} has a confirmed provider incident ({incident.evidence})"
        if decision.choice is None:
            return AttemptPlacement(None, (note, *decision.reasons()))
        return AttemptPlacement(
            decision.choice,
            tuple(decision.reasons()),
            note=f"switched from {planned.key} to {decision.choice.key}: {note}",
            switched_provider=True,
            evidence=incident.evidence,
        )

    if not after_failure:
        reasons = role_rejections(role, planned, tier, conditions, primary)
        if not reasons:
            return AttemptPlacement(planned, ())
        provider_reasons = provider_rejections(planned.provider, conditions)
        if provider_reasons:
            return AttemptPlacement(None, tuple(provider_reasons))
        why = "; ".join(reasons)
    else:
        why = f"the attempt in {planned.key} failed"

    decision = choose_replacement_region(
        planned,
        role,
        tier,
        conditions,
        catalogue,
        primary=primary,
        exclude=failed_keys,
    )
    if decision.choice is None:
        return AttemptPlacement(
            None, (why, f"no other {planned.provider} region fits", *decision.reasons())
        )
    return AttemptPlacement(
        decision.choice,
        tuple(decision.reasons()),
        note=f"moved from {planned.key} to {decision.choice.key} because {why}",
    )
