"""Placement: choosing regions and providers under the rules in ``rules``.

Every choosing function returns a :class:`PlacementDecision` with the choice and
the reasons each rejected candidate failed, for the audit record. Enterprise
accounts prefer a standby on another continent than the primary. That is a
preference in the order of the candidates, not a rule.

The rules and conditions are re-exported here, so callers need one import.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from forge_tasks.domain.catalogue import Catalogue, Region
from forge_tasks.domain.pairs import PairConfig
from forge_tasks.domain.rules import (
    MAX_AVG_PROVISION_TIME_S,
    MIN_HEALTH_SCORE,
    MIN_SUCCESS_RATE_PERCENT,
    Conditions,
    ProviderConditions,
    provider_feed_rejections,
    provider_health_rejections,
    provider_rejections,
    region_rejections,
    role_rejections,
    standby_rejections,
)
from forge_tasks.gatewayforge.models import Provider, Role, Tier


@dataclass(frozen=True)
class Rejection:
    """A rejected candidate (a region key or a provider name) and why."""

    candidate: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class PlacementDecision:
    """The chosen region, or None, and every candidate rejected on the way."""

    choice: Region | None
    rejections: tuple[Rejection, ...] = ()

    def reasons(self) -> list[str]:
        return [
            f"{rejection.candidate}: {reason}"
            for rejection in self.rejections
            for reason in rejection.reasons
        ]


def order_candidates(
    regions: Iterable[Region],
    reference: Region,
    catalogue: Catalogue,
    *,
    away_from_continent: str | None = None,
) -> list[Region]:
    """Sort regions by nearness to the reference, each group in catalogue order.

    Regions in the reference's country come first, then those on its continent,
    then the rest. With ``away_from_continent``, every region off that continent
    comes before every region on it.
    """

    def sort_key(region: Region) -> tuple[bool, int, int]:
        on_avoided = region.continent == away_from_continent
        if region.country == reference.country:
            group = 0
        elif region.continent == reference.continent:
            group = 1
        else:
            group = 2
        return (on_avoided, group, catalogue.position(region))

    return sorted(regions, key=sort_key)


def choose_replacement_region(
    current: Region,
    role: Role,
    tier: Tier,
    conditions: Conditions,
    catalogue: Catalogue,
    *,
    primary: Region | None = None,
    exclude: frozenset[str] = frozenset(),
) -> PlacementDecision:
    """Choose another region of the same provider that meets every rule.

    Candidates exclude ``current`` and the region keys in ``exclude``. For a
    standby, ``primary`` is required.
    """
    candidates = [
        region
        for region in catalogue.regions_of(current.provider)
        if region != current and region.key not in exclude
    ]
    ordered = order_candidates(
        candidates,
        current,
        catalogue,
        away_from_continent=_avoided_continent(role, tier, primary),
    )
    return _first_fit(ordered, role, tier, conditions, primary)


def choose_next_best_provider(
    role: Role,
    region: Region,
    tier: Tier,
    conditions: Conditions,
    catalogue: Catalogue,
    *,
    primary: Region | None = None,
    exclude_providers: frozenset[Provider] = frozenset(),
) -> PlacementDecision:
    """Choose a region of the next-best provider, after a confirmed provider incident.

    Among other providers that meet the provider rules, the best has the highest
    health score, then the highest success rate, then the shortest average
    provision time. A full tie goes to the provider first in catalogue order. Its
    region is chosen relative to ``region`` as in
    :func:`choose_replacement_region`. When none of the best provider's regions
    fits, the next provider is tried.
    """
    excluded = {region.provider, *exclude_providers}
    rejections: list[Rejection] = []
    eligible: list[Provider] = []
    for provider in _providers_in_catalogue_order(catalogue):
        if provider in excluded:
            continue
        reasons = provider_rejections(provider, conditions)
        if role == Role.STANDBY and primary and provider == primary.provider:
            reasons.append(f"{provider} is the primary's provider")
        if reasons:
            rejections.append(Rejection(provider.value, tuple(reasons)))
        else:
            eligible.append(provider)

    for provider in rank_providers(eligible, conditions):
        ordered = order_candidates(
            catalogue.regions_of(provider),
            region,
            catalogue,
            away_from_continent=_avoided_continent(role, tier, primary),
        )
        decision = _first_fit(ordered, role, tier, conditions, primary)
        rejections.extend(decision.rejections)
        if decision.choice is not None:
            return PlacementDecision(decision.choice, tuple(rejections))
    return PlacementDecision(None, tuple(rejections))


def rank_providers(
    providers: Sequence[Provider], conditions: Conditions
) -> list[Provider]:
    """Sort providers best first; a full tie keeps the given order."""

    def sort_key(provider: Provider) -> tuple[int, float, float]:
        state = conditions.providers[provider]
        return (
            -state.health_score,
            -state.success_rate_percent,
            state.avg_provision_time_s,
        )

    return sorted(providers, key=sort_key)


def _providers_in_catalogue_order(catalogue: Catalogue) -> list[Provider]:
    return list(dict.fromkeys(region.provider for region in catalogue))


def _avoided_continent(role: Role, tier: Tier, primary: Region | None) -> str | None:
    if role == Role.STANDBY and tier == Tier.ENTERPRISE and primary is not None:
        return primary.continent
    return None


def _first_fit(
    ordered: Sequence[Region],
    role: Role,
    tier: Tier,
    conditions: Conditions,
    primary: Region | None,
) -> PlacementDecision:
    rejections: list[Rejection] = []
    for candidate in ordered:
        reasons = role_rejections(role, candidate, tier, conditions, primary)
        if not reasons:
            return PlacementDecision(candidate, tuple(rejections))
        rejections.append(Rejection(candidate.key, tuple(reasons)))
    return PlacementDecision(None, tuple(rejections))


# The plan of one default pair.


class PlanCheck(StrEnum):
    """The pre-provision check that a plan problem fails."""

    PROVIDER_HEALTH = "provider health"
    REGION_AVAILABILITY = "region availability"


@dataclass(frozen=True)
class PlanProblem:
    """The reason one role of a pair cannot be placed, and the check it fails."""

    check: PlanCheck
    role: Role
    message: str


@dataclass(frozen=True)
class PairPlan:
    """The regions of one account's primary and standby, with every move and problem.

    ``notes`` record each move away from the default pair and why, for the audit
    record. A plan with problems has None for each role it could not place.
    """

    pair_name: str
    tier: Tier
    primary: Region | None
    standby: Region | None
    notes: tuple[str, ...] = ()
    problems: tuple[PlanProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class _RolePlan:
    region: Region | None
    notes: tuple[str, ...] = ()
    problems: tuple[PlanProblem, ...] = ()


def plan_pair(
    pair: PairConfig, tier: Tier, conditions: Conditions, catalogue: Catalogue
) -> PairPlan:
    """Check a default pair against the rules and move what fails.

    A region under incident moves to another region of the same provider. A
    provider under a confirmed provider incident is replaced by the next-best
    provider; the primary's replacement avoids the standby's provider, so the
    standby can stay. A provider below the thresholds without a provider incident
    is a problem, because the runbook allows a provider switch only on a
    confirmed incident. An enterprise standby on the primary's continent moves to
    a healthy region of its provider on another continent when there is one.
    """
    primary = _place_role(
        Role.PRIMARY,
        pair.primary,
        tier,
        conditions,
        catalogue,
        primary=None,
        avoid_providers=frozenset({pair.standby.provider}),
    )
    # A standby whose primary could not be placed is still checked against the
    # default primary, so that every problem of the pair is reported at once.
    reference = primary.region or pair.primary
    standby = _place_role(
        Role.STANDBY,
        pair.standby,
        tier,
        conditions,
        catalogue,
        primary=reference,
        avoid_providers=frozenset({reference.provider}),
    )
    if tier == Tier.ENTERPRISE and standby.region is not None:
        standby = _prefer_other_continent(standby, reference, conditions, catalogue)

    return PairPlan(
        pair_name=pair.name,
        tier=tier,
        primary=primary.region,
        standby=standby.region,
        notes=primary.notes + standby.notes,
        problems=primary.problems + standby.problems,
    )


def _place_role(
    role: Role,
    default: Region,
    tier: Tier,
    conditions: Conditions,
    catalogue: Catalogue,
    *,
    primary: Region | None,
    avoid_providers: frozenset[Provider],
) -> _RolePlan:
    provider = default.provider
    state = conditions.get(provider)
    incident = (
        state.feed.provider_incident()
        if state is not None and state.feed.readable
        else None
    )
    if incident is not None:
        return _switch_provider(
            role, default, tier, conditions, catalogue, primary, avoid_providers
        )

    health_reasons = provider_health_rejections(provider, conditions)
    if health_reasons:
        return _problem(PlanCheck.PROVIDER_HEALTH, role, default, health_reasons)
    feed_reasons = provider_feed_rejections(provider, conditions)
    if feed_reasons:
        return _problem(PlanCheck.REGION_AVAILABILITY, role, default, feed_reasons)

    reasons = role_rejections(role, default, tier, conditions, primary)
    if not reasons:
        return _RolePlan(default)
    return _move_region(role, default, reasons, tier, conditions, catalogue, primary)


def _switch_provider(
    role: Role,
    default: Region,
    tier: Tier,
    conditions: Conditions,
    catalogue: Catalogue,
    primary: Region | None,
    avoid_providers: frozenset[Provider],
) -> _RolePlan:
    reasons = provider_rejections(default.provider, conditions)
    decision = choose_next_best_provider(
        role,
        default,
        tier,
        conditions,
        catalogue,
        primary=primary,
        exclude_providers=avoid_providers,
    )
    if decision.choice is None:
        return _problem(
            PlanCheck.PROVIDER_HEALTH,
            role,
            default,
            [*reasons, "no other provider meets the rules", *decision.reasons()],
        )
    note = (
        f"{role}: switched from {default.key} to {decision.choice.key}, the "
        f"next-best provider, because " + "; ".join(reasons)
    )
    return _RolePlan(decision.choice, notes=(_with_rejections(note, decision),))


def _move_region(
    role: Role,
    default: Region,
    reasons: list[str],
    tier: Tier,
    conditions: Conditions,
    catalogue: Catalogue,
    primary: Region | None,
) -> _RolePlan:
    decision = choose_replacement_region(
        default, role, tier, conditions, catalogue, primary=primary
    )
    if decision.choice is None:
        return _problem(
            PlanCheck.REGION_AVAILABILITY,
            role,
            default,
            [*reasons, f"no other {default.provider} region fits", *decision.reasons()],
        )
    note = (
        f"{role}: moved from {default.key} to {decision.choice.key} because "
        + "; ".join(reasons)
    )
    return _RolePlan(decision.choice, notes=(_with_rejections(note, decision),))


def _prefer_other_continent(
    standby: _RolePlan,
    primary: Region,
    conditions: Conditions,
    catalogue: Catalogue,
) -> _RolePlan:
    current = standby.region
    if current is None or current.continent != primary.continent:
        return standby
    decision = choose_replacement_region(
        current, Role.STANDBY, Tier.ENTERPRISE, conditions, catalogue, primary=primary
    )
    choice = decision.choice
    if choice is None or choice.continent == primary.continent:
        return standby
    note = (
        f"standby: moved from {current.key} to {choice.key} because the "
        f"enterprise tier prefers a standby off the primary's continent "
        f"({primary.continent})"
    )
    return _RolePlan(choice, notes=(*standby.notes, _with_rejections(note, decision)))


def _problem(
    check: PlanCheck, role: Role, default: Region, reasons: list[str]
) -> _RolePlan:
    message = f"{role} {default.key}: " + "; ".join(reasons)
    return _RolePlan(None, problems=(PlanProblem(check, role, message),))


def _with_rejections(note: str, decision: PlacementDecision) -> str:
    rejected = decision.reasons()
    if not rejected:
        return note
    return note + " (rejected first: " + "; ".join(rejected) + ")"


__all__ = [
    "MAX_AVG_PROVISION_TIME_S",
    "MIN_HEALTH_SCORE",
    "MIN_SUCCESS_RATE_PERCENT",
    "Conditions",
    "PairPlan",
    "PlacementDecision",
    "PlanCheck",
    "PlanProblem",
    "ProviderConditions",
    "Rejection",
    "choose_next_best_provider",
    "choose_replacement_region",
    "order_candidates",
    "plan_pair",
    "provider_feed_rejections",
    "provider_health_rejections",
    "provider_rejections",
    "rank_providers",
    "region_rejections",
    "role_rejections",
    "standby_rejections",
]
