"""Tests of the provider selection rules and of building conditions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from forge_tasks.domain.catalogue import Catalogue
from forge_tasks.domain.feeds import ComponentMap
from forge_tasks.domain.placement import (
    Conditions,
    region_rejections,
    role_rejections,
    standby_rejections,
)
from forge_tasks.gatewayforge.models import (
    Provider,
    ProviderHealth,
    ProviderHealthResponse,
    Role,
    StatusFeed,
    Tier,
)

H = Provider.HETZNER
BuildConditions = Callable[..., Conditions]


@pytest.mark.parametrize(
    ("figure", "value", "passes"),
    [
        ("health_score", 74, False),
        ("health_score", 75, True),
        ("success_rate_percent", 94.9, False),
        ("success_rate_percent", 95.0, True),
        ("avg_provision_time_s", 599.0, True),
        ("avg_provision_time_s", 600.0, False),
    ],
    ids=[
        "score-74-fails",
        "score-75-passes",
        "success-94.9-fails",
        "success-95-passes",
        "average-9m59s-passes",
        "average-10m00s-fails",
    ],
)
def test_primary_threshold_boundaries(
    catalogue: Catalogue,
    make_conditions: BuildConditions,
    figure: str,
    value: float,
    passes: bool,
) -> None:
    conditions = make_conditions({H: {figure: value}})

    reasons = region_rejections(catalogue.get(H, "nbg1"), conditions)

    assert (reasons == []) is passes


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"region_incidents": {H: ["nbg1"]}}, "hetzner/nbg1 has an active incident"),
        ({"provider_incidents": [H]}, "hetzner has a provider incident"),
        ({"unreadable": [H]}, "status feed is unreadable"),
        ({"missing": [H]}, "missing from the provider health response"),
    ],
    ids=["region-incident", "provider-incident", "unreadable-feed", "unknown-provider"],
)
def test_region_rejected_with_reason(
    catalogue: Catalogue,
    make_conditions: BuildConditions,
    arguments: dict[str, Any],
    expected: str,
) -> None:
    reasons = region_rejections(catalogue.get(H, "nbg1"), make_conditions(**arguments))

    assert len(reasons) == 1
    assert expected in reasons[0]


def test_incident_elsewhere_leaves_region_allowed(
    catalogue: Catalogue, make_conditions: BuildConditions
) -> None:
    conditions = make_conditions(region_incidents={H: ["fsn1"]})

    assert region_rejections(catalogue.get(H, "nbg1"), conditions) == []


def test_every_failing_rule_gives_a_reason(
    catalogue: Catalogue, make_conditions: BuildConditions
) -> None:
    figures = {
        "health_score": 10,
        "success_rate_percent": 50.0,
        "avg_provision_time_s": 900.0,
    }
    conditions = make_conditions(
        {H: figures}, region_incidents={H: ["nbg1"]}, provider_incidents=[H]
    )

    reasons = region_rejections(catalogue.get(H, "nbg1"), conditions)

    assert len(reasons) == 5


@pytest.mark.parametrize(
    ("standby", "primary", "expected"),
    [
        (("hetzner", "hel1"), ("hetzner", "nbg1"), "on the primary's provider"),
        (("digitalocean", "ams2"), ("vultr", "ams"), "may be in the primary's city"),
        (("hetzner", "nbg1"), ("contabo", "EU"), "may be in the primary's city"),
        (("digitalocean", "nyc1"), ("contabo", "US-east"), "primary's city"),
    ],
    ids=[
        "same-provider",
        "same-city-other-provider",
        "candidate-city-of-unknown-primary",
        "new-york-twice",
    ],
)
def test_standby_rejected_with_reason(
    catalogue: Catalogue,
    make_conditions: BuildConditions,
    standby: tuple[str, str],
    primary: tuple[str, str],
    expected: str,
) -> None:
    reasons = standby_rejections(
        catalogue.get(*standby),
        catalogue.get(*primary),
        Tier.STANDARD,
        make_conditions(),
    )

    assert len(reasons) == 1
    assert expected in reasons[0]


@pytest.mark.parametrize("tier", list(Tier), ids=lambda tier: str(tier))
def test_standby_on_same_continent_passes(
    catalogue: Catalogue, make_conditions: BuildConditions, tier: Tier
) -> None:
    reasons = standby_rejections(
        catalogue.get("vultr", "ams"),
        catalogue.get(H, "nbg1"),
        tier,
        make_conditions(),
    )

    assert reasons == []


def test_standby_applies_health_requirements(
    catalogue: Catalogue, make_conditions: BuildConditions
) -> None:
    conditions = make_conditions({Provider.VULTR: {"health_score": 74}})

    reasons = standby_rejections(
        catalogue.get("vultr", "ams"),
        catalogue.get(H, "nbg1"),
        Tier.STANDARD,
        conditions,
    )

    assert reasons == ["vultr health score 74 is below 75"]


def test_standby_rules_need_a_primary(
    catalogue: Catalogue, make_conditions: BuildConditions
) -> None:
    with pytest.raises(ValueError, match="primary"):
        role_rejections(
            Role.STANDBY,
            catalogue.get(H, "nbg1"),
            Tier.STANDARD,
            make_conditions(),
            None,
        )


def _health(provider: Provider, feed: StatusFeed, score: int = 80) -> ProviderHealth:
    return ProviderHealth(
        provider=provider,
        health_score=score,
        provision_success_rate_7d=97.5,
        avg_provision_time_s=420.0,
        quota_limit=40,
        quota_used=12,
        status_feed=feed,
    )


def test_conditions_from_health_response(
    catalogue: Catalogue, component_map: ComponentMap
) -> None:
    vultr_feed = StatusFeed(
        format="vultr_status_json",
        document={
            "service_alerts": [],
            "regions": {
                "atl": {
                    "alerts": [{"id": "a1", "subject": "Atlanta", "status": "ongoing"}]
                }
            },
        },
    )
    broken_feed = StatusFeed(format="statuspage_v2", document="<html>500</html>")
    response = ProviderHealthResponse(
        providers=[
            _health(Provider.VULTR, vultr_feed),
            _health(Provider.CONTABO, broken_feed, score=60),
        ],
        generated_at=datetime(2026, 1, 1, tzinfo=UTC),
    )

    conditions = Conditions.from_health(response, component_map, catalogue=catalogue)

    vultr = conditions.providers[Provider.VULTR]
    assert vultr.health_score == 80
    assert vultr.success_rate_percent == 97.5
    assert vultr.avg_provision_time_s == 420.0
    assert vultr.quota_free == 28
    assert vultr.feed.region_has_incident("atl")
    assert vultr.feed.provider_incident() is None
    assert conditions.providers[Provider.CONTABO].feed.readable is False
    assert conditions.get(Provider.HETZNER) is None


def test_all_vultr_regions_alerted_is_provider_incident(
    catalogue: Catalogue, component_map: ComponentMap
) -> None:
    alert = {"id": "a1", "subject": "Network", "status": "ongoing"}
    regions = {r.id: {"alerts": [alert]} for r in catalogue.regions_of(Provider.VULTR)}
    feed = StatusFeed(
        format="vultr_status_json",
        document={"service_alerts": [], "regions": regions},
    )
    response = ProviderHealthResponse(
        providers=[_health(Provider.VULTR, feed)],
        generated_at=datetime(2026, 1, 1, tzinfo=UTC),
    )

    conditions = Conditions.from_health(response, component_map, catalogue=catalogue)

    assert conditions.providers[Provider.VULTR].feed.provider_incident() is not None
