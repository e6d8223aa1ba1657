"""Fixtures of the domain tests: the real config/ data and a conditions builder."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from forge_tasks.domain.catalogue import Catalogue, load_catalogue
from forge_tasks.domain.feeds import FeedReading, Incident, load_component_map
from forge_tasks.domain.pairs import PairConfig, load_pairs
from forge_tasks.domain.placement import Conditions, ProviderConditions
from forge_tasks.domain.pricing import PriceTable, load_prices
from forge_tasks.gatewayforge.models import Provider

FEED_FIXTURES_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "status-feeds"

HEALTHY = {
    "health_score": 90,
    "success_rate_percent": 99.0,
    "avg_provision_time_s": 300.0,
    "quota_limit": 100,
    "quota_used": 0,
}

BuildConditions = Callable[..., Conditions]


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture(scope="session")
def pairs(catalogue: Catalogue) -> dict[str, PairConfig]:
    return load_pairs(catalogue)


@pytest.fixture(scope="session")
def prices() -> PriceTable:
    return load_prices()


@pytest.fixture(scope="session")
def component_map(catalogue: Catalogue) -> dict[Provider, dict[str, str]]:
    return load_component_map(catalogue)


@pytest.fixture(scope="session")
def feed_document() -> Callable[[str], Any]:
    """Return a loader of one status-feed fixture file by name."""

    def load(name: str) -> Any:
        return json.loads((FEED_FIXTURES_DIR / name).read_text(encoding="utf-8"))

    return load


def build_conditions(
    figures: Mapping[Provider, Mapping[str, Any]] | None = None,
    *,
    region_incidents: Mapping[Provider, Iterable[str]] | None = None,
    provider_incidents: Iterable[Provider] = (),
    unreadable: Iterable[Provider] = (),
    missing: Iterable[Provider] = (),
) -> Conditions:
    """Build conditions where each provider is healthy unless an argument overrides it.

    ``figures`` overrides health figures or quota per provider, such as
    ``{Provider.HETZNER: {"health_score": 74}}``.
    """
    figures = figures or {}
    region_incidents = region_incidents or {}
    providers = {}
    for provider in Provider:
        if provider in missing:
            continue
        incidents = [
            Incident(
                provider,
                "region",
                region_id,
                "test incident",
                "investigating",
                f"test incident in {region_id}",
            )
            for region_id in region_incidents.get(provider, ())
        ]
        if provider in provider_incidents:
            incidents.append(
                Incident(
                    provider,
                    "provider",
                    None,
                    "test outage",
                    "major",
                    "page status.indicator 'major'",
                )
            )
        feed = (
            FeedReading.unreadable(provider, "statuspage_v2 feed is not a JSON object")
            if provider in unreadable
            else FeedReading(provider, True, None, tuple(incidents))
        )
        values = {**HEALTHY, **figures.get(provider, {})}
        providers[provider] = ProviderConditions(feed=feed, **values)
    return Conditions(providers)


@pytest.fixture(scope="session")
def make_conditions() -> BuildConditions:
    return build_conditions
