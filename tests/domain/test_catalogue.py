"""Tests of the region catalogue and the rule for when two regions may share a city."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from forge_tasks.domain.catalogue import (
    CONFIG_DIR_ENV_VAR,
    Catalogue,
    Region,
    load_catalogue,
    may_share_city,
)
from forge_tasks.errors import ConfigurationError
from forge_tasks.gatewayforge.models import Provider

MUNICH = Region(Provider.VULTR, "muc-test", "Munich", "DE", "Europe")
DUSSELDORF = Region(Provider.DIGITALOCEAN, "dus-test", "Düsseldorf", "DE", "Europe")
UNKNOWN_DE_SOUTH = Region(
    Provider.VULTR, "de-south", None, "DE", "Europe", ("Munich", "Stuttgart")
)
UNKNOWN_DE_WEST = Region(
    Provider.DIGITALOCEAN, "de-west", None, "DE", "Europe", ("Cologne", "Essen")
)
NOWHERE = Region(Provider.VULTR, "nowhere", None, "DE", "Europe")
LOWERCASE_AMSTERDAM = Region(Provider.HETZNER, "ams-test", "amsterdam", "NL", "Europe")


def test_catalogue_loads_every_region(catalogue: Catalogue) -> None:
    assert len(catalogue) == 63
    assert next(iter(catalogue)).key == "hetzner/fsn1"


def test_get_returns_the_region(catalogue: Catalogue) -> None:
    region = catalogue.get(Provider.CONTABO, "EU")

    assert region.city is None
    assert region.city_candidates == ("Nuremberg", "Munich", "Düsseldorf")
    assert region.country == "DE"
    assert region.key == "contabo/EU"


@pytest.mark.parametrize(
    ("provider", "region_id"),
    [("hetzner", "xyz1"), ("linode", "nbg1"), ("vultr", "nbg1")],
    ids=["unknown-region", "unknown-provider", "region-of-another-provider"],
)
def test_get_unknown_region_raises(
    catalogue: Catalogue, provider: str, region_id: str
) -> None:
    with pytest.raises(ConfigurationError, match=f"{provider}/{region_id}"):
        catalogue.get(provider, region_id)


def test_regions_of_keeps_catalogue_order(catalogue: Catalogue) -> None:
    ids = [region.id for region in catalogue.regions_of(Provider.HETZNER)]

    assert ids == ["fsn1", "nbg1", "hel1", "ash", "hil", "sin"]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (("vultr", "ams"), ("digitalocean", "ams2"), True),
        (("digitalocean", "nyc1"), ("digitalocean", "nyc3"), True),
        (("hetzner", "nbg1"), ("vultr", "ams"), False),
        (("vultr", "ewr"), ("digitalocean", "nyc3"), False),
        (("contabo", "US-east"), ("digitalocean", "nyc3"), True),
        (("contabo", "EU"), ("hetzner", "nbg1"), True),
        (("contabo", "EU"), ("hetzner", "fsn1"), False),
        (("contabo", "EU"), ("vultr", "fra"), False),
        (("contabo", "EU"), ("contabo", "EU"), True),
    ],
    ids=[
        "same-city-other-provider",
        "nyc1-and-nyc3-are-one-city",
        "different-cities",
        "new-jersey-is-not-new-york",
        "contabo-new-york-and-do-new-york",
        "unknown-city-candidate-nuremberg",
        "unknown-city-not-falkenstein",
        "unknown-city-not-frankfurt",
        "same-unknown-region",
    ],
)
def test_may_share_city_on_catalogue_regions(
    catalogue: Catalogue,
    a: tuple[str, str],
    b: tuple[str, str],
    expected: bool,
) -> None:
    region_a = catalogue.get(*a)
    region_b = catalogue.get(*b)

    assert may_share_city(region_a, region_b) is expected
    assert may_share_city(region_b, region_a) is expected


@pytest.mark.parametrize(
    ("other", "expected"),
    [
        (MUNICH, True),
        (DUSSELDORF, True),
        (UNKNOWN_DE_SOUTH, True),
        (UNKNOWN_DE_WEST, False),
        (NOWHERE, True),
    ],
    ids=[
        "candidate-munich",
        "candidate-dusseldorf",
        "both-unknown-overlapping-candidates",
        "both-unknown-disjoint-candidates",
        "no-city-and-no-candidates",
    ],
)
def test_may_share_city_with_contabo_eu(
    catalogue: Catalogue, other: Region, expected: bool
) -> None:
    contabo_eu = catalogue.get(Provider.CONTABO, "EU")

    assert may_share_city(contabo_eu, other) is expected
    assert may_share_city(other, contabo_eu) is expected


def test_may_share_city_ignores_case(catalogue: Catalogue) -> None:
    assert may_share_city(catalogue.get("vultr", "ams"), LOWERCASE_AMSTERDAM)


def _write_regions(directory: Path, regions: object) -> Path:
    path = directory / "regions.json"
    path.write_text(json.dumps({"regions": regions}), encoding="utf-8")
    return path


VALID_ENTRY = {
    "provider": "hetzner",
    "id": "nbg1",
    "city": "Nuremberg",
    "country": "DE",
    "continent": "Europe",
}


@pytest.mark.parametrize(
    ("regions", "message"),
    [
        ("not a list", "'regions' list"),
        ([{**VALID_ENTRY, "provider": "linode"}], "invalid region"),
        ([{**VALID_ENTRY, "city": None}], "neither a city nor city_candidates"),
        ([VALID_ENTRY, VALID_ENTRY], "listed twice"),
        ([{k: v for k, v in VALID_ENTRY.items() if k != "country"}], "country"),
    ],
    ids=[
        "regions-not-a-list",
        "unknown-provider",
        "no-city-no-candidates",
        "duplicate",
        "missing-country",
    ],
)
def test_load_catalogue_rejects_invalid_file(
    tmp_path: Path, regions: object, message: str
) -> None:
    path = _write_regions(tmp_path, regions)

    with pytest.raises(ConfigurationError, match=message):
        load_catalogue(path)


def test_load_catalogue_rejects_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "regions.json"
    path.write_text("{", encoding="utf-8")

    with pytest.raises(ConfigurationError, match="not valid JSON"):
        load_catalogue(path)


def test_load_catalogue_rejects_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot be read"):
        load_catalogue(tmp_path / "absent.json")


def test_config_dir_env_var_overrides_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_regions(tmp_path, [VALID_ENTRY])
    monkeypatch.setenv(CONFIG_DIR_ENV_VAR, str(tmp_path))

    catalogue = load_catalogue()

    assert [region.key for region in catalogue] == ["hetzner/nbg1"]
