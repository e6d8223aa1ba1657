"""The runbook's provider selection rules, as functions that list why a region fails.

Primary rules: health score at least 75, 7-day provision success rate at least
95 %, average provision time under 10 minutes, a readable status feed, no
provider incident and no active incident in the region. A standby must also be
on a different provider than the primary and in a city that cannot be the
primary's (see ``may_share_city``), with the same health requirements.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from forge_tasks.domain.catalogue import Catalogue, Region, may_share_city
from forge_tasks.domain.feeds import ComponentMap, FeedReading, read_feed
from forge_tasks.gatewayforge.models import (
    Provider,
    ProviderHealthResponse,
    Role,
    Tier,
)

MIN_HEALTH_SCORE = 75
MIN_SUCCESS_RATE_PERCENT = 95.0
# Exclusive: the runbook requires an average under 10 minutes, so 600 s fails.
MAX_AVG_PROVISION_TIME_S = 600.0


@dataclass(frozen=True)
class ProviderConditions:
    """One provider's health figures, quota and status feed at planning time."""

    health_score: int
    success_rate_percent: float
    avg_provision_time_s: float
    quota_limit: int
    quota_used: int
    feed: FeedReading

    @property
    def quota_free(self) -> int:
        return max(0, self.quota_limit - self.quota_used)


@dataclass(frozen=True)
class Conditions:
    """The conditions of every provider in one ``gf_provider_health`` response."""

    providers: Mapping[Provider, ProviderConditions]

    @classmethod
    def from_health(
        cls,
        response: ProviderHealthResponse,
        component_map: ComponentMap,
        *,
        catalogue: Catalogue | None = None,
    ) -> Conditions:
        """Build conditions from a health response, reading each provider's feed.

        With a catalogue, a feed whose every catalogue region has an active
        incident counts as a provider incident, in either feed form. A provider
        listed twice keeps its last entry.
        """
        providers: dict[Provider, ProviderConditions] = {}
        for health in response.providers:
            regions = None
            if catalogue is not None:
                regions = [r.id for r in catalogue.regions_of(health.provider)]
            feed = read_feed(
                health.provider,
                health.status_feed,
                component_map,
                provider_regions=regions,
            )
            providers[health.provider] = ProviderConditions(
                health_score=health.health_score,
                success_rate_percent=health.provision_success_rate_7d,
                avg_provision_time_s=health.avg_provision_time_s,
                quota_limit=health.quota_limit,
                quota_used=health.quota_used,
                feed=feed,
            )
        return cls(providers)

    def get(self, provider: Provider) -> ProviderConditions | None:
        return self.providers.get(provider)


# Each rule returns the reasons a candidate fails, or an empty list.


def provider_health_rejections(provider: Provider, conditions: Conditions) -> list[str]:
    """Return the reasons the provider's health figures fail the thresholds."""
    state = conditions.get(provider)
    if state is None:
        return [f"{provider} is missing from the provider health response"]

    reasons = []
    if state.health_score < MIN_HEALTH_SCORE:
        reasons.append(
            f"{provider} health score {state.health_score} is below {MIN_HEALTH_SCORE}"
        )
    if state.success_rate_percent < MIN_SUCCESS_RATE_PERCENT:
        reasons.append(
            f"{provider} 7-day provision success rate {state.success_rate_percent}% "
            f"is below {MIN_SUCCESS_RATE_PERCENT}%"
        )
    if state.avg_provision_time_s >= MAX_AVG_PROVISION_TIME_S:
        reasons.append(
            f"{provider} average provision time {state.avg_provision_time_s} s "
            f"is not under {MAX_AVG_PROVISION_TIME_S:.0f} s (10 min)"
        )
    return reasons


def provider_feed_rejections(provider: Provider, conditions: Conditions) -> list[str]:
    """Return the reasons the provider's status feed rules out all its regions."""
    state = conditions.get(provider)
    if state is None:
        return []
    if not state.feed.readable:
        reason = (
            f"{provider} status feed is unreadable, so its regions are not known "
            f"to be safe: {state.feed.error}"
        )
        return [reason]
    incident = state.feed.provider_incident()
    if incident is not None:
        return [f"{provider} has a provider incident: {incident.evidence}"]
    return []


def provider_rejections(provider: Provider, conditions: Conditions) -> list[str]:
    return provider_health_rejections(provider, conditions) + (
        provider_feed_rejections(provider, conditions)
    )


def region_rejections(region: Region, conditions: Conditions) -> list[str]:
    """Return the reasons a primary may not go to the region; empty when it may."""
    reasons = provider_rejections(region.provider, conditions)
    state = conditions.get(region.provider)
    if state is not None and state.feed.readable:
        for incident in state.feed.region_incidents(region.id):
            reasons.append(f"{region.key} has an active incident: {incident.evidence}")
    return reasons


def standby_rejections(
    region: Region, primary: Region, tier: Tier, conditions: Conditions
) -> list[str]:
    """Return the reasons a standby may not go to the region; empty when it may.

    ``tier`` does not change the rules: the enterprise preference for another
    continent is applied when choosing, by the order of the candidates.
    """
    reasons = []
    if region.provider == primary.provider:
        reasons.append(f"{region.key} is on the primary's provider, {primary.provider}")
    if may_share_city(region, primary):
        reasons.append(
            f"{region.key} ({region.describe_city()}) may be in the primary's city "
            f"({primary.key}, {primary.describe_city()})"
        )
    return reasons + region_rejections(region, conditions)


def role_rejections(
    role: Role,
    region: Region,
    tier: Tier,
    conditions: Conditions,
    primary: Region | None,
) -> list[str]:
    """Apply the primary or the standby rules; a standby needs its primary."""
    if role == Role.PRIMARY:
        return region_rejections(region, conditions)
    if primary is None:
        raise ValueError("a standby placement needs the primary's region")
    return standby_rejections(region, primary, tier, conditions)
