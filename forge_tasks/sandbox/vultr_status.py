"""Vultr's own ``status.json``: ``service_alerts[]`` plus alerts per region id.

Real responses key ``regions`` by the API region id (``atl``) and give each
region ``location``, ``country``, ``country_name`` and ``alerts``. The only
alert ``status`` seen in real responses is ``ongoing``, which Vultr also uses
for maintenance, so every published alert here is ``ongoing``. The shape of a
``service_alerts`` entry was not seen in a captured response; the sandbox
assumes it matches a region alert.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from forge_tasks.domain.catalogue import Region

# status.json names each country; the region catalogue has only the ISO code.
COUNTRY_NAMES = {
    "AU": "Australia", "BR": "Brazil", "CA": "Canada", "CL": "Chile",
    "DE": "Germany", "ES": "Spain", "FR": "France", "GB": "United Kingdom",
    "IL": "Israel", "IN": "India", "JP": "Japan", "KR": "South Korea",
    "MX": "Mexico", "NL": "Netherlands", "PL": "Poland", "SE": "Sweden",
    "SG": "Singapore", "US": "United States", "ZA": "South Africa",
}  # fmt: skip
_ALERT_NAMESPACE = uuid.UUID("6f1c2d1e-8a43-4c5b-9a57-1f0d3c2b7e10")


@dataclass(frozen=True)
class Alert:
    key: str
    subject: str
    message: str
    region: str | None  # None: a service-wide alert


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def build_vultr_status(
    regions: tuple[Region, ...], alerts: list[Alert], started_at: datetime
) -> dict[str, Any]:
    """Return a status.json document listing every Vultr region and ``alerts``."""
    document: dict[str, Any] = {"service_alerts": [], "regions": {}}
    for region in regions:
        document["regions"][region.id] = {
            "location": region.city or region.describe_city(),
            "country": region.country,
            "country_name": COUNTRY_NAMES.get(region.country, region.country),
            "alerts": [],
        }
    for alert in alerts:
        entry = _alert(alert, started_at)
        if alert.region is None:
            document["service_alerts"].append(entry)
        else:
            document["regions"][alert.region]["alerts"].append(entry)
    return document


def _alert(alert: Alert, started_at: datetime) -> dict[str, Any]:
    started = _timestamp(started_at)
    return {
        "id": str(uuid.uuid5(_ALERT_NAMESPACE, alert.key)),
        "subject": alert.subject,
        "status": "ongoing",
        "start_date": started,
        "updated_at": started,
        "entries": [{"updated_at": started, "message": alert.message}],
    }
