"""Status feed documents have the real published forms of the captured samples."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from forge_tasks.domain.catalogue import Catalogue
from forge_tasks.gatewayforge.models import FeedFormat, Provider
from forge_tasks.sandbox.feeds import (
    UNREADABLE_PAGE,
    FeedContext,
    build_document,
    build_feed,
)
from forge_tasks.sandbox.scenario import parse_scenario

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "status-feeds"
STATUSPAGE_PROVIDERS = [Provider.DIGITALOCEAN, Provider.HETZNER, Provider.CONTABO]
COMPONENT_STATUSES = {
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
}
INDICATORS = {"none", "minor", "major", "critical", "maintenance"}


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


DISCORD_SUMMARY = fixture("statuspage-discord-summary.json")
HUOBI_SUMMARY = fixture("statuspage-huobi-linear-swap-summary-active-incident.json")
VULTR_SAMPLE = fixture("vultr-status-atl-maintenance.json")


@pytest.fixture
def context(
    catalogue: Catalogue, components: dict[Provider, dict[str, str]]
) -> FeedContext:
    return FeedContext(
        catalogue=catalogue,
        components=components,
        status_base_url="http://127.0.0.1:8790/status",
        scenario_started_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    )


def document(
    provider: Provider, faults: list[dict[str, Any]], context: FeedContext
) -> Any:
    scenario = parse_scenario({"faults": faults}, context.catalogue)
    return build_document(provider, scenario, context)


def component_by_region(
    summary: dict[str, Any], provider: Provider, context: FeedContext
) -> dict[str, dict[str, Any]]:
    names = context.components[provider]
    return {names[c["name"]]: c for c in summary["components"]}


@pytest.mark.parametrize("provider", STATUSPAGE_PROVIDERS)
def test_summary_has_statuspage_fields(
    provider: Provider, context: FeedContext
) -> None:
    summary = document(provider, [], context)

    assert summary.keys() == DISCORD_SUMMARY.keys()
    assert summary["page"].keys() == DISCORD_SUMMARY["page"].keys()
    assert summary["status"].keys() == DISCORD_SUMMARY["status"].keys()
    sample_component = DISCORD_SUMMARY["components"][0]
    for component in summary["components"]:
        assert component.keys() == sample_component.keys()
    assert summary["status"] == {
        "indicator": "none",
        "description": "All Systems Operational",
    }


@pytest.mark.parametrize("provider", STATUSPAGE_PROVIDERS)
def test_components_are_the_configured_names(
    provider: Provider, context: FeedContext
) -> None:
    summary = document(provider, [], context)

    names = [c["name"] for c in summary["components"]]
    assert names == list(context.components[provider])
    assert {c["status"] for c in summary["components"]} == {"operational"}


def test_region_incident_affects_its_component(context: FeedContext) -> None:
    fault = {"kind": "region_incident", "provider": "hetzner", "region": "nbg1"}
    summary = document(Provider.HETZNER, [fault], context)

    by_region = component_by_region(summary, Provider.HETZNER, context)
    assert by_region["nbg1"]["status"] == "partial_outage"
    assert by_region["fsn1"]["status"] == "operational"
    [incident] = summary["incidents"]
    assert incident["status"] in {"investigating", "identified", "monitoring"}
    assert incident["resolved_at"] is None
    assert [c["name"] for c in incident["components"]] == ["Nuremberg (nbg1)"]
    assert summary["status"]["indicator"] == "major"


def test_incident_has_statuspage_fields(context: FeedContext) -> None:
    fault = {"kind": "region_incident", "provider": "digitalocean", "region": "nyc3"}
    summary = document(Provider.DIGITALOCEAN, [fault], context)

    sample = HUOBI_SUMMARY["incidents"][0]
    [incident] = summary["incidents"]
    assert incident.keys() == sample.keys()
    update = incident["incident_updates"][0]
    assert update.keys() == sample["incident_updates"][0].keys()
    affected = update["affected_components"][0]
    assert (
        affected.keys()
        == sample["incident_updates"][0]["affected_components"][0].keys()
    )
    assert affected["old_status"] == "operational"
    assert affected["new_status"] == "partial_outage"


def test_maintenance_has_statuspage_fields(context: FeedContext) -> None:
    fault = {
        "kind": "region_incident",
        "provider": "contabo",
        "region": "EU",
        "style": "maintenance",
    }
    summary = document(Provider.CONTABO, [fault], context)

    sample = HUOBI_SUMMARY["scheduled_maintenances"][0]
    [maintenance] = summary["scheduled_maintenances"]
    assert maintenance.keys() == sample.keys()
    assert maintenance["status"] == "in_progress"
    assert maintenance["impact"] == "maintenance"
    assert summary["incidents"] == []
    by_region = component_by_region(summary, Provider.CONTABO, context)
    assert by_region["EU"]["status"] == "under_maintenance"
    assert summary["status"]["indicator"] == "maintenance"


@pytest.mark.parametrize("impact", ["major", "critical"])
def test_provider_incident_affects_every_component(
    context: FeedContext, impact: str
) -> None:
    fault = {"kind": "provider_incident", "provider": "hetzner", "impact": impact}
    summary = document(Provider.HETZNER, [fault], context)

    assert summary["status"]["indicator"] == impact
    [incident] = summary["incidents"]
    assert len(incident["components"]) == len(summary["components"])
    statuses = {c["status"] for c in summary["components"]}
    assert statuses == {"partial_outage" if impact == "major" else "major_outage"}


def test_vocabularies_are_statuspage_values(context: FeedContext) -> None:
    faults = [
        {"kind": "region_incident", "provider": "hetzner", "region": "nbg1"},
        {
            "kind": "region_incident",
            "provider": "hetzner",
            "region": "hel1",
            "style": "maintenance",
        },
    ]
    summary = document(Provider.HETZNER, faults, context)

    assert summary["status"]["indicator"] in INDICATORS
    assert {c["status"] for c in summary["components"]} <= COMPONENT_STATUSES
    assert summary["incidents"][0]["impact"] in {"none", "minor", "major", "critical"}


def test_faults_of_other_providers_are_ignored(context: FeedContext) -> None:
    fault = {"kind": "provider_incident", "provider": "vultr"}
    summary = document(Provider.HETZNER, [fault], context)

    assert summary["incidents"] == []
    assert summary["status"]["indicator"] == "none"


def test_vultr_status_has_real_fields(context: FeedContext) -> None:
    status = document(Provider.VULTR, [], context)

    assert status.keys() == VULTR_SAMPLE.keys()
    sample_region = VULTR_SAMPLE["regions"]["atl"]
    assert status["regions"]["atl"].keys() == sample_region.keys()
    assert status["regions"]["atl"]["location"] == "Atlanta"
    assert status["regions"]["atl"]["country_name"] == "United States"
    assert status["service_alerts"] == []
    vultr_ids = {r.id for r in context.catalogue.regions_of(Provider.VULTR)}
    assert set(status["regions"]) == vultr_ids


def test_vultr_region_incident_is_region_alert(context: FeedContext) -> None:
    fault = {"kind": "region_incident", "provider": "vultr", "region": "ams"}
    status = document(Provider.VULTR, [fault], context)

    sample_alert = VULTR_SAMPLE["regions"]["atl"]["alerts"][0]
    [alert] = status["regions"]["ams"]["alerts"]
    assert alert.keys() == sample_alert.keys()
    assert alert["entries"][0].keys() == sample_alert["entries"][0].keys()
    assert alert["status"] == "ongoing"
    assert status["regions"]["atl"]["alerts"] == []


def test_vultr_provider_incident_is_service_alert(context: FeedContext) -> None:
    fault = {"kind": "provider_incident", "provider": "vultr"}
    status = document(Provider.VULTR, [fault], context)

    sample_alert = VULTR_SAMPLE["regions"]["atl"]["alerts"][0]
    [alert] = status["service_alerts"]
    assert alert.keys() == sample_alert.keys()


@pytest.mark.parametrize("provider", list(Provider))
def test_unreadable_feed_is_html_string(
    provider: Provider, context: FeedContext
) -> None:
    fault = {"kind": "feed_unreadable", "provider": provider.value}
    scenario = parse_scenario({"faults": [fault]}, context.catalogue)

    feed = build_feed(provider, scenario, context)

    assert feed.document == UNREADABLE_PAGE
    expected_format = (
        FeedFormat.VULTR_STATUS_JSON
        if provider is Provider.VULTR
        else FeedFormat.STATUSPAGE_V2
    )
    assert feed.format is expected_format


def test_document_is_stable_for_one_scenario(context: FeedContext) -> None:
    fault = {"kind": "region_incident", "provider": "hetzner", "region": "nbg1"}

    first = document(Provider.HETZNER, [fault], context)
    second = document(Provider.HETZNER, [fault], context)

    assert first == second
