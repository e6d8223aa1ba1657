"""Tests of the Statuspage v2 and Vultr status.json adapters."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from forge_tasks.domain.catalogue import Catalogue
from forge_tasks.domain.feeds import FeedReading, load_component_map, read_feed
from forge_tasks.errors import ConfigurationError
from forge_tasks.gatewayforge.models import FeedFormat, Provider, StatusFeed

DO = Provider.DIGITALOCEAN
VULTR = Provider.VULTR
ComponentMap = dict[Provider, dict[str, str]]


def summary(
    *,
    indicator: str = "none",
    components: list[dict[str, Any]] | None = None,
    incidents: list[dict[str, Any]] | None = None,
    maintenances: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "page": {"id": "page1", "name": "Test"},
        "status": {"indicator": indicator, "description": f"indicator {indicator}"},
        "components": components or [],
        "incidents": incidents or [],
        "scheduled_maintenances": maintenances or [],
    }


def component(name: str, status: str = "operational") -> dict[str, Any]:
    return {"id": f"id-{name}", "name": name, "status": status}


def item(
    status: str,
    *,
    components: Sequence[str] = (),
    affected: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "id": "inc42",
        "name": "Droplet creation delayed",
        "status": status,
        "components": [component(name, "partial_outage") for name in components],
        "incident_updates": [
            {
                "id": "upd1",
                "status": status,
                "affected_components": (
                    None
                    if affected is None
                    else [{"code": "c", "name": name} for name in affected]
                ),
            }
        ],
    }


def read_do(document: Any, component_map: ComponentMap) -> FeedReading:
    return read_feed(
        DO, StatusFeed(format="statuspage_v2", document=document), component_map
    )


def read_vultr(document: Any, regions: list[str] | None = None) -> FeedReading:
    feed = StatusFeed(format="vultr_status_json", document=document)
    return read_feed(VULTR, feed, {}, provider_regions=regions)


def vultr_status(
    *,
    service: Sequence[str] = (),
    regions: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    def alert(status: str) -> dict[str, Any]:
        return {
            "id": "a1",
            "subject": "Atlanta Scheduled Maintenance",
            "status": status,
            "entries": [],
        }

    return {
        "service_alerts": [alert(status) for status in service],
        "regions": {
            region_id: {"location": region_id, "alerts": [alert(s) for s in statuses]}
            for region_id, statuses in (regions or {}).items()
        },
    }


# Statuspage v2.


@pytest.mark.parametrize(
    ("status", "active"),
    [
        ("investigating", True),
        ("identified", True),
        ("monitoring", True),
        ("resolved", False),
        ("postmortem", False),
        ("a-future-status", True),
    ],
    ids=lambda value: str(value),
)
def test_statuspage_incident_status(
    component_map: ComponentMap, status: str, active: bool
) -> None:
    reading = read_do(
        summary(incidents=[item(status, components=["NYC3"])]), component_map
    )

    assert reading.readable
    assert reading.region_has_incident("nyc3") is active
    assert not reading.region_has_incident("nyc1")
    assert reading.provider_incident() is None


@pytest.mark.parametrize(
    ("status", "active"),
    [
        ("scheduled", False),
        ("in_progress", True),
        ("verifying", True),
        ("completed", False),
    ],
    ids=lambda value: str(value),
)
def test_statuspage_maintenance_status(
    component_map: ComponentMap, status: str, active: bool
) -> None:
    document = summary(maintenances=[item(status, affected=["AMS3"])])

    reading = read_do(document, component_map)

    assert reading.region_has_incident("ams3") is active


@pytest.mark.parametrize(
    ("status", "active"),
    [
        ("operational", False),
        ("degraded_performance", False),
        ("under_maintenance", False),
        ("partial_outage", True),
        ("major_outage", True),
    ],
    ids=lambda value: str(value),
)
def test_statuspage_component_status(
    component_map: ComponentMap, status: str, active: bool
) -> None:
    reading = read_do(summary(components=[component("SFO3", status)]), component_map)

    assert reading.region_has_incident("sfo3") is active


@pytest.mark.parametrize(
    ("indicator", "provider_wide"),
    [
        ("none", False),
        ("minor", False),
        ("maintenance", False),
        ("major", True),
        ("critical", True),
    ],
    ids=lambda value: str(value),
)
def test_statuspage_page_indicator(
    component_map: ComponentMap, indicator: str, provider_wide: bool
) -> None:
    reading = read_do(summary(indicator=indicator), component_map)

    assert (reading.provider_incident() is not None) is provider_wide


def test_affected_components_map_to_regions(component_map: ComponentMap) -> None:
    document = summary(incidents=[item("identified", affected=["NYC1", "TOR1"])])

    reading = read_do(document, component_map)

    assert reading.region_has_incident("nyc1")
    assert reading.region_has_incident("tor1")
    assert not reading.region_has_incident("nyc3")


def test_incident_evidence_quotes_feed_item(component_map: ComponentMap) -> None:
    reading = read_do(
        summary(incidents=[item("monitoring", components=["NYC3"])]), component_map
    )

    (incident,) = reading.region_incidents("nyc3")
    assert "inc42" in incident.evidence
    assert "Droplet creation delayed" in incident.evidence
    assert "'monitoring'" in incident.evidence
    assert "'NYC3'" in incident.evidence
    assert incident.status == "monitoring"


def test_unmapped_incident_blocks_no_region(component_map: ComponentMap) -> None:
    document = summary(incidents=[item("investigating", components=["Billing"])])

    reading = read_do(document, component_map)

    assert [incident.scope for incident in reading.incidents] == ["unmapped"]
    assert reading.provider_incident() is None
    assert not any(reading.region_has_incident(r) for r in component_map[DO].values())


def test_every_region_affected_is_provider_incident(
    component_map: ComponentMap,
) -> None:
    names = list(component_map[DO])
    document = summary(incidents=[item("identified", affected=names)])

    reading = read_do(document, component_map)

    incident = reading.provider_incident()
    assert incident is not None
    assert incident.evidence.startswith("active incidents in every region")


def test_one_region_left_is_no_provider_incident(
    component_map: ComponentMap,
) -> None:
    names = list(component_map[DO])[1:]
    document = summary(incidents=[item("identified", affected=names)])

    assert read_do(document, component_map).provider_incident() is None


# Vultr status.json.


@pytest.mark.parametrize(
    ("status", "active"),
    [("ongoing", True), ("resolved", False), ("scheduled", True)],
    ids=lambda value: str(value),
)
def test_vultr_region_alert_status(status: str, active: bool) -> None:
    reading = read_vultr(vultr_status(regions={"atl": [status], "ewr": []}))

    assert reading.readable
    assert reading.region_has_incident("atl") is active
    assert not reading.region_has_incident("ewr")
    assert reading.provider_incident() is None


@pytest.mark.parametrize(
    ("status", "provider_wide"),
    [("ongoing", True), ("resolved", False)],
    ids=lambda value: str(value),
)
def test_vultr_service_alert_status(status: str, provider_wide: bool) -> None:
    reading = read_vultr(vultr_status(service=[status]))

    assert (reading.provider_incident() is not None) is provider_wide


def test_vultr_every_region_alerted_is_provider_incident() -> None:
    document = vultr_status(regions={"atl": ["ongoing"], "ewr": ["ongoing"]})

    assert read_vultr(document, ["atl", "ewr"]).provider_incident() is not None
    assert read_vultr(document, ["atl", "ewr", "ams"]).provider_incident() is None
    assert read_vultr(document).provider_incident() is None


# Unreadable feeds.


@pytest.mark.parametrize(
    ("feed_format", "document", "message"),
    [
        ("statuspage_v2", "<html>502 Bad Gateway</html>", "not a JSON object"),
        ("statuspage_v2", None, "not a JSON object"),
        ("statuspage_v2", [summary()], "not a JSON object"),
        ("statuspage_v2", {"status": {"indicator": "none"}}, "invalid at"),
        ("statuspage_v2", {**summary(), "incidents": "none"}, "incidents"),
        ("statuspage_v2", summary(incidents=[{**item("x"), "status": 3}]), "status"),
        ("vultr_status_json", "<html>502 Bad Gateway</html>", "not a JSON object"),
        ("vultr_status_json", {"service_alerts": []}, "regions"),
        ("vultr_status_json", {"service_alerts": [], "regions": []}, "regions"),
        (
            "vultr_status_json",
            {"service_alerts": [], "regions": {"atl": {"alerts": [{"id": "a"}]}}},
            "status",
        ),
    ],
    ids=[
        "statuspage-html-error-page",
        "statuspage-null",
        "statuspage-list",
        "statuspage-missing-keys",
        "statuspage-incidents-not-a-list",
        "statuspage-status-not-a-string",
        "vultr-html-error-page",
        "vultr-missing-regions",
        "vultr-regions-not-an-object",
        "vultr-alert-without-status",
    ],
)
def test_unreadable_feed_gives_error(
    component_map: ComponentMap, feed_format: str, document: Any, message: str
) -> None:
    feed = StatusFeed(format=feed_format, document=document)

    reading = read_feed(DO, feed, component_map)

    assert reading.readable is False
    assert reading.error is not None
    assert message in reading.error
    assert reading.incidents == ()


# The real payloads in tests/fixtures/status-feeds.


def test_discord_summary_has_no_incidents(
    feed_document: Callable[[str], Any], component_map: ComponentMap
) -> None:
    reading = read_do(feed_document("statuspage-discord-summary.json"), component_map)

    assert reading.readable
    assert reading.incidents == ()


def test_discord_parts_merged_have_no_active_items(
    feed_document: Callable[[str], Any], component_map: ComponentMap
) -> None:
    document = {
        **feed_document("statuspage-discord-status.json"),
        **feed_document("statuspage-discord-components.json"),
        **feed_document("statuspage-discord-incidents.json"),
        **feed_document("statuspage-discord-scheduled-maintenances.json"),
    }

    reading = read_do(document, component_map)

    assert reading.readable
    assert reading.incidents == ()


def test_discord_incidents_alone_are_unreadable(
    feed_document: Callable[[str], Any], component_map: ComponentMap
) -> None:
    document = feed_document("statuspage-discord-incidents-unresolved.json")

    assert read_do(document, component_map).readable is False


def test_huobi_active_incident_is_unmapped(
    feed_document: Callable[[str], Any], component_map: ComponentMap
) -> None:
    document = feed_document(
        "statuspage-huobi-linear-swap-summary-active-incident.json"
    )

    reading = read_do(document, component_map)

    assert reading.readable
    assert [i.scope for i in reading.incidents] == ["unmapped"]
    assert reading.incidents[0].title == "Market data is delayed"
    assert reading.provider_incident() is None


def test_huobi_incident_maps_through_component_table(
    feed_document: Callable[[str], Any],
) -> None:
    document = feed_document(
        "statuspage-huobi-linear-swap-summary-active-incident.json"
    )
    # The scheduled (not yet started) maintenance on "Deposit" must stay inactive.
    table = {DO: {"Market data": "nyc3", "Deposit": "ams3"}}

    reading = read_do(document, table)

    assert reading.region_has_incident("nyc3")
    assert not reading.region_has_incident("ams3")
    assert "rclfxz2g21ly" in reading.region_incidents("nyc3")[0].evidence


def test_vultr_fixture_has_atlanta_maintenance(
    feed_document: Callable[[str], Any],
) -> None:
    reading = read_vultr(feed_document("vultr-status-atl-maintenance.json"))

    assert reading.readable
    assert reading.region_has_incident("atl")
    assert not reading.region_has_incident("ewr")
    assert reading.provider_incident() is None
    incident = reading.region_incidents("atl")[0]
    assert "80349394-43b0-438a-ba4d-ac05a726deb2" in incident.evidence
    assert "'ongoing'" in incident.evidence


def test_statuspage_fixture_read_as_vultr_is_unreadable(
    feed_document: Callable[[str], Any],
) -> None:
    reading = read_vultr(feed_document("statuspage-discord-summary.json"))

    assert reading.readable is False


# The component table.


def test_component_map_covers_statuspage_providers(
    component_map: ComponentMap,
) -> None:
    assert set(component_map) == {DO, Provider.HETZNER, Provider.CONTABO}
    assert component_map[Provider.HETZNER]["Nuremberg (nbg1)"] == "nbg1"
    assert component_map[Provider.CONTABO]["Region EU"] == "EU"


def test_component_map_rejects_unknown_region(
    catalogue: Catalogue, tmp_path: Path
) -> None:
    path = tmp_path / "status-components.json"
    path.write_text('{"statuspage_components": {"hetzner": {"X": "zz9"}}}')

    with pytest.raises(ConfigurationError, match="hetzner/zz9"):
        load_component_map(catalogue, path)


def test_feed_format_values_are_the_two_forms() -> None:
    assert {f.value for f in FeedFormat} == {"statuspage_v2", "vultr_status_json"}
