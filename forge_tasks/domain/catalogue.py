"""The region catalogue: where each provider can place an instance.

The catalogue is loaded from ``config/regions.json``. Its list order is the
catalogue order, which placement uses to break ties between equal candidates.
Some regions have no single known city (``city`` is null) and list the cities
they may be in as ``city_candidates``; :func:`may_share_city` treats such a
region as possibly in any of them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from forge_tasks.errors import ConfigurationError
from forge_tasks.gatewayforge.models import Provider

CONFIG_DIR_ENV_VAR = "FORGE_CONFIG_DIR"
REGIONS_FILE_NAME = "regions.json"


def config_dir() -> Path:
    """Return ``$FORGE_CONFIG_DIR``, or else the config/ folder next to the package."""
    override = os.environ.get(CONFIG_DIR_ENV_VAR)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "config"


def read_json_config(path: Path) -> Any:
    """Parse one JSON data file; raise ConfigurationError if it is missing or invalid.

    Numbers with a fraction are parsed as ``Decimal``, so that prices keep their cents.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"config file {path} cannot be read: {exc}") from exc
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"config file {path} is not valid JSON: {exc}"
        ) from exc


@dataclass(frozen=True)
class Region:
    """One region of one provider, as the catalogue describes it."""

    provider: Provider
    id: str
    city: str | None
    country: str
    continent: str
    city_candidates: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The region's unique name, such as ``hetzner/nbg1``."""
        return f"{self.provider.value}/{self.id}"

    def possible_cities(self) -> frozenset[str]:
        """Case-folded names of every city the region may be in; empty when unknown."""
        if self.city is not None:
            return frozenset({self.city.casefold()})
        return frozenset(city.casefold() for city in self.city_candidates)

    def describe_city(self) -> str:
        if self.city is not None:
            return self.city
        if self.city_candidates:
            return "one of " + ", ".join(self.city_candidates)
        return "an unknown city"


def may_share_city(a: Region, b: Region) -> bool:
    """Return whether two regions may be in one city.

    A region whose city the catalogue does not know is in one of its
    ``city_candidates``. It is in a different city from another region only when
    none of its candidates can match. Contabo ``EU`` may be in Nuremberg, so it may
    share a city with Hetzner ``nbg1``. A region with neither a city nor candidates
    may be anywhere, so it may share a city with every region.
    """
    cities_a = a.possible_cities()
    cities_b = b.possible_cities()
    if not cities_a or not cities_b:
        return True
    return not cities_a.isdisjoint(cities_b)


class _RegionEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")

    provider: Provider
    id: str
    city: str | None
    city_candidates: list[str] = []
    country: str
    continent: str


class Catalogue:
    """The regions of every provider, in catalogue order."""

    def __init__(self, regions: Sequence[Region]) -> None:
        self._regions = tuple(regions)
        self._by_key: dict[tuple[Provider, str], Region] = {}
        for region in self._regions:
            if (region.provider, region.id) in self._by_key:
                raise ConfigurationError(f"region {region.key} is listed twice")
            self._by_key[(region.provider, region.id)] = region

    def __iter__(self) -> Iterator[Region]:
        return iter(self._regions)

    def __len__(self) -> int:
        return len(self._regions)

    def get(self, provider: Provider | str, region_id: str) -> Region:
        """Return one region, raising ConfigurationError when the catalogue lacks it."""
        try:
            region = self._by_key.get((Provider(provider), region_id))
        except ValueError:
            region = None
        if region is None:
            raise ConfigurationError(
                f"region {provider}/{region_id} is not in the region catalogue"
            )
        return region

    def regions_of(self, provider: Provider) -> tuple[Region, ...]:
        return tuple(region for region in self._regions if region.provider == provider)

    def position(self, region: Region) -> int:
        """Return the region's index in catalogue order."""
        return self._regions.index(region)


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Load and validate the region catalogue, by default ``config/regions.json``."""
    path = path or config_dir() / REGIONS_FILE_NAME
    document = read_json_config(path)
    if not isinstance(document, dict) or not isinstance(document.get("regions"), list):
        raise ConfigurationError(f"{path}: expected an object with a 'regions' list")
    return Catalogue([_parse_region(path, entry) for entry in document["regions"]])


def _parse_region(path: Path, entry: object) -> Region:
    try:
        parsed = _RegionEntry.model_validate(entry)
    except ValidationError as exc:
        raise ConfigurationError(f"{path}: invalid region {entry!r}: {exc}") from exc
    if parsed.city is None and not parsed.city_candidates:
        raise ConfigurationError(
            f"{path}: region {parsed.provider}/{parsed.id} has neither a city "
            "nor city_candidates"
        )
    return Region(
        provider=parsed.provider,
        id=parsed.id,
        city=parsed.city,
        country=parsed.country,
        continent=parsed.continent,
        city_candidates=tuple(parsed.city_candidates),
    )
